"""What every helper process of a bulk load does first, and how the loader starts one.

Helpers (the CSV reader, the plan worker) are spawned, never forked: a forked child holding a
copy of the loader's PostgreSQL connection could close it under the loader. They never touch
the database, and they must never outlive the load or talk over it:

- started with SIGINT ignored, so Ctrl-C stops the loader (which stops them) instead of
  printing their own tracebacks; Python keeps an inherited "ignore" through start-up;
- niced, since the writing process is the pipeline's bottleneck;
- watching their parent, and gone as soon as it is (SIGKILL, the OOM killer, a timeout);
- collecting garbage less often, as the loader does: their rows are short-lived.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

NICENESS = 10
GC_THRESHOLD = 100_000  # allocations between young-generation collections (Python's: 700)


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Start helpers inside this block: they inherit SIGINT ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be changed from the main thread
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def become_helper() -> None:
    """Call first thing in a helper process."""
    os.nice(NICENESS)
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)  # the parent is gone: nobody will read what this process makes
