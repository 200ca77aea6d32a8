"""Prior-authorization facts: severity scores, treatment history and TB screening.

Biologic criteria (derm-coding.md section 15) compare numbers (BSA >= 10 %, EASI >= 16),
count failed drug classes, and ask for a TB test with its date and result. These patterns
read them as written; which numbers satisfy which payer is the rule language's business.
"""

from __future__ import annotations

import re
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


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause a drug mention sits in: from the previous to the next sentence or clause break."""
    left = max((m.end() for m in re.finditer(r"[.;\n]", text[:start])), default=0)
    right_match = _CLAUSE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    return left, right


def find_treatments(text: str) -> list[Quantity]:
    """Each drug or class mentioned, with the response, duration and dates written in its clause."""
    found: list[Quantity] = []
    for match in prescanned_finditer(_DRUG_PATTERN, text, scan_text(text)):
        name = match.group(0)
        drug_class = next((cls for pattern, cls in _DRUG_LOOKUP if pattern.match(name)), "other")
        left, right = _clause(text, match.start(), match.end())
        clause = text[left:right]
        values: dict[str, Any] = {"drug": name.lower(), "drug_class": drug_class}
        response = next((label for label, pattern in _RESPONSES if pattern.search(clause)), None)
        if response:
            values["response"] = response
        duration = _DURATION.search(clause)
        if duration:
            values["duration"] = f"{duration.group('n')} {duration.group('unit')}"
        dates = [m.group(0) for m in DATE.finditer(clause)]
        if dates:
            values["dates"] = dates
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
    for match in prescanned_finditer(_TB_TEST, text, scan_text(text)):
        left, right = _clause(text, match.start(), match.end())
        clause = text[match.end() : right] or text[left:right]
        values: dict[str, Any] = {"test": match.group(0)}
        result = next((label for label, pattern in _TB_RESULT if pattern.search(clause)), None)
        if result:
            values["result"] = result
        date = DATE.search(clause)
        if date:
            values["date"] = date.group(0)
        found.append(("tb_screening", match.start(), match.end(), values))
    return found
