"""Prior-authorization facts: severity scores, treatment history and TB screening.

Biologic criteria (derm-coding.md section 15) compare numbers (BSA >= 10 %, EASI >= 16),
count failed drug classes, and ask for a TB test with its date and result. These patterns
read them as written; which numbers satisfy which payer is the rule language's business.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

from rulebooks.notes.fastscan import prescanned_finditer, scan_text, with_first_character_hint
from rulebooks.notes.quantities import Quantity

_FILLER = r"(?:\s*(?:score|scores|involvement|involved|affected|of|is|was|were|at|today|baseline|approximately"
_FILLER += r"|approx\.?|about"
_FILLER += r"|around|estimated|now|currently|today|=|:|~|-)\s*)*"
_NUM = r"\s*(?P<value>\d{1,3}(?:\.\d{1,2})?)"

_SCORES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bsa", re.compile(rf"\b(?:BSA|body\s+surface\s+area){_FILLER}{_NUM}\s*%", re.IGNORECASE)),
    (
        "bsa",
        re.compile(
            r"(?<![\w.])(?P<value>\d{1,3}(?:\.\d{1,2})?)\s*%\s*(?:of\s+(?:the\s+)?)?(?:BSA|body\s+surface\s+area)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "pasi",
        re.compile(
            rf"\bPASI(?![- ]?(?:50|75|90|100)\s+(?:response|improvement|reduction)){_FILLER}{_NUM}(?!\s*%)",
            re.IGNORECASE,
        ),
    ),
    ("easi", re.compile(rf"\bEASI{_FILLER}{_NUM}(?!\s*%)", re.IGNORECASE)),
    ("iga", re.compile(rf"\bv?IGA(?:-AD)?{_FILLER}\s*(?P<value>[0-4])(?:\s*/\s*4)?\b", re.IGNORECASE)),
    ("dlqi", re.compile(rf"\bDLQI{_FILLER}{_NUM}", re.IGNORECASE)),
    ("ihs4", re.compile(rf"\bIHS-?4{_FILLER}{_NUM}", re.IGNORECASE)),
    ("hurley", re.compile(r"\bHurley(?:\s+stage)?\s*(?P<value>III|II|I|[123])\b", re.IGNORECASE)),
)
_ROMAN = {"i": 1, "ii": 2, "iii": 3}


def find_scores(text: str) -> list[Quantity]:
    """Severity scores with their numeric value (Hurley as 1-3)."""
    found: list[Quantity] = []
    scanned = scan_text(text)
    for label, pattern in _SCORES:
        for match in prescanned_finditer(pattern, text, scanned):
            raw = match.group("value")
            value: float = _ROMAN[raw.lower()] if raw.lower() in _ROMAN else float(raw)
            if label in {"iga", "hurley"} or float(value).is_integer():
                value = int(value)
            found.append((label, match.start(), match.end(), {"value": value}))
    return found


#: Drugs and classes seen in derm prior authorizations, by class. Brand names map to the same class.
DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "topical_corticosteroid": (
        "clobetasol", "halobetasol", "betamethasone", "fluocinonide", "triamcinolone", "TAC", "mometasone", "desonide",
        "hydrocortisone", "fluticasone", "desoximetasone", "topical steroids?", "topical corticosteroids?", "TCS",
        "high[- ]potency TCS", "medium[- ]potency TCS",
    ),
    "topical_calcineurin_inhibitor": (
        "tacrolimus", "protopic", "pimecrolimus", "elidel", "topical calcineurin inhibitors?", "TCIs?",
    ),
    "topical_other": (
        "crisaborole", "eucrisa", "calcipotriene", "calcipotriol", "tazarotene", "roflumilast", "ruxolitinib cream",
        "opzelura", "tapinarof", "vtama", "anthralin", "coal tar", "mupirocin",
    ),
    "phototherapy": ("phototherapy", "NB-?UVB", "narrow[- ]band UVB", "PUVA", "light therapy"),
    "systemic_conventional": (
        "methotrexate", "MTX", "cyclosporine", "CsA", "acitretin", "soriatane", "apremilast", "otezla",
        "mycophenolate", "azathioprine", "isotretinoin", "spironolactone",
    ),
    "oral_antibiotic": (
        "doxycycline", "minocycline", "tetracyclines?", "clindamycin", "rifampin", "metronidazole", "moxifloxacin",
        "oral antibiotics?",
    ),
    "biologic": (
        "dupilumab", "dupixent", "tralokinumab", "adbry", "lebrikizumab", "ebglyss", "adalimumab", "humira",
        "secukinumab", "cosentyx", "ixekizumab", "taltz", "risankizumab", "skyrizi", "guselkumab", "tremfya",
        "ustekinumab", "stelara", "etanercept", "enbrel", "infliximab", "remicade", "bimekizumab", "bimzelx",
        "brodalumab", "siliq", "tildrakizumab", "ilumya", "certolizumab", "cimzia", "omalizumab", "xolair",
        "biologics?",
    ),
    "jak_inhibitor": ("upadacitinib", "rinvoq", "abrocitinib", "cibinqo", "baricitinib", "deucravacitinib", "sotyktu",
                      "JAK inhibitors?"),
}  # fmt: skip
_DRUG_TO_CLASS = {}
for _class, _names in DRUG_CLASSES.items():
    for _name in _names:
        _DRUG_TO_CLASS[_name] = _class
_DRUG_PATTERN = with_first_character_hint(
    re.compile(r"\b(?:" + "|".join(sorted(_DRUG_TO_CLASS, key=len, reverse=True)) + r")\b(?!-\w)", re.IGNORECASE)
)
_DRUG_LOOKUP = [(re.compile(rf"^(?:{name})$", re.IGNORECASE), cls) for name, cls in _DRUG_TO_CLASS.items()]

_RESPONSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("contraindicated", re.compile(r"\bcontraindicat\w*|\bnot\s+(?:a\s+)?candidate\b|\bnot\s+feasible\b"
                                   r"|\bnot\s+an\s+option\b", re.IGNORECASE)),
    ("intolerant", re.compile(r"\bintoleran\w*|\bnot\s+tolerated\b|\bcould\s+not\s+tolerate\b", re.IGNORECASE)),
    ("adverse_effect", re.compile(r"\badverse\s+(?:effect|event|reaction)s?\b|\bside\s+effects?\b|\bcaused\b"
                                  r"|\bstopped\s+(?:due\s+to|for|because)\b|\bdiscontinued\s+(?:due\s+to|for|because)\b",
                                  re.IGNORECASE)),
    ("inadequate_response", re.compile(r"\binadequate\b|\binsufficient\b|\bpartial\s+(?:response|improvement)\b"
                                       r"|\bminimal\s+(?:benefit|improvement|response)\b|\bloss\s+of\s+response\b"
                                       r"|\blost\s+(?:efficacy|response)\b", re.IGNORECASE)),
    ("failed", re.compile(r"\bfail\w*|\bwithout\s+(?:improvement|benefit|response)\b"
                          r"|\bno\s+(?:improvement|benefit|response)\b"
                          r"|\bineffective\b|\brefractory\b", re.IGNORECASE)),
    ("improved", re.compile(r"\bimproved\b|\bgood\s+response\b|\bclear(?:ed)?\b", re.IGNORECASE)),
)  # fmt: skip
_DURATION = re.compile(
    r"(?:\b(?:x|for|over)\s*|×\s*|\b)(?P<n>\d{1,3})[- ]?(?P<unit>weeks?|wks?|months?|mos?|days?|years?|yrs?)\b",
    re.IGNORECASE,
)
DATE = re.compile(
    r"\b(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}/\d{4}|\d{4}-\d{2}(?:-\d{2})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\.?\s+\d{4}|(?:19|20)\d{2}(?:\s*[-–]\s*(?:19|20)\d{2})?)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;\n]|\bthen\b|\bafter\b")
_CLAUSE_START = re.compile(r"[.;\n]")


class Clauses:
    """The clause around each mention, from one scan of the note's breaks (not one scan per mention).

    A clause runs from just after the last ".", ";" or line break before a mention to the next
    break, "then" or "after" at or after its end. The breaks are found once and looked up by
    bisection, and what a clause says is read once however many mentions share it (`memo`).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lefts = [match.end() for match in _CLAUSE_START.finditer(text)]
        # Matches of _CLAUSE_END never overlap (one break character, or a whole word), so the first
        # that starts at or after a position is the one ``_CLAUSE_END.search(text, position)`` finds.
        self.rights = [match.start() for match in _CLAUSE_END.finditer(text)]
        self.word_breaks = [position for position in self.rights if text[position] not in ".;\n"]
        self.memo: dict[tuple[str, int, int], Any] = {}

    def around(self, start: int, end: int) -> tuple[int, int]:
        """``(left, right)`` of the clause holding the mention ``[start, end)``."""
        before = bisect_right(self.lefts, start)
        left = self.lefts[before - 1] if before else 0
        after = bisect_left(self.rights, end)
        right = self.rights[after] if after < len(self.rights) else len(self.text)
        return left, right

    def treatment_reading(self, left: int, right: int) -> TreatmentReading:
        """What clause ``[left, right)`` says of a treatment, read a stretch at a time.

        "tried MTX then CsA then ..." gives clauses that share their start and end at each
        "then": each is the one before it and one more stretch, so it is read as that (no
        response, duration or date pattern can match across a "then" or "after", which has
        no pattern's words and starts after a non-word character).
        """
        cuts: list[int] = []  # the "then"/"after" starts inside the clause not yet read, last first
        end = right
        while ("treatment", left, end) not in self.memo:
            index = bisect_left(self.word_breaks, end) - 1
            if index < 0 or self.word_breaks[index] <= left:
                self.memo["treatment", left, end] = TreatmentReading.of(self.text[left:end])
                break
            cuts.append(end)
            end = self.word_breaks[index]
        while cuts:
            cut, end = end, cuts.pop()
            self.memo["treatment", left, end] = self.memo["treatment", left, cut].then(
                TreatmentReading.of(self.text[cut:end])
            )
        return self.memo["treatment", left, right]

    def first_after(self, pattern: re.Pattern[str], position: int, right: int) -> str | None:
        """What ``pattern.search(text[position:right])`` finds, for a ``position`` inside clause ``right``.

        Each pattern's matches in a clause are found once, then looked up by bisection, so many
        mentions in one long clause do not each read it to its end. Exact for the patterns used
        here: their matches are whole words or numbers (``\\b`` on both sides), never overlap
        one another, and none can start at ``position``, the end of a word followed by a non-word
        character; nor, as the clause ends at a break, run past ``right``.
        """
        left = self.around(position, position)[0]
        key = (pattern.pattern, left, right)
        if key not in self.memo:
            matches = list(pattern.finditer(self.text, left, right))
            self.memo[key] = ([match.start() for match in matches], [match.group(0) for match in matches])
        starts, texts = self.memo[key]
        index = bisect_left(starts, position)
        return texts[index] if index < len(starts) else None


