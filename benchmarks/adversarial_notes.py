"""Adversarial notes for the scaling benchmark: dense in exactly what note analysis works hardest on.

Why these shapes: a real note is mostly boilerplate, so a cost that grows with the number of
measurements, drug mentions or negations before a point (a rescan of the text so far, a window
search around each mention, a comparison of every finding with every other) hides in real notes
and shows here. Each kind repeats seeded variations of its phrases until the note has the
requested length. ``run_on`` kinds have no sentence break at all (only commas), the worst case
for anything whose cost grows with the sentence; the others break into short sentences as
notes do. Deterministic: the same kind, length and seed give the same note.
"""

from __future__ import annotations

import random
from collections.abc import Callable

MEASUREMENT_PHRASES = (
    "{a} x {b} cm",
    "lesion measuring {a} x {b} x {c} cm",
    "{m} mm papule",
    "excised with {m} mm margins",
    "margins of {m} mm",
    "repaired with a layered closure of {a} cm",
    "PPD {m} mm",
    "{a} by {b} mm plaque",
    "defect {a} x {b} cm",
)
DRUGS = (
    "methotrexate", "cyclosporine", "dupilumab", "clobetasol", "tacrolimus", "NB-UVB", "apremilast", "adalimumab",
    "topical steroids", "doxycycline", "ruxolitinib cream", "high-potency TCS", "upadacitinib", "secukinumab",
)  # fmt: skip
DRUG_OUTCOMES = (
    "failed", "inadequate response", "intolerant", "stopped due to side effects", "x 3 months", "for 12 weeks",
    "in 2023", "03/2024", "without improvement", "good response",
)  # fmt: skip
NEGATIONS = (
    "no bleeding", "no pruritus", "denies pain", "no itching", "not tender", "no erythema", "negative for ulceration",
    "without swelling", "denies irritation", "no change in size", "non-tender", "asymptomatic", "no recent growth",
    "Bleeding: none", "itching - no",
)  # fmt: skip
MIXED_EXTRAS = (
    "SK on the left cheek", "irritated by bra strap", "r/o melanoma", "BSA 12%", "PASI 14", "QuantiFERON negative",
    "Mohs 2 stages", "x3 AKs", "#6", "patient requests removal for cosmetic reasons", "mother had melanoma",
    "if it bleeds call", "history of BCC", "rapidly growing", "catches on clothing",
)  # fmt: skip


def _measurement(rng: random.Random) -> str:
    return rng.choice(MEASUREMENT_PHRASES).format(
        a=f"{rng.randint(0, 9)}.{rng.randint(0, 9)}", b=f"{rng.randint(0, 9)}.{rng.randint(0, 9)}",
        c=f"{rng.randint(0, 3)}.{rng.randint(1, 9)}", m=rng.randint(1, 12),
    )  # fmt: skip


def _drug_list(rng: random.Random) -> str:
    drugs = rng.sample(DRUGS, rng.randint(3, 6))
    joint = rng.choice((", ", ", ", " then "))  # "then" starts a clause of its own for the response
    return "tried " + joint.join(
        f"{drug} {rng.choice(DRUG_OUTCOMES)}" if rng.random() < 0.5 else drug for drug in drugs
    )


def _negation(rng: random.Random) -> str:
    return rng.choice(NEGATIONS)


def _mixed(rng: random.Random) -> str:
    return rng.choice((_measurement, _drug_list, _negation, lambda r: r.choice(MIXED_EXTRAS)))(rng)


PHRASES: dict[str, Callable[[random.Random], str]] = {
    "measurements": _measurement,
    "drugs": _drug_list,
    "negations": _negation,
    "mixed": _mixed,
}
#: Every kind the benchmark and the tests run: each phrase maker in sentences, and run on.
KINDS = (*PHRASES, *(f"{kind}_run_on" for kind in PHRASES))


def adversarial_note(kind: str, length: int, seed: int = 7) -> str:
    """A note of exactly ``length`` characters made of ``kind``'s phrases ("mixed_run_on": no sentence breaks).

    >>> adversarial_note("negations", 60, seed=1) == adversarial_note("negations", 60, seed=1)
    True
    >>> len(adversarial_note("drugs_run_on", 500))
    500
    """
    run_on = kind.endswith("_run_on")
    make = PHRASES[kind.removesuffix("_run_on")]
    rng = random.Random(f"{kind}:{seed}")
    parts: list[str] = []
    size = 0
    while size < length:
        if run_on:
            part = make(rng) + ", "
        else:
            part = ", ".join(make(rng) for _ in range(rng.randint(1, 4))).capitalize() + rng.choice((". ", "; ", ".\n"))
        parts.append(part)
        size += len(part)
    return "".join(parts)[:length]
