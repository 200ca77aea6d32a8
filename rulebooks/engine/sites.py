"""Anatomic site text -> the site groups each code family uses (derm-coding.md 2.1, 4.1, 5.2, 6, 7.2).

Why one module: the families group the body differently (an excision puts the neck with the
scalp, an intermediate repair puts it with the hands, a complex repair with the cheeks), so the
site text is first reduced to one anatomic region and each family maps regions to its own
groups. Text that names no known region, or two different regions, gives None: the caller
raises a provider query rather than guessing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rulebooks.models import Service

# phrase -> region; longer phrases are matched first ("back of hand" before "back").
REGION_PHRASES: dict[str, str] = {
    "scalp": "scalp",
    "vertex": "scalp",
    "occiput": "scalp",
    "occipital scalp": "scalp",
    "crown": "scalp",
    "forehead": "forehead",
    "cheek": "cheek",
    "malar": "cheek",
    "chin": "chin",
    "mouth": "mouth",
    "perioral": "mouth",
    "lip": "lip",
    "vermilion": "lip",
    "vermilion border": "lip",
    "nose": "nose",
    "nasal": "nose",
    "nasal tip": "nose",
    "nasal dorsum": "nose",
    "ala": "nose",
    "alar": "nose",
    "nasal ala": "nose",
    "nostril": "nose",
    "columella": "nose",
    "side of nose": "nose",
    "ear": "ear",
    "helix": "ear",
    "helical rim": "ear",
    "antihelix": "ear",
    "earlobe": "ear",
    "ear lobe": "ear",
    "auricle": "ear",
    "concha": "ear",
    "tragus": "ear",
    "eyelid": "eyelid",
    "lid": "eyelid",
    "canthus": "eyelid",
    "face": "face",
    "temple": "face",
    "jaw": "face",
    "jawline": "face",
    "eyebrow": "face",
    "glabella": "face",
    "preauricular": "face",
    "neck": "neck",
    "back of neck": "neck",
    "nape": "neck",
    "axilla": "axilla",
    "axillae": "axilla",
    "armpit": "axilla",
    "underarm": "axilla",
    "trunk": "trunk",
    "chest": "trunk",
    "chest wall": "trunk",
    "back": "trunk",
    "upper back": "trunk",
    "lower back": "trunk",
    "abdomen": "trunk",
    "abdominal wall": "trunk",
    "breast": "trunk",
    "flank": "trunk",
    "buttock": "trunk",
    "sacrum": "trunk",
    "torso": "trunk",
    "scapula": "trunk",
    "scapular": "trunk",
    "arm": "arm",
    "upper arm": "arm",
    "forearm": "arm",
    "elbow": "arm",
    "wrist": "arm",
    "antecubital": "arm",
    "hand": "hand",
    "back of hand": "hand",
    "dorsal hand": "hand",
    "finger": "hand",
    "thumb": "hand",
    "palm": "hand",
    "knuckle": "hand",
    "fingertip": "hand",
    "leg": "leg",
    "lower leg": "leg",
    "thigh": "leg",
    "knee": "leg",
    "shin": "leg",
    "calf": "leg",
    "ankle": "leg",
    "pretibial": "leg",
    "popliteal": "leg",
    "foot": "foot",
    "feet": "foot",
    "toe": "foot",
    "sole": "foot",
    "heel": "foot",
    "plantar": "foot",
    "instep": "foot",
    "genitalia": "genitalia",
    "penis": "genitalia",
    "scrotum": "genitalia",
    "vulva": "genitalia",
    "labia": "genitalia",
    "labium": "genitalia",
    "mucosa": "mucous_membrane",
    "mucous membrane": "mucous_membrane",
    "oral mucosa": "mucous_membrane",
    "buccal mucosa": "mucous_membrane",
}
FACE_REGIONS = frozenset({"face", "forehead", "cheek", "chin", "mouth", "lip", "nose", "ear", "eyelid"})

# Excision, shave and malignant destruction (4.1, 2.1, 3.4): the Service.site_group values.
LESION_GROUPS: dict[str, str] = {
    **{region: "face_ears_eyelids_nose_lips" for region in FACE_REGIONS | {"mucous_membrane"}},
    **{region: "scalp_neck_hands_feet_genitalia" for region in ("scalp", "neck", "hand", "foot", "genitalia")},
    **{region: "trunk_arms_legs" for region in ("trunk", "arm", "leg")},
}
# Repairs (5.2): the groups differ by classification.
REPAIR_GROUPS: dict[str, dict[str, str]] = {
    "simple": {
        **{
            r: "scalp_neck_axillae_genitalia_trunk_extremities"
            for r in ("scalp", "neck", "axilla", "genitalia", "trunk", "arm", "leg", "hand", "foot")
        },
        **{r: "face_ears_eyelids_nose_lips_mucous" for r in FACE_REGIONS | {"mucous_membrane"}},
    },
    "intermediate": {
        **{r: "scalp_axillae_trunk_extremities" for r in ("scalp", "axilla", "trunk", "arm", "leg")},
        **{r: "neck_hands_feet_genitalia" for r in ("neck", "hand", "foot", "genitalia")},
        **{r: "face_ears_eyelids_nose_lips_mucous" for r in FACE_REGIONS | {"mucous_membrane"}},
    },
    "complex": {
        "trunk": "trunk",
        **{r: "scalp_arms_legs" for r in ("scalp", "arm", "leg")},
        **{
            r: "forehead_cheeks_chin_mouth_neck_axillae_genitalia_hands_feet"
            for r in ("forehead", "cheek", "chin", "mouth", "neck", "axilla", "genitalia", "hand", "foot")
        },
        **{r: "eyelids_nose_ears_lips" for r in ("eyelid", "nose", "ear", "lip")},
    },
}
# Adjacent tissue transfer (6.1) and full-thickness grafts (6.2) share the complex-repair split.
ATT_GROUPS: dict[str, str] = REPAIR_GROUPS["complex"]
FTSG_GROUPS: dict[str, str] = REPAIR_GROUPS["complex"]
STSG_GROUPS: dict[str, str] = {
    **{r: "trunk_arms_legs" for r in ("trunk", "arm", "leg")},
    **{
        r: "face_scalp_eyelids_mouth_neck_ears_genitalia_hands_feet"
        for r in FACE_REGIONS | {"scalp", "neck", "genitalia", "hand", "foot"}
    },
}
# Mohs (7.2): deep structures override the site.
MOHS_GROUPS: dict[str, str] = {
    **{
        r: "head_neck_hands_feet_genitalia"
        for r in FACE_REGIONS | {"mucous_membrane", "scalp", "neck", "hand", "foot", "genitalia"}
    },
    **{r: "trunk_arms_legs" for r in ("trunk", "arm", "leg")},
}
# The regions behind each lesion group, to use a documented site_group when the text is absent.
REGIONS_OF_LESION_GROUP: dict[str, frozenset[str]] = {
    group: frozenset(r for r, g in LESION_GROUPS.items() if g == group) for group in set(LESION_GROUPS.values())
}


class PhraseTable:
    """Words a site is written with, each naming one value (a region, a code area): what one site
    text names, if exactly one value. Shared by the regions below and the families that read a
    site their own way (hidradenitis areas)."""

    def __init__(self, phrases: dict[str, str]) -> None:
        self.phrases = phrases
        longest_first = sorted(phrases, key=len, reverse=True)
        self.pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in longest_first) + r")(?:s|es)?\b")
        self.named = lru_cache(maxsize=4096)(self._named)

    def _named(self, site: str | None) -> str | None:
        if not site:
            return None
        found = {self.phrases[match.group(1)] for match in self.pattern.finditer(site.lower())}
        return found.pop() if len(found) == 1 else None


REGIONS = PhraseTable(REGION_PHRASES)


def anatomic_region(site: str | None) -> str | None:
    """The one region the site text names, else None (unknown or more than one region).

    >>> anatomic_region("Left nasal ala"), anatomic_region("R dorsal hand"), anatomic_region("nose and cheek")
    ('nose', 'hand', None)
    """
    return REGIONS.named(site)


def family_group(service: Service, table: dict[str, str]) -> str | None:
    """The service's group in `table`: from its site text, else from a documented site_group
    when every region of that group falls in the same group of `table`."""
    region = anatomic_region(service.site)
    if region is not None:
        return table.get(region)
    if service.site is not None and service.site_group is None:
        return None
    if service.site_group is None:
        return None
    targets = {table.get(region) for region in REGIONS_OF_LESION_GROUP[service.site_group]}
    return targets.pop() if len(targets) == 1 else None


def lesion_site_group(service: Service) -> str | None:
    """Excision/shave/destruction group: a documented site_group wins, else derived from the text."""
    if service.site_group is not None:
        return service.site_group
    region = anatomic_region(service.site)
    return LESION_GROUPS.get(region) if region else None


def unknown_site_query(service: Service, family: str) -> str:
    where = f"'{service.site}'" if service.site else "no site"
    return (
        f"Document the anatomic site of the {family} precisely ({where} does not place it in one {family} site group)."
    )
