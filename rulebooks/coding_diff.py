"""Two codings of one encounter compared line by line, and many such comparisons summed up.

The compliance reviewer's behavioural diff, the impact replay and the shadow mode all ask the same
question: what would this encounter's claim look like under the other rules, and how much money
moves. A line is matched by its code and the services it bills; a line with the same key on both
sides that differs in units, modifiers, diagnoses or charge is changed, otherwise added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rulebooks.models import ClaimLine, Coding

#: The code families a summary is broken down by: (first code, last code, family), CPT ranges.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("11000", "11057", "debridement and paring"),
    ("11102", "11107", "biopsy"),
    ("11200", "11201", "skin tag removal"),
    ("11300", "11313", "shave removal"),
    ("11400", "11646", "excision"),
    ("11900", "11901", "injection"),
    ("12001", "13160", "repair"),
    ("14000", "14350", "adjacent tissue transfer"),
    ("15002", "15778", "graft"),
    ("17000", "17286", "destruction"),
    ("17311", "17315", "mohs"),
    ("99202", "99499", "evaluation and management"),
)


def family_of(code: str) -> str:
    """The family of a code (`FAMILIES`); HCPCS drugs (J), G codes and anything else by letter."""
    if code[:1] == "J":
        return "drugs"
    if code[:1] == "G":
        return "hcpcs g codes"
    for first, last, family in FAMILIES:
        if first <= code <= last:
            return family
    return "other"


@dataclass(frozen=True)
class LineChange:
    """One line that differs: `before` None is added, `after` None removed."""

    route: str  # claim | self_pay
    code: str
    service_ids: tuple[str, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def kind(self) -> str:
        return "added" if self.before is None else "removed" if self.after is None else "changed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "route": self.route,
            "code": self.code,
            "service_ids": list(self.service_ids),
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class CodingDiff:
    """What differs between two codings of one encounter."""

    lines: tuple[LineChange, ...]
    flags_added: tuple[str, ...]
    flags_removed: tuple[str, ...]
    holds_added: tuple[str, ...]
    holds_removed: tuple[str, ...]
    status_before: str
    status_after: str
    charge_before: Decimal
    charge_after: Decimal
    self_pay_delta: Decimal

    @property
    def charge_delta(self) -> Decimal:
        return self.charge_after - self.charge_before

    @property
    def changed(self) -> bool:
        return bool(
            self.lines
            or self.flags_added
            or self.flags_removed
            or self.holds_added
            or self.holds_removed
            or self.status_before != self.status_after
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "lines": [line.to_dict() for line in self.lines],
            "flags_added": list(self.flags_added),
            "flags_removed": list(self.flags_removed),
            "holds_added": list(self.holds_added),
            "holds_removed": list(self.holds_removed),
            "status": {"before": self.status_before, "after": self.status_after},
            "charge_delta": str(self.charge_delta),
            "self_pay_delta": str(self.self_pay_delta),
        }

    def summary(self) -> str:
        """One line for a person: each line change, then the money."""
        parts = []
        for line in self.lines:
            if line.kind == "added":
                parts.append(f"+{line.code} x{line.after['units']}")  # type: ignore[index]
            elif line.kind == "removed":
                parts.append(f"-{line.code} x{line.before['units']}")  # type: ignore[index]
            else:
                before, after = line.before or {}, line.after or {}
                what = [f"{key} {before[key]} -> {after[key]}" for key in before if before[key] != after.get(key)]
                parts.append(f"{line.code}: " + ", ".join(what))
        parts += [f"+flag {code}" for code in self.flags_added] + [f"-flag {code}" for code in self.flags_removed]
        if self.charge_delta:
            parts.append(f"charges {'+' if self.charge_delta > 0 else ''}{self.charge_delta}")
        return "; ".join(parts) or "no change"


def _charge(lines: list[ClaimLine]) -> Decimal:
    return sum((Decimal(line.charge) for line in lines if line.charge), Decimal(0))


def _shape(line: ClaimLine) -> dict[str, Any]:
    return {
        "units": line.units,
        "modifiers": list(line.modifiers),
        "diagnoses": list(line.diagnoses),
        "charge": line.charge,
    }


def _lines(route: str, before: list[ClaimLine], after: list[ClaimLine]) -> list[LineChange]:
    """Lines matched by (code, services), in order; repeated keys pair up in order."""
    found: list[LineChange] = []
    remaining = list(after)
    for old in before:
        key = (old.code, tuple(old.service_ids))
        match = next((new for new in remaining if (new.code, tuple(new.service_ids)) == key), None)
        if match is None:
            found.append(LineChange(route, old.code, key[1], _shape(old), None))
            continue
        remaining.remove(match)
        if _shape(old) != _shape(match):
            found.append(LineChange(route, old.code, key[1], _shape(old), _shape(match)))
    found += [LineChange(route, new.code, tuple(new.service_ids), None, _shape(new)) for new in remaining]
    return found


def _keys(items: list[Any]) -> set[str]:
    return {f"{item.code}" + (f" ({item.detail})" if getattr(item, "detail", None) else "") for item in items}


def coding_diff(before: Coding, after: Coding) -> CodingDiff:
    """What differs from `before` to `after` (two codings of the same encounter)."""
    flags_before, flags_after = _keys(before.flags), _keys(after.flags)
    holds_before = {f"{h.code} ({h.query})" for h in before.held_lines}
    holds_after = {f"{h.code} ({h.query})" for h in after.held_lines}
    return CodingDiff(
        lines=tuple(
            _lines("claim", before.claim_lines, after.claim_lines)
            + _lines("self_pay", before.self_pay_lines, after.self_pay_lines)
        ),
        flags_added=tuple(sorted(flags_after - flags_before)),
        flags_removed=tuple(sorted(flags_before - flags_after)),
        holds_added=tuple(sorted(holds_after - holds_before)),
        holds_removed=tuple(sorted(holds_before - holds_after)),
        status_before=before.status,
        status_after=after.status,
        charge_before=_charge(before.claim_lines),
        charge_after=_charge(after.claim_lines),
        self_pay_delta=_charge(after.self_pay_lines) - _charge(before.self_pay_lines),
    )


COUNTS = ("encounters", "changed", "lines_added", "lines_removed", "lines_changed", "flags_changed", "holds_changed")


@dataclass
class Tally:
    """Counts and money for one group of replayed encounters."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    charges_up: Decimal = Decimal(0)
    charges_down: Decimal = Decimal(0)

    def add(self, diff: CodingDiff, lines: list[LineChange] | None = None) -> None:
        """Count one comparison; `lines`: only these of its line changes (a code family's share)."""
        changed = diff.changed if lines is None else bool(lines)
        lines = list(diff.lines) if lines is None else lines
        self.counts["encounters"] += 1
        self.counts["changed"] += int(changed)
        for line in lines:
            self.counts[f"lines_{line.kind}"] += 1
        self.counts["flags_changed"] += len(diff.flags_added) + len(diff.flags_removed)
        self.counts["holds_changed"] += len(diff.holds_added) + len(diff.holds_removed)
        delta = diff.charge_delta
        if delta > 0:
            self.charges_up += delta
        elif delta < 0:
            self.charges_down += -delta

    def merge(self, other: Tally) -> None:
        for key in COUNTS:
            self.counts[key] += other.counts.get(key, 0)
        self.charges_up += other.charges_up
        self.charges_down += other.charges_down

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts, "charges_up": str(self.charges_up), "charges_down": str(self.charges_down)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        return cls(
            counts={key: int(data.get(key, 0)) for key in COUNTS},
            charges_up=Decimal(data.get("charges_up", "0")),
            charges_down=Decimal(data.get("charges_down", "0")),
        )


