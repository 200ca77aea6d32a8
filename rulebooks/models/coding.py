"""The Coding: the immutable, self-explaining output of the engine.

The same JSON comes out of `cutis code --format json`, GraphQL and the snapshots. Every
line and flag carries its reasons: the coding step or the rule (rulebook, version, rule id,
label, source span) that produced or changed it, with the values it compared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CodingStatus = Literal["ready", "held", "needs_prior_auth", "needs_review"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceSpan(Frozen):
    """A region of a rulebook's canonical text: line/column from 1, offsets from 0."""

    line: int
    column: int
    start: int
    end: int


class RuleRef(Frozen):
    rulebook: str
    version: str
    rule_id: str
    label: str
    span: SourceSpan | None = None


class Reason(Frozen):
    """Why a line or flag is what it is: one coding step or one rule, and what it compared."""

    step: str | None = None
    rule: RuleRef | None = None
    message: str
    values: dict[str, Any] = Field(default_factory=dict)


class ClaimLine(Frozen):
    code: str
    units: int = Field(ge=1)
    modifiers: list[str] = Field(default_factory=list)
    diagnoses: list[str] = Field(default_factory=list, description="ICD-10-CM codes in pointer order (max 4).")
    charge: str | None = Field(default=None, description="Decimal string from the fee schedule, e.g. '125.00'.")
    service_ids: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)


class HeldLine(Frozen):
    code: str
    units: int
    service_ids: list[str]
    query: str
    reasons: list[Reason] = Field(default_factory=list)


class Flag(Frozen):
    code: str
    detail: str | None = None
    service_ids: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)


class RulebookRef(Frozen):
    """A rulebook a coding used: its name, its content hash (`version`) and, for a clinic's
    published version, that version's id (a rollback republishes old content under a new id)."""

    name: str
    version: str
    version_id: str | None = None


class Releases(Frozen):
    """What else decided a coding besides its rulebooks: the engine release (its passes), the
    rule vocabulary's version and the code-set releases in effect on the date of service."""

    engine: str
    vocabulary: str
    code_sets: dict[str, str] = Field(default_factory=dict)


class Coding(Frozen):
    encounter_id: str
    coded_at: dt.datetime
    rulebooks: list[RulebookRef] = Field(default_factory=list)
    status: CodingStatus
    claim_lines: list[ClaimLine] = Field(default_factory=list)
    self_pay_lines: list[ClaimLine] = Field(default_factory=list)
    held_lines: list[HeldLine] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    releases: Releases | None = None
