"""CPU-heavy work off the event loop: one process pool per app, and a time budget per operation.

Why: coding an encounter, analysing a 100,000-character note or checking a 1 MB rulebook takes
a second of CPU or more. Run on the event loop, such a request froze every other request of
every clinic (/healthz stalled for 35 s behind 30 aliased `validateRulebook` calls). Every such
call goes through `CpuPool.run`: a top-level function and plain (picklable) arguments go to a
worker process, and the loop awaits the answer while it serves everyone else.

The budget: an operation has `budget_seconds` of wall-clock time in its worker. A timer inside
the worker interrupts runaway Python code, and the worker stays, ready for the next call. A
worker that does not answer even then (stuck in C code) is killed with its pool, and a new pool
takes over; operations that were running beside it are run again there. Either way the caller
gets `OperationTooCostly`, never a wedged server.

Workers are forked from a fork server that has built the engine's immutable parts once
(`server.cpu_warmup`); each then loads the data folder's installed code sets, exactly as the app
process does at start-up (`load_installed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import FrameType
from typing import Any, ParamSpec, Protocol, TypeVar

from server.errors import OperationTooCostly

P = ParamSpec("P")
R = TypeVar("R")

GRACE_SECONDS = 5.0  # past the budget, before a worker whose own timer did not fire is presumed stuck
# A worker is replaced (pre-warmed, from the fork server) after this many operations: the rule
# language's per-process caches are bounded by count, not bytes, and a fuzzer's long run grew one
# process past 13 GB by about 440,000 distinct rulebooks.
TASKS_PER_WORKER = 2000
PR_SET_PDEATHSIG = 1  # linux/prctl.h
START_SECONDS = 120.0  # a first pool waits for the fork server to build the engine (seconds, once per process)
WARM_UP_MODULE = "server.cpu_warmup"
WORKER_NICENESS = 10  # the event loop's short answers come first; heavy work takes the cores they leave


class Cpu(Protocol):
    """Where CPU-heavy work runs: `await cpu.run(function, *args)`."""

    async def run(self, operation: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R: ...


class InlineCpu:
    """Runs the operation in the calling process: for the command line, which has no event loop to keep free."""

    async def run(self, operation: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return operation(*args, **kwargs)


class CpuPool:
    """The app's worker processes (one per core by default) and the per-operation budget.

    At most `processes` operations are in the pool at once; more wait their turn on the event
    loop, so that time spent waiting never counts against an operation's budget.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        processes: int | None = None,
        budget_seconds: float,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.budget_seconds = budget_seconds
        self.grace_seconds = grace_seconds
        self.dispatched = 0  # operations sent to the pool so far (tests prove a refused document sent none)
        self._data_dir = data_dir
        self._pool: ProcessPoolExecutor | None = None
        self._ready: asyncio.Future[int] | None = None  # the first worker's answer: the pool is up
        self._closed = False
        self._slots = asyncio.Semaphore(self.processes)  # one per worker; freed when the worker is

    async def start(self) -> None:
        """Fork the first worker now (the app's start-up) rather than on the first request."""
        await self._current_pool()

    async def run(self, operation: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """`operation(*args, **kwargs)` in a worker; `OperationTooCostly` when it overruns the budget."""
        self.dispatched += 1
        for attempt in (1, 2):
            pool, future = await self._submit(_run_within_budget, self.budget_seconds, operation, args, kwargs)
            try:
                result = await asyncio.wait_for(asyncio.wrap_future(future), self.budget_seconds + self.grace_seconds)
            except TimeoutError:
                self._replace(pool)  # its worker is stuck where the timer cannot reach it
                raise OperationTooCostly(self.budget_seconds) from None
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == 2:
                    raise
                continue  # a runaway beside it was killed with the pool: this operation runs again
            if isinstance(result, Overran):
                raise OperationTooCostly(self.budget_seconds)
            return result
        raise AssertionError("unreachable")

    def shutdown(self) -> None:
        """Stop the workers (the app's shutdown): nothing waits for a runaway to finish."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            _kill_workers(pool)
            pool.shutdown(wait=False, cancel_futures=True)

    async def _submit(self, *call: Any) -> tuple[ProcessPoolExecutor, Future[Any]]:
        """Wait for a free worker, then hand it the call. The slot is given back when the worker is
        done, even if the caller stopped waiting (a client that hung up)."""
        await self._slots.acquire()
        try:
            pool = await self._current_pool()
            future = pool.submit(*call)
        except BaseException:
            self._slots.release()
            raise
        loop = asyncio.get_running_loop()

        def give_back(_: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(self._slots.release)

        future.add_done_callback(give_back)
        return pool, future

    async def _current_pool(self) -> ProcessPoolExecutor:
        """The pool, once its first worker answers: every caller waits for that, none is charged for it."""
        if self._closed:
            raise RuntimeError("the CPU pool is shut down")
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([WARM_UP_MODULE])
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=context,
                initializer=_start_worker,
                initargs=(str(self._data_dir),),
                max_tasks_per_child=TASKS_PER_WORKER,
            )
            self._ready = asyncio.wrap_future(self._pool.submit(os.getpid))
        pool, ready = self._pool, self._ready
        assert ready is not None  # set with the pool
        try:
            await asyncio.wait_for(asyncio.shield(ready), START_SECONDS)
        except (TimeoutError, BrokenProcessPool):
            self._replace(pool)
            raise
        return pool

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        """Kill the pool's workers; the next operation starts a new pool."""
        if self._pool is pool:
            self._pool = None
        _kill_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    kill = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


# In the worker processes


class Overran:
    """What a worker answers when the operation used up its budget (picklable, unlike a frame)."""


class _OverBudget(BaseException):
    """Raised by the worker's timer. A BaseException, so that no `except Exception` in the engine swallows it."""


def _on_timer(signum: int, frame: FrameType | None) -> None:
    raise _OverBudget


def die_with_parent() -> None:
    """Linux: be killed when the process that started this one dies, however it dies.

    A server or worker killed with SIGKILL (a crash, an OOM kill, a supervisor's restart) runs no
    shutdown: without this its fork server and pool workers lived on as orphans, each holding a warm
    engine (12 GB of them after a day of tests). The fork server calls this at its start, each pool
    worker in its initializer, so a dead server takes its fork server, and that its workers, along.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getppid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above was in place
        os._exit(1)


def _start_worker(data_dir: str) -> None:
    from server.codesets import load_installed

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it shuts the pool down
    os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGALRM, _on_timer)
    load_installed(Path(data_dir))


def _run_within_budget(
    budget_seconds: float, operation: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        signal.setitimer(signal.ITIMER_REAL, budget_seconds)
        try:
            return operation(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OverBudget:  # also when the timer fired just as the operation returned: it was at the limit
        return Overran()


def warm_up() -> None:
    """Build what every call needs and never changes (the note pipeline, the library's compiled
    stacks, the built-in code sets), so that a forked worker answers its first call in milliseconds."""
    from rulebooks import authoring
    from rulebooks.coding import payer_stack
    from rulebooks.dated_codesets import default_codesets
    from rulebooks.notes.pipeline import build_pipeline
    from rulebooks.stack import library_texts, load_rulebook
    from server import encounters  # noqa: F401  (the module of the coding operation, and its imports)

    build_pipeline()
    default_codesets()
    authoring.vocabulary()
    for text in library_texts().values():
        authoring.check(text)  # the parser, the checker and the library books a rulebook extends
        header = load_rulebook(text).header
        if header is not None and header.payer:
            payer_stack(header.payer)
    payer_stack("")  # the national base, for every other payer
