"""Operations for the CPU pool's tests: top-level, so that a worker process can import them by name."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def worker_pid() -> int:
    return os.getpid()


def spin_forever() -> None:
    """Runaway Python code: only the worker's timer stops it."""
    while True:
        pass


def spin_deaf_to_the_timer() -> None:
    """Runaway code the timer cannot reach (as if stuck in C): only killing the worker stops it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    while True:
        pass


def sleep_then_answer(seconds: float) -> str:
    time.sleep(seconds)
    return "answered"


def wait_for_file(path: str) -> int:
    """Waits (until its budget) for the test to create `path`; answers its worker's pid."""
    while not Path(path).exists():
        time.sleep(0.01)
    return os.getpid()
