"""Logging that never carries PHI: drivers that log SQL parameters are held at WARNING.

aiosqlite logs every statement with its parameters at DEBUG (the encounter JSON, the note);
SQLAlchemy's engine logger does the same when echo is on. Those loggers stay quiet whatever
level a deployment asks for; our own loggers log ids only.
"""

from __future__ import annotations

import logging

PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg", "asyncio")


def quiet_parameter_loggers() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
