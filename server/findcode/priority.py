"""Lowering the indexer thread's OS priority, so the editor's builds and tests run first.

Per thread, not per process: queries are embedded on the server's own threads and must keep
their normal priority. On Linux a thread's nice value and scheduling policy are its own, and
every thread it creates inherits them; llama.cpp's compute threads (an OpenMP team in this
build, one team per calling thread) are created by the indexer thread on its first batch, and
the embedder's lane threads by the thread that calls it (embedder.py), so lowering the indexer
thread before it embeds lowers all of them (tests/test_priority.py checks both). SCHED_IDLE
runs a thread only on a core nothing else wants; nice 19 is the fallback where SCHED_IDLE is
refused.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

NICE = 19
# Windows: THREAD_PRIORITY_IDLE. Its OpenMP workers and the embedder's lane threads do not
# inherit a thread's priority, so there only the indexer's own thread is lowered (the default
# adaptive thread count is what keeps the others from crowding a busy machine).
_THREAD_PRIORITY_IDLE = -15
# macOS: QOS_CLASS_BACKGROUND, which threads created afterwards inherit.
_QOS_CLASS_BACKGROUND = 0x09


def lower_this_thread() -> str:
    """Lower the calling thread and the threads it will create; say what it got, in words."""
    if sys.platform == "win32":
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        kernel32.SetThreadPriority(kernel32.GetCurrentThread(), _THREAD_PRIORITY_IDLE)
        return "idle thread priority"
    if sys.platform == "darwin":
        libc = ctypes.CDLL("/usr/lib/libSystem.dylib")
        libc.pthread_set_qos_class_self_np(_QOS_CLASS_BACKGROUND, 0)
        return "background QoS"
    tid = threading.get_native_id()
    got = []
    try:
        os.setpriority(os.PRIO_PROCESS, tid, NICE)  # per thread on Linux: a tid is a pid there
        got.append(f"nice {NICE}")
    except (OSError, AttributeError):
        pass
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        got.append("SCHED_IDLE")
    except (OSError, AttributeError):
        pass
    return ", ".join(got) or "normal (this system refused a lower priority)"
