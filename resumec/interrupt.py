"""Turning Ctrl-C and SIGTERM into a clean unwind, never in the middle of an import, an output commit or the
removal of a temp folder.

A Python signal handler runs between any two bytecodes. Raising SystemExit
there unwinds every `finally` (LibreOffice killed, temp files removed), which
is what we want, except inside importlib's own frames: an exception in the
middle of its module-lock bookkeeping becomes a RuntimeError traceback and
exit 1. So a signal that lands during an import is delivered again 10 ms
later, once the import (a few ms) is done. Nothing here may import anything
when called (it runs inside a signal handler, maybe mid-import): the timer is
SIGALRM, which needs only the modules already loaded.

A process-directed signal may also be taken by any thread that does not
block it (a watcher's Rust thread, a batch worker). Python then only flags it
for the main thread, and a main thread asleep in a lock without a timeout
never wakes to run the handler: Ctrl-C would be lost. So the main thread
never sleeps longer than TICK at a time.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

TICK = 0.2  # seconds: the longest a signal taken by another thread waits for its handler


_COMMIT = os.path.join("resumec", "output.py")  # output.commit: renames outputs over the previous ones


def must_wait(frame: FrameType | None) -> bool:
    """True inside an import, an output commit or a `shutil.rmtree`: there a signal is delivered again a moment
    later, when they are done.

    A commit renames a compile's outputs over the previous ones in microseconds; cut in half, it would leave
    a new PDF beside an old DOCX. An rmtree is how every `finally` removes a temp folder (a LibreOffice
    profile, a conversion's files) in a few milliseconds; cut in half, it would leave the rest behind.
    """
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith("<frozen importlib"):
            return True
        if code.co_name == "commit" and code.co_filename.endswith(_COMMIT):
            return True
        if code.co_name == "rmtree" and code.co_filename.endswith("shutil.py"):
            return True
        frame = frame.f_back
    return False


def deliver_later(signum: int, delay: float = 0.01) -> None:
    def again(_signum: int, _frame: FrameType | None) -> None:
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGALRM, again)
    signal.setitimer(signal.ITIMER_REAL, delay)