@dataclass(frozen=True)
class TreatmentReading:
    """The response, duration and dates a clause gives a treatment (``rank``: the response's place)."""

    rank: int
    duration: str | None
    dates: tuple[str, ...]

    @classmethod
    def of(cls, clause: str) -> TreatmentReading:
        """The first response (in `_RESPONSES` order) written in the clause, its first duration, its dates."""
        rank = next((rank for rank, (_, pattern) in enumerate(_RESPONSES) if pattern.search(clause)), len(_RESPONSES))
        duration = _DURATION.search(clause)
        return cls(
            rank,
            f"{duration.group('n')} {duration.group('unit')}" if duration else None,
            tuple(m.group(0) for m in DATE.finditer(clause)),
        )

    def then(self, later: TreatmentReading) -> TreatmentReading:
        """The reading of this clause followed by a later stretch of text."""
        return TreatmentReading(min(self.rank, later.rank), self.duration or later.duration, self.dates + later.dates)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.rank < len(_RESPONSES):
            values["response"] = _RESPONSES[self.rank][0]
        if self.duration:
            values["duration"] = self.duration
        if self.dates:
            values["dates"] = list(self.dates)
        return values


def find_treatments(text: str) -> list[Quantity]:
    """Each drug or class mentioned, with the response, duration and dates written in its clause."""
    found: list[Quantity] = []
    clauses = Clauses(text)
    for match in prescanned_finditer(_DRUG_PATTERN, text, scan_text(text)):
        name = match.group(0)
        drug_class = next((cls for pattern, cls in _DRUG_LOOKUP if pattern.match(name)), "other")
        left, right = clauses.around(match.start(), match.end())
        values: dict[str, Any] = {"drug": name.lower(), "drug_class": drug_class}
        values.update(clauses.treatment_reading(left, right).values())
        found.append(("treatment", match.start(), match.end(), values))
    return found


