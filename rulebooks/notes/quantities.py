"""Numbers in the note: lesion counts, sizes, margins, repair lengths and Mohs stages/blocks.

Numbers belong to patterns, not embeddings (domain/interop.md). Each function returns
``(label, start, end, values)`` tuples; sizes are converted to centimetres so rules compare
one unit. A measurement is a margin when "margin" is next to it, a repair length when the
nearest word before it in the sentence is a repair word rather than a lesion word, and not a
size at all when it is a tuberculin induration ("PPD 0 mm").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Any

from rulebooks.notes.fastscan import (
    could_match,
    pattern_anchors,
    prescanned_finditer,
    scan_text,
    with_first_character_hint,
)

Quantity = tuple[str, int, int, dict[str, Any]]

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "dozen": 12,
    "single": 1, "a dozen": 12, "a single": 1,
}  # fmt: skip
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
}
NUMBER_WORD = (
    r"(?:(?:twenty|thirty|forty|fifty)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|ten|one|two|three|four|five|six|seven|eight|nine|dozen|single)"
)
NUMBER = rf"(?:[0-9]{{1,3}}|{NUMBER_WORD})"


def number_value(text: str) -> int | None:
    """The integer a count is written as ("twenty-two" -> 22, "12" -> 12)."""
    text = text.lower().strip()
    if text.isdigit():
        return int(text)
    if text in _UNITS:
        return _UNITS[text]
    parts = re.split(r"[- ]", text)
    if len(parts) == 2 and parts[0] in _UNITS and parts[1] in _UNITS:
        return _UNITS[parts[0]] + _UNITS[parts[1]]
    return _ORDINALS.get(text)


LESION_NOUN = (
    r"(?:AKs?|actinic\s+keratos[ie]s|SKs?|ISKs?|seborrheic\s+keratos[ie]s|keratos[ie]s|lesions?|warts?|verrucae?"
    r"|skin\s+tags?|tags|acrochordons?|ne[vu]i|moles?|cysts?|papules?|BCCs?|SCCs?|molluscum|spots|growths|macules)"
)
_COUNT_WORDS = with_first_character_hint(
    re.compile(
        rf"\b(?P<num>{NUMBER})\s+(?:(?!(?:mm|cm|x|by|stages?|blocks?)\b)[\w-]+\s+){{0,2}}?(?P<noun>{LESION_NOUN})\b",
        re.IGNORECASE,
    )
)
_COUNT_TIMES = with_first_character_hint(
    re.compile(
        r"(?<![\w.])[x×]\s?(?P<num>\d{1,3})\b(?!\s*(?:mm|cm|%|weeks?|wks?|months?|mos?|days?|d\b|years?|yrs?|hours?|/|stages?"
        r"|blocks?|\.\d|[x×]))",
        re.IGNORECASE,
    )
)
_NUMBER_BEFORE = re.compile(r"(?:^|[^\w.])\d+(?:\.\d+)?\s*$")
_COUNT_HASH = with_first_character_hint(re.compile(r"#\s?(?P<num>\d{1,3})\b(?![\d.])"))

_MEASURE = with_first_character_hint(
    re.compile(
        r"(?<![\w.])(?P<a>[0-9]+(?:\.[0-9]+)?)\s*(?:(?:x|×|by)\s*(?P<b>[0-9]+(?:\.[0-9]+)?)\s*"
        r"(?:(?:x|×|by)\s*(?P<c>[0-9]+(?:\.[0-9]+)?)\s*)?)?"
        r"(?P<unit>mm|cm)\b",
        re.IGNORECASE,
    )
)
_MARGIN_AFTER = re.compile(
    r"^\s*(?:[\w-]+\s+)?(?:clinical\s+|surgical\s+|peripheral\s+|deep\s+)?margins?\b", re.IGNORECASE
)
_MARGIN_BEFORE = re.compile(r"\bmargins?\s+(?:of\s+|were\s+|was\s+|taken\s+)?(?:approximately\s+|~)?$", re.IGNORECASE)
_INDURATION_BEFORE = re.compile(r"\b(?:PPD|TST|induration|mantoux|skin\s+test)\b[^.;]{0,12}$", re.IGNORECASE)
_REPAIR_WORDS = re.compile(
    r"\b(?:repair\w*|closure|closed|clos\w+\s+length|sutur\w+|layered|linear\s+closure|complex|intermediate|simple"
    r"|wound\s+length)\b",
    re.IGNORECASE,
)
_LESION_WORDS = re.compile(
    r"\b(?:lesion|measur\w*|diameter|size|nodule|papule|plaque|macule|cyst|lipoma|tumou?r|defect|excision\s+of|excised"
    r"|BCC|SCC|margin)\b",
    re.IGNORECASE,
)
_BREAK = re.compile(r"[.;!?\n]")

_MOHS_CONTEXT = re.compile(r"\b(?:mohs|blocks?|layers?|MMS)\b", re.IGNORECASE)
_STAGES = with_first_character_hint(
    re.compile(
        rf"(?:(?:\b|(?<=x))(?P<num>{NUMBER})\s+(?:mohs\s+)?stages?|(?P<ord>first|second|third|fourth|fifth|sixth)\s+stage"
        r"|(?<!hurley\s)stage\s+(?P<idx>\d{1,2}|one|two|three|four|five|I{1,3}|IV)\b)",
        re.IGNORECASE,
    )
)
_BLOCKS = with_first_character_hint(
    re.compile(
        rf"\b(?P<num>{NUMBER})\s+(?:tissue\s+|frozen\s+|histologic\s+)?(?:blocks?|specimens?\s+blocks?)\b",
        re.IGNORECASE,
    )
)


def _to_cm(value: float, unit: str) -> float:
    return round(value / 10 if unit.lower() == "mm" else value, 3)


class RepairWords:
    """Where repair and lesion words end in each stretch between sentence breaks, found once per stretch.

    Why: a measurement is a repair length when the nearest describing word before it in its
    sentence names a repair; reading the sentence up to each measurement again costs the
    square of a long sentence dense with measurements. A word never spans a break character
    (".;!?" or a line break) nor ends right where a measurement starts (which is never after a
    word character), so the words before a measurement are those of its whole stretch that
    end before it.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.breaks = [match.start() for match in _BREAK.finditer(text)]
        self.stretches: dict[int, tuple[list[int], list[int]]] = {}

    def nearest_is_repair(self, start: int) -> bool:
        """True when the nearest describing word before ``start`` names a repair, not a lesion."""
        index = bisect_left(self.breaks, start)
        left = self.breaks[index - 1] + 1 if index else 0
        if left not in self.stretches:
            right = self.breaks[index] if index < len(self.breaks) else len(self.text)
            stretch = self.text[left:right]
            self.stretches[left] = (
                [left + m.end() for m in _REPAIR_WORDS.finditer(stretch)],
                [left + m.end() for m in _LESION_WORDS.finditer(stretch)],
            )
        repair_ends, lesion_ends = self.stretches[left]
        repair = bisect_right(repair_ends, start)
        if not repair:
            return False
        lesion = bisect_right(lesion_ends, start)
        return not lesion or repair_ends[repair - 1] > lesion_ends[lesion - 1]


