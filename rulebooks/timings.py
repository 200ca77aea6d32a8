"""Wall-clock phases of one coding, recorded where it runs (a CPU pool process) and handed back with its result.

The pool process has no tracer of the server's: `recording()` collects `(name, start_ns, end_ns)` for each
`phase(name)` entered inside it, and the server turns them into child spans of its `coding.run` span
(server.encounters). Outside `recording()` a phase records nothing. Names only: never a value of the encounter.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Phase = tuple[str, int, int]

_recorded: ContextVar[list[Phase] | None] = ContextVar("cutis_coding_phases", default=None)


@contextmanager
def recording() -> Iterator[list[Phase]]:
    """The phases entered inside this block, in the order they ended."""
    phases: list[Phase] = []
    token = _recorded.set(phases)
    try:
        yield phases
    finally:
        _recorded.reset(token)


@contextmanager
def phase(name: str) -> Iterator[None]:
    phases = _recorded.get()
    if phases is None:
        yield
        return
    started = time.time_ns()
    try:
        yield
    finally:
        phases.append((name, started, time.time_ns()))
