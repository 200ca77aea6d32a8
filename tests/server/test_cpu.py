"""The CPU pool: work runs in worker processes, within a budget, and the pool survives a runaway."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.cpu import CpuPool
from server.errors import OperationTooCostly
from tests.server import cpu_operations


@pytest.fixture
async def small_pool(tmp_path: Path) -> AsyncIterator[CpuPool]:
    pool = CpuPool(tmp_path, processes=1, budget_seconds=0.5, grace_seconds=0.5)
    yield pool
    pool.shutdown()


class TestRun:
    async def test_an_operation_runs_in_another_process(self, small_pool: CpuPool) -> None:
        assert await small_pool.run(cpu_operations.worker_pid) != os.getpid()
        assert small_pool.dispatched == 1

    async def test_waiting_for_a_busy_worker_does_not_count_against_the_budget(self, small_pool: CpuPool) -> None:
        # one worker, three calls of 0.3 s each under a 0.5 s budget: the last waits 0.6 s, then runs
        answers = await asyncio.gather(*(small_pool.run(cpu_operations.sleep_then_answer, 0.3) for _ in range(3)))
        assert answers == ["answered"] * 3

    async def test_callers_of_a_cold_pool_wait_for_its_first_worker_without_being_charged(self, tmp_path: Path) -> None:
        pool = CpuPool(tmp_path, processes=2, budget_seconds=0.5, grace_seconds=0.05)
        try:
            pids = await asyncio.gather(*(pool.run(cpu_operations.worker_pid) for _ in range(4)))
            assert len(pids) == 4 and os.getpid() not in pids
        finally:
            pool.shutdown()

    async def test_a_shut_down_pool_takes_no_more_work(self, small_pool: CpuPool) -> None:
        await small_pool.run(cpu_operations.worker_pid)
        small_pool.shutdown()
        with pytest.raises(RuntimeError, match="shut down"):
            await small_pool.run(cpu_operations.worker_pid)


class TestBudget:
    async def test_runaway_python_is_stopped_and_the_same_worker_serves_on(self, small_pool: CpuPool) -> None:
        before = await small_pool.run(cpu_operations.worker_pid)
        with pytest.raises(OperationTooCostly) as refused:
            await small_pool.run(cpu_operations.spin_forever)
        assert refused.value.extensions == {"code": "OPERATION_TOO_COSTLY", "budgetSeconds": 0.5}
        assert "too costly" in refused.value.message
        assert await small_pool.run(cpu_operations.worker_pid) == before

    async def test_a_worker_deaf_to_its_timer_is_killed_and_replaced(self, small_pool: CpuPool) -> None:
        before = await small_pool.run(cpu_operations.worker_pid)
        with pytest.raises(OperationTooCostly):
            await small_pool.run(cpu_operations.spin_deaf_to_the_timer)
        after = await small_pool.run(cpu_operations.worker_pid)
        assert after != before
        assert _gone_or_zombie(before)

    async def test_an_operation_beside_a_killed_runaway_runs_again_in_the_new_pool(self, tmp_path: Path) -> None:
        pool = CpuPool(tmp_path, processes=2, budget_seconds=2.0, grace_seconds=0.2)
        try:
            signal_file = tmp_path / "go"
            runaway = asyncio.create_task(pool.run(cpu_operations.spin_deaf_to_the_timer))
            await asyncio.sleep(0.5)  # the bystander starts after the runaway, so its own budget outlasts the kill
            bystander = asyncio.create_task(pool.run(cpu_operations.wait_for_file, str(signal_file)))
            with pytest.raises(OperationTooCostly):
                await runaway
            signal_file.touch()
            assert isinstance(await bystander, int)
        finally:
            pool.shutdown()


def _gone_or_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")