_TB_TEST = re.compile(
    r"\b(?:quanti-?feron(?:[- ]TB)?(?:[- ]gold)?(?:[- ]plus)?|QFT(?:-(?:GIT|plus|G))?|IGRA|T-?SPOT(?:\.TB)?|PPD|TST"
    r"|(?:TB|tuberculin)\s+skin\s+test|mantoux)\b",
    re.IGNORECASE,
)
_TB_RESULT = (
    ("negative", re.compile(r"\b(?:negative|neg|non-?reactive|0\s*mm)\b", re.IGNORECASE)),
    ("positive", re.compile(r"\b(?:positive|pos|reactive)\b", re.IGNORECASE)),
    ("indeterminate", re.compile(r"\bindeterminate\b", re.IGNORECASE)),
)


def find_tb_screening(text: str) -> list[Quantity]:
    """TB tests with their result and date, read from the same sentence."""
    found: list[Quantity] = []
    clauses = Clauses(text)
    for match in prescanned_finditer(_TB_TEST, text, scan_text(text)):
        left, right = clauses.around(match.start(), match.end())
        values: dict[str, Any] = {"test": match.group(0)}
        if match.end() < right:  # the rest of the clause after the test
            result = next((label for label, pattern in _TB_RESULT if clauses.first_after(pattern, match.end(), right)),
                          None)  # fmt: skip
            date = clauses.first_after(DATE, match.end(), right)
        else:  # nothing after the test in its clause: the clause before it
            clause = text[left:right]
            result = next((label for label, pattern in _TB_RESULT if pattern.search(clause)), None)
            date_match = DATE.search(clause)
            date = date_match.group(0) if date_match else None
        if result:
            values["result"] = result
        if date:
            values["date"] = date
        found.append(("tb_screening", match.start(), match.end(), values))
    return found
