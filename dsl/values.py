"""Runtime values shared by the checker (which builds constants) and the compiled rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dsl.vocabulary import UNITS


class Undetermined:
    """The result of a comparison with a missing fact: neither true nor false (Kleene logic)."""

    _instance: Undetermined | None = None

    def __new__(cls) -> Undetermined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undetermined"

    def __bool__(self) -> bool:  # pragma: no cover - guards against silent truthiness
        raise TypeError("an undetermined result must be handled explicitly")


UNDETERMINED = Undetermined()


def normalize_code(text: str) -> str:
    """Codes compare without dots and in upper case: `l57.0`, `L57.0` and `L570` are one code."""
    return text.replace(".", "").upper()


@dataclass(frozen=True)
class CodeSet:
    """Codes, patterns (`D22.*`, `C44.3*`) and ranges (`17000..17004`) as one membership test."""

    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    ranges: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Facts carry codes in upper case, with or without the ICD-10-CM dot (`L57.0`, `L570`):
        # both spellings, and every code of a small range, are looked up in one set.
        exact = set(self.exact)
        ranges = []
        for low, high in self.ranges:
            if low.isdigit() and high.isdigit() and int(high) - int(low) <= 10_000:
                exact.update(str(n).zfill(len(low)) for n in range(int(low), int(high) + 1))
            else:
                ranges.append((low, high))
        written = {f"{c[:3]}.{c[3:]}" for c in exact if len(c) > 3 and c[0].isalpha()}
        object.__setattr__(self, "_written", frozenset(exact | written))
        object.__setattr__(self, "_slow", bool(self.prefixes or ranges))

    def __contains__(self, value: object) -> bool:
        if value in self._written:  # type: ignore[attr-defined]
            return True
        if not self._slow or not isinstance(value, str):  # type: ignore[attr-defined]
            return False
        code = normalize_code(value)
        if code in self.exact:
            return True
        if code.startswith(self.prefixes):
            return True
        return any(len(code) == len(low) and low <= code <= high for low, high in self.ranges)

    def any_of(self, values: list[str]) -> bool:
        written = self._written  # type: ignore[attr-defined]
        return any(value in written or value in self for value in values)

    def all_of(self, values: list[str]) -> bool:
        return bool(values) and all(value in self for value in values)

    def __or__(self, other: CodeSet) -> CodeSet:
        return CodeSet(self.exact | other.exact, self.prefixes + other.prefixes, self.ranges + other.ranges)

    def describe(self) -> list[str]:
        return sorted(self.exact) + [p + "*" for p in self.prefixes] + [f"{a}..{b}" for a, b in self.ranges]


def quantity_value(text: str, field_unit: str | None) -> float:
    """`6 months` in the field's unit (years for an age): the factor of both units' dimension."""
    number, _, unit = text.partition(" ")
    value = float(number)
    if field_unit is None or unit == field_unit:
        return _tidy(value)
    return _tidy(value * UNITS[unit][1] / UNITS[field_unit][1])


def same_dimension(unit_a: str, unit_b: str) -> bool:
    return unit_a in UNITS and unit_b in UNITS and UNITS[unit_a][0] == UNITS[unit_b][0]


def _tidy(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
