"""Logging that never carries PHI: one JSON object per line, with the request id and the tenant id.

aiosqlite logs every statement with its parameters at DEBUG (the encounter JSON, the note);
SQLAlchemy's engine logger does the same when echo is on. Those loggers stay quiet whatever
level a deployment asks for; our own loggers log ids only. An exception is logged by its type and
its frames (file, line, function), never its message: a driver's or a parser's message may quote
the input it choked on.

The request id comes from the proxy's `X-Request-Id` when it is a plain token (else a new one) and is
sent back in the response; the tenant id is set once the credentials name a clinic; a job logs its
job id and clinic the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg", "asyncio")
REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id: ContextVar[str | None] = ContextVar("cutis_request_id", default=None)
tenant_id: ContextVar[str | None] = ContextVar("cutis_tenant_id", default=None)
# The clinic a request turned out to act for, told back to the request's own line (the GraphQL operation runs in
# a copy of the request's context, so a variable set there is not seen by the middleware).
_clinic_of_request: ContextVar[list[str | None] | None] = ContextVar("cutis_clinic_of_request", default=None)
access_log = logging.getLogger("cutis.http")


def quiet_parameter_loggers() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class JsonFormatter(logging.Formatter):
    """One line of JSON per record: time, level, logger, message, request_id, tenant_id[, exception, frames]."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
            "tenant_id": tenant_id.get(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            entry["frames"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(record.exc_info[2])
            ]
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a terminal: the same fields as the JSON lines, exceptions again by type and frames only."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id.get() or "-"
        record.tenant_id = tenant_id.get() or "-"
        saved, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = saved
        if saved and saved[0] is not None:
            line += f" ({saved[0].__name__} at {traceback.extract_tb(saved[2])[-1:]})"
        return line


def logging_config(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for `cutis serve` (uvicorn applies it in every server process) and the worker."""
    formatter = "server.logs.JsonFormatter" if log_format == "json" else "server.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"cutis": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "cutis", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        # uvicorn's loggers would otherwise print their own plain lines beside ours
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "arq.worker", "arq.jobs")
        },
    }


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(logging_config(log_format, level))
    quiet_parameter_loggers()


@contextmanager
def logging_context(*, request: str | None = None, tenant: str | None = None) -> Iterator[None]:
    """Every line logged inside names this request (or job) and clinic."""
    request_token = request_id.set(request)
    tenant_token = tenant_id.set(tenant)
    try:
        yield
    finally:
        tenant_id.reset(tenant_token)
        request_id.reset(request_token)


@contextmanager
def acting_for(clinic: str | None) -> Iterator[None]:
    """Lines logged inside name this clinic, and so does the line of the request that carries them."""
    holder = _clinic_of_request.get()
    if holder is not None and clinic:
        holder[0] = clinic
    with logging_context(request=request_id.get(), tenant=clinic):
        yield


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The proxy's request id when it is a plain token of at most 64 characters, else a new one.

    >>> request_id_of([(b"x-request-id", b"abc-123")])
    'abc-123'
    >>> len(request_id_of([(b"x-request-id", b"<script>")]))
    32
    """
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            if REQUEST_ID_SHAPE.fullmatch(text):
                return text
    return uuid.uuid4().hex


def request_ids(app: Any) -> Any:
    """ASGI middleware: each HTTP request gets its id in the log context and in the `X-Request-Id` response header,
    and one line when it ends: method, path (never the query string or body), status, milliseconds."""

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        this_request = request_id_of(scope.get("headers") or [])
        started = time.perf_counter()
        status = [500]
        clinic: list[str | None] = [None]

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", this_request.encode())]
                message = {**message, "headers": headers}
            await send(message)

        holder_token = _clinic_of_request.set(clinic)
        try:
            with logging_context(request=this_request):
                await app(scope, receive, send_with_id)
        finally:
            _clinic_of_request.reset(holder_token)
            with logging_context(request=this_request, tenant=clinic[0]):
                elapsed_ms = (time.perf_counter() - started) * 1000
                access_log.info("%s %s %d %.1fms", scope["method"], scope["path"], status[0], elapsed_ms)

    return middleware
