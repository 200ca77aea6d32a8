"""Generated dermatology visit notes of 1,100 to 2,000 characters, for the throughput figure.

Why generated: the corpus holds fragments (about 50 characters, nearly every one a finding),
while a signed note is mostly boilerplate a coder skims past (history, medications, exam
template, consent and wound-care text) with a few sentences that matter. Each note here has
that shape: the usual sections in the usual order, with three to six corpus fragments (the
findings, negations and quantities) placed in the history, exam and plan.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

COMPLAINTS = (
    "spot on back",
    "lesions on scalp",
    "growth on nose",
    "rash on arms",
    "mole check",
    "skin tags on neck",
    "annual skin exam",
    "follow-up of biopsy site",
)
HISTORY = (
    "Patient is a {age} year old {sex} who presents for evaluation.",
    "Referred by primary care for a lesion noted at annual physical.",
    "Lesion first noticed several months ago by spouse.",
    "Has used an over-the-counter moisturizer without change.",
    "Last full skin exam was two years ago at an outside practice.",
    "Works outdoors as a landscaper with significant lifetime sun exposure.",
    "Reports a history of blistering sunburns as a child.",
    "No prior skin biopsies.",
)
BACKGROUND = (
    "PMH: hypertension, hyperlipidemia, type 2 diabetes, GERD.",
    "PSH: appendectomy, right knee arthroscopy.",
    "Meds: lisinopril 10 mg daily, atorvastatin 20 mg nightly, metformin 500 mg twice daily.",
    "Allergies: NKDA.",
    "Social: former smoker, quit 15 years ago; drinks socially.",
    "ROS: Constitutional: negative for fevers, chills, weight loss. Skin: see HPI. All other systems reviewed.",
)
EXAM = (
    "Exam: Well-appearing, alert and oriented, in no acute distress.",
    "A full skin exam was performed of the scalp, face, neck, chest, abdomen, back, upper and lower extremities.",
    "Fitzpatrick skin type II.",
    "Scattered lentigines and cherry angiomas on the trunk.",
    "Several stuck-on tan papules on the back consistent with seborrheic keratoses.",
    "Mild background photodamage of the face and dorsal hands.",
)
PLAN = (
    "Risks, benefits and alternatives were discussed and the patient gave verbal and written consent.",
    "The area was cleansed with alcohol and anesthetized with 1% lidocaine with epinephrine.",
    "Hemostasis was achieved with aluminum chloride and a pressure dressing was applied.",
    "Wound care instructions were given verbally and in writing.",
    "Specimen sent to dermatopathology; will call patient with results.",
    "Counseled on sun protection, broad-spectrum sunscreen SPF 30 or higher, and protective clothing.",
    "Return to clinic in 6 months for a full skin exam, sooner as needed.",
)
DIAGNOSES = (
    "Seborrheic keratosis",
    "Actinic keratosis",
    "Neoplasm of uncertain behavior",
    "Acrochordon",
    "Verruca vulgaris",
    "Basal cell carcinoma",
)


def realistic_note(rng: random.Random, fragments: Sequence[str], min_chars: int = 1100, max_chars: int = 2000) -> str:
    """One note with the usual sections, a few fragments placed where a provider writes them."""
    chosen = rng.sample(list(fragments), rng.randint(3, 6))
    history = [
        HISTORY[0].format(age=rng.randint(25, 90), sex=rng.choice(("man", "woman"))),
        *rng.sample(HISTORY[1:], 3),
        *chosen[:2],
    ]
    exam = [*EXAM[:2], *rng.sample(EXAM[2:], 2), *chosen[2:4]]
    plan = [
        f"1. {rng.choice(DIAGNOSES)}: {chosen[4] if len(chosen) > 4 else 'discussed options.'}",
        f"2. {rng.choice(DIAGNOSES)}: {chosen[5] if len(chosen) > 5 else 'monitor.'}",
        *rng.sample(PLAN, 4),
    ]
    sections = [
        f"CC: {rng.choice(COMPLAINTS)}.",
        "HPI: " + " ".join(history),
        *BACKGROUND,
        " ".join(exam),
        "Assessment and plan:",
        *plan,
    ]
    note = "\n".join(sections)
    spare = [sentence for sentence in PLAN + EXAM if sentence not in note]
    while len(note) < min_chars and spare:
        note += "\n" + spare.pop(rng.randrange(len(spare)))
    return note[:max_chars]


def realistic_notes(count: int, fragments: Sequence[str], seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [realistic_note(rng, fragments) for _ in range(count)]
