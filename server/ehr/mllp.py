"""An MLLP listener for HL7 v2: each framed message is imported and answered with an ACK.

MLLP frames a message as <VT> message <FS><CR>. The answer is an HL7 ACK: MSA-1 `AA` when the
message is stored (imported, waiting for the rest of its visit, or seen before), `AE` with an ERR
segment saying where and why when it is quarantined (stored, not to be sent again), `AR` when it
could not be stored at all (the sender should send it again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.cpu import Cpu
from server.db import SessionAlone, tenant_session
from server.ehr.imports import MAX_MESSAGE_CHARS, Incoming, import_messages
from server.jobs import JobQueue, OutboxRef, relay

START, END = b"\x0b", b"\x1c\x0d"
log = logging.getLogger(__name__)
Handler = Callable[[str], Awaitable[str]]


async def serve_mllp(host: str, port: int, handle: Handler) -> asyncio.Server:
    """Listen on host:port; every framed message on a connection gets `handle`'s answer, framed."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    frame = await reader.readuntil(END)
                except asyncio.IncompleteReadError:
                    return  # the sender closed the connection
                except asyncio.LimitOverrunError:
                    writer.write(START + ack("", "AR", "message: longer than the listener accepts").encode() + END)
                    await writer.drain()
                    return
                text = frame[frame.find(START) + 1 : -len(END)].decode("utf-8", errors="replace")
                writer.write(START + (await handle(text)).encode() + END)
                await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port, limit=MAX_MESSAGE_CHARS * 4)


def import_handler(
    factory: async_sessionmaker[AsyncSession], cpu: Cpu, tenant_id: uuid.UUID, queue: JobQueue | None = None
) -> Handler:
    """Import each message into the clinic in its own transaction and answer AA, AE or AR; with a
    `queue`, a new encounter version's coding is relayed once the message commits."""

    async def handle(text: str) -> str:
        message = text.replace("\n", "\r").strip("\r")
        try:
            async with tenant_session(factory, tenant_id) as session:
                tally, rows = await import_messages(
                    SessionAlone(session), cpu, tenant_id, "mllp", [Incoming("hl7v2", message)]
                )
            if queue is not None:
                await relay(factory, queue, [OutboxRef(row.id, tenant_id) for row in tally.queued])
        except Exception as error:  # a database error's text carries the message's rows: name its type only
            log.error("an MLLP message could not be stored (%s)", type(error).__name__)
            return ack(message, "AR", "internal error: send the message again")
        quarantined = [row for row in rows if row.status == "quarantined"]
        if quarantined:
            return ack(message, "AE", f"{quarantined[0].error_where}: {quarantined[0].error_why}")
        return ack(message, "AA")

    return handle


def ack(message: str, code: str, error: str | None = None) -> str:
    """The ACK of a message (MSH-3/4 swapped into MSH-5/6, MSH-10 in MSA-2), with ERR for an error.

    >>> ack("MSH|^~\\\\&|EHR|CLINIC|CUTIS|CUTIS|20250110||DFT^P03|M1|P|2.5.1", "AA").split("\\r")[1]
    'MSA|AA|M1'
    """
    header = message.split("\r", 1)[0].split("|") if message.startswith("MSH") else []

    def field(number: int) -> str:  # MSH-1 is the separator itself: MSH-n sits at index n - 1
        return header[number - 1] if len(header) >= number else ""

    event = field(9).split("^")[1] if "^" in field(9) else ""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    segments = [
        f"MSH|^~\\&|CUTIS|CUTIS|{field(3)}|{field(4)}|{stamp}||ACK^{event}^ACK|{uuid.uuid4().hex[:20]}|P|"
        f"{field(12) or '2.5.1'}",
        f"MSA|{code}|{field(10)}",
    ]
    if error is not None:
        segments.append(f"ERR||||E||||{_escape(error)}")
    return "\r".join(segments)


def _escape(text: str) -> str:
    for plain, escaped in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        text = text.replace(plain, escaped)
    return text
