"""The working state of one coding run: proposed lines and flags, mutable until frozen.

Passes read the encounter and append or change `WorkLine`s; only `freeze` turns the
state into the immutable `Coding`. Every change records a `Reason`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from rulebooks.models import Encounter, Flag, Reason, Service

Route = Literal["claim", "self_pay", "held"]


def step_reason(step: str, message: str, **values: Any) -> Reason:
    """A reason produced by a built-in coding step (not a rule)."""
    return Reason(step=step, message=message, values=values)


@dataclass
class WorkLine:
    code: str
    units: int
    service_ids: list[str]
    reasons: list[Reason]
    modifiers: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)
    route: Route = "claim"
    query: str | None = None

    def add_modifier(self, modifier: str, reason: Reason) -> None:
        if modifier not in self.modifiers:
            self.modifiers.append(modifier)
            self.reasons.append(reason)


@dataclass
class FeeSchedules:
    """The tenant's fees by code: medical (claim lines) and cosmetic (self-pay lines)."""

    medical: dict[str, Decimal] = field(default_factory=dict)
    cosmetic: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class CodingContext:
    encounter: Encounter
    fees: FeeSchedules
    lines: list[WorkLine] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    today: dt.date | None = None

    def services_of_kind(self, *kinds: str) -> list[Service]:
        return [service for service in self.encounter.services if service.kind in kinds]

    def service(self, service_id: str) -> Service:
        for service in self.encounter.services:
            if service.id == service_id:
                return service
        raise KeyError(service_id)

    def flag(self, code: str, reason: Reason, *, detail: str | None = None, service_ids: list[str] | None = None) -> None:
        self.flags.append(Flag(code=code, detail=detail, service_ids=service_ids or [], reasons=[reason]))

    def hold(self, code: str, service: Service, query: str, reason: Reason) -> None:
        """Keep a service off the claim until the provider answers `query`."""
        self.lines.append(
            WorkLine(code=code, units=1, service_ids=[service.id], reasons=[reason], route="held", query=query)
        )
        self.flag("provider_query", reason, detail=query, service_ids=[service.id])

    def claim_lines(self) -> list[WorkLine]:
        return [line for line in self.lines if line.route == "claim"]