def find_measurements(text: str) -> list[Quantity]:
    """Sizes, margins and repair lengths, each in centimetres."""
    found: list[Quantity] = []
    repair_words = RepairWords(text)
    for match in _MEASURE.finditer(text):
        unit = match.group("unit")
        dims = [float(match.group(g)) for g in ("a", "b", "c") if match.group(g)]
        dims_cm = [_to_cm(d, unit) for d in dims]
        start, end = match.span()
        if _INDURATION_BEFORE.search(text[max(0, start - 30) : start]):
            continue
        after = _MARGIN_AFTER.match(text[end : end + 30])
        before = _MARGIN_BEFORE.search(text[max(0, start - 30) : start])
        if after:
            found.append(("margin", start, end + after.end(), {"value_cm": dims_cm[0]}))
        elif before:
            found.append(("margin", start - (len(before.group(0))), end, {"value_cm": dims_cm[0]}))
        elif len(dims) == 1 and repair_words.nearest_is_repair(start):
            found.append(("repair_length", start, end, {"value_cm": dims_cm[0]}))
        else:
            found.append(("size", start, end, {"value_cm": max(dims_cm), "dimensions_cm": dims_cm}))
    return found


def find_counts(text: str) -> list[Quantity]:
    """Lesion counts: "three AKs", "15 actinic keratoses", "x3", "#6"."""
    found: list[Quantity] = []
    for match in _COUNT_WORDS.finditer(text):
        value = number_value(match.group("num"))
        if value:
            found.append(("lesion_count", match.start(), match.end(), {"count": value, "lesion": match.group("noun")}))
    for match in _COUNT_TIMES.finditer(text):
        if _NUMBER_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
            continue  # "1.2 x 0.8" is a size (but "LN2 x1" is a count)
        found.append(("lesion_count", match.start(), match.end(), {"count": int(match.group("num"))}))
    for match in _COUNT_HASH.finditer(text):
        found.append(("lesion_count", match.start(), match.end(), {"lesion_number": int(match.group("num"))}))
    return found


def find_mohs(text: str) -> list[Quantity]:
    """Mohs stages and blocks; "stage N" counts only in a Mohs sentence (not "stage IV melanoma")."""
    found: list[Quantity] = []
    scanned = scan_text(text)
    mohs_note = could_match(pattern_anchors(_MOHS_CONTEXT), scanned) and bool(_MOHS_CONTEXT.search(text))
    for match in prescanned_finditer(_STAGES, text, scanned) if mohs_note else ():
        if match.group("num"):
            values = {"stages": number_value(match.group("num"))}
        else:
            values = {"stage": number_value(match.group("ord") or match.group("idx"))}
        found.append(("mohs_stage", match.start(), match.end(), values))
    for match in prescanned_finditer(_BLOCKS, text, scanned):
        found.append(("mohs_blocks", match.start(), match.end(), {"blocks": number_value(match.group("num"))}))
    return found
