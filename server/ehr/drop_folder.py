"""A drop folder: the EHR (or its interface engine) writes message files into a folder; cutis
imports each file once it has stopped growing and moves it to `done/` beside it.

A file is taken when it was last written `settle_seconds` ago, so that a file still being written
is left for the next look. Its messages go through the same import as `cutis import` (kept once
by digest, a bad message quarantined), then the file moves to `done/` (a name already there gets a
numbered suffix). Stopping between two files loses nothing: a file not yet moved is imported again,
and its messages are found already imported.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.cpu import Cpu
from server.ehr.imports import FOLDER_SUFFIXES, Tally, import_stream, messages_in
from server.ehr.profile import GENERIC
from server.jobs import JobQueue

DONE = "done"


def ready_files(folder: Path, settle_seconds: float, now: float | None = None) -> list[Path]:
    """The message files in the folder (not below it) that nobody has written for `settle_seconds`."""
    now = time.time() if now is None else now
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in FOLDER_SUFFIXES and now - path.stat().st_mtime >= settle_seconds
    )


def move_to_done(path: Path) -> Path:
    done = path.parent / DONE
    done.mkdir(exist_ok=True)
    target, number = done / path.name, 1
    while target.exists():
        target, number = done / f"{path.stem}.{number}{path.suffix}", number + 1
    return path.rename(target)


async def watch(
    folder: Path,
    factory: async_sessionmaker[AsyncSession],
    cpu: Cpu,
    tenant_id: uuid.UUID,
    on_file: Callable[[Path, Tally], None],
    *,
    interval_seconds: float = 5.0,
    settle_seconds: float = 2.0,
    looks: int | None = None,
    queue: JobQueue | None = None,
    profile: str = GENERIC,
) -> None:
    """Look at the folder every `interval_seconds` (forever, or `looks` times) and import what is
    ready, read with the vendor `profile`."""
    looked = 0
    while looks is None or looked < looks:
        for path in ready_files(folder, settle_seconds):
            tally = await import_stream(factory, cpu, tenant_id, "file", list(messages_in(path, profile)), queue=queue)
            on_file(move_to_done(path), tally)
        looked += 1
        if looks is None or looked < looks:
            await asyncio.sleep(interval_seconds)
