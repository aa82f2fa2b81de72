"""How busy the machine is with other processes, and how many embedding threads that leaves.

llama.cpp's threads wait for each other at every step by spinning: with one of them
descheduled by a busy neighbour, the others spin through their time slices, and the embedder
slows down sharply (README: 100 functions in 9.1 s on 2 threads vs 4.4 s on 1 beside one busy
process). So the indexer asks between batches how many cores others use, and runs on the rest.

Others' use is measured, not the 1-minute load average (which lags a build by a minute): the
busy time of this process's CPUs in /proc/stat minus this process's own CPU time, over the
time since the last sample. Where /proc/stat is missing, the load average less this process's
own threads stands in.
"""

from __future__ import annotations

import math
import os
import time

# Others' use below this many cores (the editor, a language server thinking) leaves every core
# to the embedder; from there on each core they take is one thread fewer.
SLACK_CORES = 0.25
# A shorter sample says more about scheduling noise than about load: keep the last answer.
MIN_SAMPLE_S = 0.2


def threads_for(cores: int, others_busy: float) -> int:
    """Embedding threads for `cores` usable cores while other processes keep `others_busy`
    cores busy: all when they are nearly idle, never fewer than one."""
    taken = max(0, math.ceil(others_busy - SLACK_CORES))
    return max(1, min(cores, cores - taken))


class CpuMeter:
    """Cores kept busy by other processes since the previous sample."""

    def __init__(self) -> None:
        self._cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._read()

    def others_busy(self) -> float | None:
        """None until MIN_SAMPLE_S have passed since the last answer."""
        now = self._read()
        wall, busy, own = (a - b for a, b in zip(now, self._last, strict=True))
        if wall < MIN_SAMPLE_S:
            return None
        self._last = now
        if math.isnan(busy):  # no /proc/stat: the load average, less what this process runs
            return max(0.0, os.getloadavg()[0] - own / wall) if hasattr(os, "getloadavg") else 0.0
        return max(0.0, (busy - own) / wall)

    def _read(self) -> tuple[float, float, float]:
        """(monotonic seconds, busy CPU-seconds of our CPUs or NaN, own CPU-seconds)."""
        times = os.times()
        return time.monotonic(), self._busy(), times.user + times.system

    def _busy(self) -> float:
        try:
            with open("/proc/stat", encoding="ascii") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return math.nan
        wanted = {f"cpu{n}" for n in self._cpus}
        busy = 0
        for line in lines:
            name, *fields = line.split()
            if name in wanted or (not wanted and name == "cpu"):
                ticks = [int(f) for f in fields[:8]]
                busy += sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
        return busy / self._tick
