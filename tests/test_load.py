"""load.py: how many embedding threads the other processes' CPU use leaves (a pure policy),
and the meter that measures that use (against a real busy process)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from findcode.load import CpuMeter, threads_for


@pytest.mark.parametrize(
    ("cores", "others", "threads"),
    [
        (2, 0.0, 2),  # an idle machine: every core
        (2, 0.2, 2),  # an editor thinking now and then is no reason to give a core up
        (2, 0.6, 1),  # half a core busy: one of two spinning threads would wait on it
        (2, 1.0, 1),
        (2, 3.0, 1),  # never fewer than one: indexing goes on, at idle priority
        (8, 1.0, 7),
        (8, 2.5, 5),
        (8, 0.0, 8),
        (1, 0.0, 1),
    ],
)
def test_threads_follow_what_other_processes_leave(cores: int, others: float, threads: int):
    assert threads_for(cores, others) == threads


def test_the_meter_sees_a_busy_neighbour_and_not_this_process():
    meter = CpuMeter()
    time.sleep(0.3)
    meter.others_busy()  # a fresh window for the neighbour alone
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        busy = meter.others_busy()
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None and busy >= 0.7  # one core, less its start-up
    # This process's own work is not "others": spinning here leaves the figure near zero
    # (plus whatever else the shared machine runs, which is why the bound is loose).
    meter.others_busy()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        pass
    own = meter.others_busy()
    assert own is not None and own < busy


def test_a_sample_too_short_to_mean_anything_keeps_the_last_answer():
    meter = CpuMeter()
    assert meter.others_busy() is None
