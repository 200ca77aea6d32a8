"""Anatomic sites and laterality as written in derm notes ("L upper eyelid", "rt lateral ankle").

Sites serve two purposes: they are findings the UI shows, and they anchor symptoms to the
service on the same lesion (mapping.py). Orifices ("nostril", "ear canal") are left to the
obstruction terms, and "back" after a verb of returning ("came back") is not a site.
"""

from __future__ import annotations

import re

from rulebooks.notes.fastscan import with_first_character_hint

LATERALITY_WORDS = {
    "left": "left",
    "l": "left",
    "lt": "left",
    "right": "right",
    "r": "right",
    "rt": "right",
    "bilateral": "bilateral",
    "bilat": "bilateral",
    "both": "bilateral",
}
_LATERALITY = r"(?:left|right|bilateral|bilat|both|lt|rt|l|r)\b\.?"
_MODIFIER = (
    r"(?:upper|lower|mid|middle|medial|lateral|dorsal|ventral|volar|anterior|posterior|superior|inferior|proximal|distal"
    r"|central|inner|outer|preauricular|postauricular|infraorbital|periorbital|perioral|paranasal|nasal|frontal|parietal"
    r"|occipital|temporal|plantar|palmar|index|ring|middle|little|great|big|pinky)"
)
_SITE = (
    r"(?:scalp(?:\s+vertex)?|vertex|forehead|temples?|eyebrows?|brows?|eyelids?(?:\s+margin)?|lids?(?:\s+margin)?|canthus"
    r"|cheeks?|nose|ala|tip|sidewall|bridge|dorsum|septum|ears?(?:\s+helix)?|earlobes?|helix|antihelix|tragus|conchal?"
    r"|lips?|vermilion|chin|jaw(?:line)?|mandible|face|neck|nape|chest|breasts?|inframammary\s+folds?|sternum|abdomen"
    r"|umbilicus|flanks?|back|shoulders?|arms?|forearms?|elbows?|wrists?|hands?|palms?|fingers?|thumbs?|knuckles?"
    r"|fingernails?|toenails?|nails?|axillae|axilla|armpits?|groin|inguinal\s+folds?|buttocks?|gluteal\s+cleft|thighs?"
    r"|knees?|legs?|shins?|calf|calves|ankles?|heels?|foot|feet|soles?|toes?|trunk|torso|clavicle|collarbone|hips?"
    r"|waist|vulva|scrotum|perianal\s+skin)"
)
#: Words that are sites only after a nasal/eyelid-like modifier ("nasal tip", never "tip" alone).
_NEEDS_MODIFIER = frozenset({"tip", "ala", "sidewall", "bridge", "dorsum", "septum", "canthus"})
_NOT_BACK_BEFORE = re.compile(
    r"\b(?:came|come|comes|coming|grew|grown|went|go|goes|call|called|get|got|bring|brought|sent|push\w*|fall\w*|fell"
    r"|lay\w*|lie|lying|step\w*|scale|cut|hold|held|write|wrote|report\w*|check\w*|circle\w*|follow\w*)\s+$",
    re.IGNORECASE,
)

SITE_PATTERN = with_first_character_hint(
    re.compile(
        rf"\b(?:(?P<lat1>{_LATERALITY})\s+)?(?:(?:{_MODIFIER})\s+){{0,2}}(?:(?P<lat2>{_LATERALITY})\s+)?"
        rf"(?:(?:{_MODIFIER})\s+){{0,2}}(?P<site>{_SITE})\b",
        re.IGNORECASE,
    )
)


def find_sites(text: str) -> list[tuple[int, int, dict[str, str | None]]]:
    """Every anatomic site mention: ``(start, end, {"site": ..., "laterality": ...})``."""
    found = []
    for match in SITE_PATTERN.finditer(text):
        site_word = match.group("site").lower()
        start, end = match.span()
        if site_word == "back" and _NOT_BACK_BEFORE.search(text[max(0, start - 20) : start]):
            continue
        if site_word == "back" and re.match(
            r"\s+(?:to|in|into|on\s+(?:it|them))\b", text[end : end + 12], re.IGNORECASE
        ):
            continue
        if site_word in _NEEDS_MODIFIER and match.start("site") == start:
            continue
        lat = match.group("lat1") or match.group("lat2")
        lone_letter = lat is not None and lat.rstrip(".").lower() in {"l", "r"} and match.group("lat1")
        if lone_letter and start > 0 and text[start - 1].isalnum():
            continue  # a lone L/R must be a word of its own ("L forearm"), not the end of a longer token
        laterality = LATERALITY_WORDS.get(lat.rstrip(".").lower()) if lat else None
        # drop a leading "left"/"right" that was really a word of the sentence ("the right to")
        found.append((start, end, {"site": normalise_site(match.group(0)), "laterality": laterality}))
    return found


_LATERALITY_TOKEN = re.compile(rf"^{_LATERALITY}$", re.IGNORECASE)


def normalise_site(text: str) -> str:
    """The site words without laterality, lower-case ("L Upper Eyelid" -> "upper eyelid").

    >>> normalise_site("rt lateral ankle")
    'lateral ankle'
    """
    words = [word for word in text.lower().split() if not _LATERALITY_TOKEN.match(word)]
    return " ".join(words)


_PLURALS = {"axillae": "axilla", "calves": "calf", "feet": "foot", "nares": "naris"}


def site_words(text: str) -> frozenset[str]:
    """Singular content words of a site, for matching a note's site with a service's site.

    >>> sorted(site_words("Left upper cheeks"))
    ['cheek', 'upper']
    """
    words = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        if _LATERALITY_TOKEN.match(word) or word in {"the", "of", "on", "and", "area", "region", "skin"}:
            continue
        word = _PLURALS.get(word, word)
        if word.endswith("s") and not word.endswith(("ss", "us")) and len(word) > 3:
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def laterality_of(text: str | None) -> str | None:
    """The laterality named in a free-text site ("left cheek" -> left), or None."""
    if not text:
        return None
    for word in text.lower().replace(".", " ").split():
        if word in LATERALITY_WORDS:
            return LATERALITY_WORDS[word]
    return None
