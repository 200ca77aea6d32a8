"""The coding engine: an Encounter and a rule stack in, an explained Coding out."""

from rulebooks.engine.context import FeeSchedules
from rulebooks.engine.pipeline import code

__all__ = ["FeeSchedules", "code"]
