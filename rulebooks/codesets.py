"""Code literal checks for the rule language: ICD-10-CM from a real code set, CPT/HCPCS by shape and range.

ICD-10-CM comes from the code list shipped inside the `simple-icd-10-cm` package (no download
at run time). Importing that package parses its XML (seconds) and its add_dot/remove_dot are
slow, so we read its plain code list once into our own index.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from itertools import pairwise
from pathlib import Path

from dsl.diagnostics import did_you_mean

CPT_CATEGORY_I = re.compile(r"^\d{5}$")
CPT_CATEGORY_II_III = re.compile(r"^\d{4}[FTU]$")
HCPCS_LEVEL_II = re.compile(r"^[A-V]\d{4}$")
# HCPCS Level II sections by first letter: A-E, G, H, J-M, P-V (no F, I, N or O section).
HCPCS_SECTIONS = frozenset("ABCDEGHJKLMPQRSTUV")
CPT_FIRST, CPT_LAST = "00100", "99607"

MODIFIERS = {
    "22": "increased procedural services",
    "24": "unrelated E/M in a global period",
    "25": "significant, separately identifiable E/M",
    "26": "professional component",
    "50": "bilateral procedure",
    "51": "multiple procedures",
    "52": "reduced services",
    "53": "discontinued procedure",
    "57": "decision for surgery",
    "58": "staged or related procedure",
    "59": "distinct procedural service",
    "76": "repeat procedure, same physician",
    "77": "repeat procedure, another physician",
    "78": "unplanned return to the OR",
    "79": "unrelated procedure in a global period",
    "91": "repeat laboratory test",
    "95": "telehealth",
    "XE": "separate encounter",
    "XS": "separate structure",
    "XP": "separate practitioner",
    "XU": "unusual non-overlapping service",
    "GA": "ABN on file",
    "GX": "voluntary ABN",
    "GY": "statutorily excluded",
    "GZ": "ABN expected denial, none on file",
    "KX": "requirements met",
    "JW": "drug wasted",
    "JZ": "no drug wasted",
    "RT": "right side",
    "LT": "left side",
    "GC": "teaching physician",
    "TC": "technical component",
    "E1": "upper left eyelid",
    "E2": "lower left eyelid",
    "E3": "upper right eyelid",
    "E4": "lower right eyelid",
    "FA": "left hand, thumb",
    **{f"F{n}": "finger" for n in range(1, 10)},
    "TA": "left foot, great toe",
    **{f"T{n}": "toe" for n in range(1, 10)},
}


@dataclass(frozen=True)
class Icd10Index:
    codes: frozenset[str]  # without dots
    categories: frozenset[str]  # codes that have children (not billable themselves)
    ordered: tuple[str, ...]

    def starting_with(self, prefix: str) -> list[str]:
        first = bisect_left(self.ordered, prefix)
        found = []
        for code in self.ordered[first:]:
            if not code.startswith(prefix):
                break
            found.append(code)
        return found

    def check(self, text: str) -> str | None:
        """None when `text` is a billable ICD-10-CM code or a pattern that matches some; else why not."""
        code = text.replace(".", "").upper()
        if code.endswith("*"):
            prefix = code[:-1]
            if self.starting_with(prefix):
                return None
            return f"no ICD-10-CM code starts with `{text[:-1]}`, so `{text}` matches nothing"
        if code in self.categories:
            return (
                f"`{text}` is an ICD-10-CM category, not a billable code: a diagnosis is never exactly "
                f"`{text}`; write `{text}{'.' if '.' not in text and len(text) == 3 else ''}*` for all its codes"
            )
        if code in self.codes:
            return None
        near = [c for c in self.starting_with(code[:3]) if c not in self.categories]
        guess = did_you_mean(code, near) if near else None
        shown = f"{guess[:3]}.{guess[3:]}" if guess and len(guess) > 3 else guess
        suffix = f" (did you mean {shown}?)" if shown else ""
        return f"`{text}` is not an ICD-10-CM code in the April 2026 code set{suffix}"


@cache
def icd10_index() -> Icd10Index:
    # find_spec locates the package without importing it (its import parses XML for seconds).
    spec = find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency of the project
        raise RuntimeError("the simple-icd-10-cm package is not installed")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    listing = sorted(data.glob("code-list-*.txt"))[-1]
    lines = listing.read_text(encoding="utf-8").split()
    codes = sorted({c for c in lines if len(c) >= 3 and c[0].isalpha() and "-" not in c})
    # In sorted order a code's children follow it directly, so a category is a code that
    # the next code starts with.
    categories = {code for code, following in pairwise(codes) if following.startswith(code)}
    return Icd10Index(frozenset(codes), frozenset(categories), tuple(codes))


def check_icd10(text: str) -> str | None:
    return icd10_index().check(text)


def check_procedure_code(text: str) -> str | None:
    code = text.upper()
    if CPT_CATEGORY_I.match(code):
        if not CPT_FIRST <= code <= CPT_LAST:
            return f"`{text}` is outside the CPT range {CPT_FIRST}..{CPT_LAST}"
        return None
    if CPT_CATEGORY_II_III.match(code):
        return None
    if HCPCS_LEVEL_II.match(code):
        if code[0] not in HCPCS_SECTIONS:
            return (
                f"`{text}` is not a HCPCS Level II code: no section starts with {code[0]} "
                "(they start with A-E, G, H, J-M or P-V, e.g. J0517, G2211, Q4101)"
            )
        return None
    return f"`{text}` is not a CPT or HCPCS code (five digits such as 17000, or a letter and four digits such as J7321)"


def check_modifier(text: str) -> str | None:
    if text.upper() in MODIFIERS:
        return None
    guess = did_you_mean(text.upper(), list(MODIFIERS))
    return f"`{text}` is not a modifier we know" + (f" (did you mean {guess}?)" if guess else "")
