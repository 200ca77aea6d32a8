"""What a diagnosis code says about the need for a removal: malignant, uncertain, benign...

Code ranges follow derm-coding.md section 14. Malignant and in-situ neoplasms, neoplasms of
uncertain or unspecified behaviour and actinic keratoses are medical by their code; benign
lesions (seborrheic keratoses, skin tags, nevi, cysts...) need a documented indication;
Z41.1 is a cosmetic encounter by definition.
"""

from __future__ import annotations

#: (code prefix, category, what a provider query calls the lesion); the longest prefix wins.
DIAGNOSIS_TABLE: tuple[tuple[str, str, str], ...] = (
    ("C43", "malignant", "melanoma"),
    ("C4A", "malignant", "Merkel cell carcinoma"),
    ("C44", "malignant", "skin cancer"),
    ("D03", "malignant", "melanoma in situ"),
    ("D04", "malignant", "carcinoma in situ"),
    ("D48.5", "uncertain", "neoplasm of uncertain behaviour"),
    ("D49.2", "uncertain", "neoplasm of unspecified behaviour"),
    ("L57.0", "premalignant", "actinic keratosis"),
    ("B07", "infectious", "wart"),
    ("A63.0", "infectious", "anogenital wart"),
    ("B08.1", "infectious", "molluscum contagiosum lesion"),
    ("L82.0", "benign", "inflamed seborrheic keratosis"),
    ("L82.1", "benign", "seborrheic keratosis"),
    ("L82", "benign", "seborrheic keratosis"),
    ("L91.8", "benign", "skin tag"),
    ("L91.0", "benign", "keloid"),
    ("D22", "benign", "nevus"),
    ("D23", "benign", "benign skin lesion"),
    ("D18.0", "benign", "hemangioma"),
    ("D17", "benign", "lipoma"),
    ("L72", "benign", "cyst"),
    ("L81", "benign", "pigmented lesion"),
    ("Q82.5", "benign", "port-wine stain"),
    ("L98.8", "benign", "benign skin lesion"),
    ("Z41.1", "cosmetic", "cosmetic concern"),
    ("Z41.8", "cosmetic", "cosmetic concern"),
)
_SORTED = sorted(DIAGNOSIS_TABLE, key=lambda row: -len(row[0]))
MEDICAL_BY_CODE = frozenset({"malignant", "uncertain", "premalignant"})


def diagnosis_category(code: str) -> tuple[str, str]:
    """(category, lesion words) of an ICD-10-CM code; ("other", "") when not a skin-lesion code.

    >>> diagnosis_category("C44.311")
    ('malignant', 'skin cancer')
    >>> diagnosis_category("L82.1")
    ('benign', 'seborrheic keratosis')
    >>> diagnosis_category("L40.0")
    ('other', '')
    """
    code = code.upper().strip()
    for prefix, category, words in _SORTED:
        if code.startswith(prefix):
            return category, words
    return "other", ""
