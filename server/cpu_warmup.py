"""Imported by the CPU pool's fork server only (multiprocessing's preload), never elsewhere:
importing it builds the engine's immutable parts, so that every worker forked from that server
starts warm. A failure here only makes workers slower to answer their first call."""

from __future__ import annotations

import logging

from server.cpu import die_with_parent, warm_up

die_with_parent()
try:
    warm_up()
except Exception as error:  # the fork server must start whatever happens; workers then build lazily
    logging.getLogger("cutis.cpu").warning("warm-up failed: %s", type(error).__name__)