@dataclass
class Impact:
    """Many comparisons summed: in total, per payer and per code family, with a few examples.
    Mergeable (one per worker's chunk) and kept as JSON."""

    MAX_EXAMPLES = 20

    total: Tally = field(default_factory=Tally)
    payers: dict[str, Tally] = field(default_factory=dict)
    families: dict[str, Tally] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, payer: str, diff: CodingDiff, example: dict[str, Any] | None = None) -> None:
        self.total.add(diff)
        self.payers.setdefault(payer, Tally()).add(diff)
        if not diff.changed:
            return
        for family in sorted({family_of(line.code) for line in diff.lines}):
            lines = [line for line in diff.lines if family_of(line.code) == family]
            self.families.setdefault(family, Tally()).add(diff, lines)
        if example is not None and len(self.examples) < self.MAX_EXAMPLES:
            self.examples.append({**example, "charge_delta": str(diff.charge_delta), "summary": diff.summary()})

    def merge(self, other: Impact) -> None:
        self.total.merge(other.total)
        for name, tally in other.payers.items():
            self.payers.setdefault(name, Tally()).merge(tally)
        for name, tally in other.families.items():
            self.families.setdefault(name, Tally()).merge(tally)
        self.examples.extend(other.examples[: max(0, self.MAX_EXAMPLES - len(self.examples))])

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.to_dict(),
            "payers": {name: tally.to_dict() for name, tally in sorted(self.payers.items())},
            "families": {name: tally.to_dict() for name, tally in sorted(self.families.items())},
            "examples": self.examples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Impact:
        return cls(
            total=Tally.from_dict(data.get("total", {})),
            payers={name: Tally.from_dict(tally) for name, tally in data.get("payers", {}).items()},
            families={name: Tally.from_dict(tally) for name, tally in data.get("families", {}).items()},
            examples=list(data.get("examples", [])),
        )
