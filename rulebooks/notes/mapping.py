"""Which findings belong to which service: by site and laterality, else encounter-wide.

The rule, as a coder applies it:

1. A finding's *anchor* is the site mentioned in its sentence nearest to it; a sentence
   without a site inherits the anchor of the sentence before it on the same line
   ("Papule on the left cheek. It bleeds."), looking back at most ``LOOK_BACK_SENTENCES``.
2. An anchored finding applies to the services whose site matches the anchor: a shared site
   word ("upper back" ~ "back", "nasal tip" ~ "nose") or a region and a part of it ("face" ~
   "cheek", never "cheek" ~ "temple"), and no conflicting laterality.
3. An anchored finding whose site no service names applies to no service: it describes a
   lesion that is not being billed, and must not justify one that is.
4. A finding with no site anchor (or when no service states a site) but with lesion words in
   its sentence ("the SK bleeds") applies to the services whose diagnoses name that lesion
   (scope "lesion"), and to none if no service does.
5. Any other finding applies to every service of the encounter (scope "encounter"). A service
   without a site gets only these and the lesion-anchored ones.

A wrong match fails safe: a symptom that is not matched leaves the service borderline and
asks the provider, rather than billing a cosmetic removal as medical.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from rulebooks.models.encounter import Encounter, Service
from rulebooks.notes.findings import Finding, Findings
from rulebooks.notes.pipeline import sentence_index, sentence_starts
from rulebooks.notes.sites import laterality_of, site_words

_SYNONYMS = {"nasal": "nose", "helix": "ear", "earlobe": "ear", "lobe": "ear", "concha": "ear", "conchal": "ear",
             "tragus": "ear", "antihelix": "ear", "lid": "eyelid", "axillary": "axilla",
             "malar": "cheek", "buccal": "cheek", "brow": "eyebrow", "armpit": "axilla", "sole": "foot",
             "plantar": "foot", "palmar": "palm", "vertex": "scalp", "torso": "trunk"}  # fmt: skip
#: A broad site names every part inside it: a service on the "face" takes a symptom of the "cheek",
#: and a symptom of the "face" applies to a service on the "cheek"; two parts of one region never match.
_REGIONS = {
    **dict.fromkeys(("cheek", "forehead", "temple", "nose", "chin", "lip", "eyelid", "eyebrow", "jaw", "jawline",
                     "canthus", "ala", "sidewall", "ear"), "face"),
    **dict.fromkeys(("chest", "back", "abdomen", "flank", "breast", "sternum", "umbilicus", "shoulder"), "trunk"),
    **dict.fromkeys(("forearm", "elbow", "wrist"), "arm"),
    **dict.fromkeys(("thigh", "knee", "shin", "calf", "ankle"), "leg"),
    **dict.fromkeys(("finger", "thumb", "palm", "knuckle", "fingernail"), "hand"),
    **dict.fromkeys(("toe", "heel", "sole", "toenail"), "foot"),
}  # fmt: skip
_QUALIFIERS = frozenset(
    {"upper", "lower", "mid", "middle", "medial", "lateral", "dorsal", "ventral", "volar", "anterior", "posterior",
     "superior", "inferior", "proximal", "distal", "central", "inner", "outer", "preauricular", "postauricular",
     "index", "ring", "little", "great", "big", "tip", "margin"}
)  # fmt: skip


@dataclass(frozen=True)
class AppliedFinding:
    """A finding as it applies to one service, and why: ``scope`` is "site", "lesion" or "encounter"."""

    finding: Finding
    scope: str


def _head_words(site: str) -> frozenset[str]:
    words = {_SYNONYMS.get(word, word) for word in site_words(site)}
    return frozenset(words - _QUALIFIERS) or frozenset(words)


def site_matches(service: Service, anchor: Finding) -> bool:
    """True when the service's site and the note's site name the same place on the same side."""
    if not service.site:
        return False
    service_side = service.laterality or laterality_of(service.site)
    anchor_side = anchor.values.get("laterality")
    if service_side and anchor_side and service_side != anchor_side and "bilateral" not in {service_side, anchor_side}:
        return False
    service_heads = _head_words(service.site)
    anchor_heads = _head_words(anchor.values.get("site") or anchor.text)
    if service_heads & anchor_heads:
        return True
    return bool({_REGIONS.get(w) for w in anchor_heads} & service_heads or {_REGIONS.get(w) for w in service_heads}
                & anchor_heads)  # fmt: skip


#: Lesion words and the diagnosis codes they name, for findings with no site ("the SK bleeds").
_LESION_TYPES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), prefixes)
    for pattern, prefixes in (
        (r"\b(?:I?SKs?|seb(?:orrheic)?\.?\s*(?:k|keratos[ie]s)\b|seb\s+ks?)\b", ("L82",)),
        (r"\b(?:ne[vu]i|nevus|moles?)\b", ("D22", "D23", "D48.5", "D49.2")),
        (r"\b(?:skin\s+tags?|tags?|acrochordons?|papillomas?)\b", ("L91.8",)),
        (r"\b(?:warts?|verrucae?|condylomas?)\b", ("B07", "A63.0")),
        (r"\bmolluscum\b", ("B08.1",)),
        (r"\bcysts?\b", ("L72",)),
        (r"\b(?:AKs?|actinic\s+keratos[ie]s)\b", ("L57.0",)),
        (r"\blipomas?\b", ("D17",)),
        (r"\bkeloids?\b", ("L91.0",)),
        (r"\b(?:hem)?angiomas?\b", ("D18.0",)),
    )
)


@dataclass(frozen=True)
class Anchor:
    """Where a finding belongs: the nearest site mention, and the lesion words of its sentence."""

    site: Finding | None
    lesion_prefixes: tuple[str, ...] = ()


#: How many sentences back (on the same line) a finding looks for its site or lesion words.
LOOK_BACK_SENTENCES = 3


def _anchors(findings: Findings) -> dict[int, Anchor]:
    """The anchor of every non-site finding, by index into ``findings.items``."""
    text = findings.text
    starts = sentence_starts(text)
    bounds = [*starts, len(text) + 1]
    sites_by_sentence: dict[int, list[Finding]] = {}
    for finding in findings.items:
        if finding.label == "site":
            sites_by_sentence.setdefault(sentence_index(starts, finding.start), []).append(finding)
    site_starts = {sentence: [site.start for site in sites] for sentence, sites in sites_by_sentence.items()}
    lesion_cache: dict[int, tuple[str, ...]] = {}
    new_line_cache: dict[int, bool] = {}

    def lesion_prefixes(sentence: int) -> tuple[str, ...]:
        if sentence not in lesion_cache:
            words = text[bounds[sentence] : bounds[sentence + 1]]
            lesion_cache[sentence] = tuple(
                p for pattern, group in _LESION_TYPES if pattern.search(words) for p in group
            )
        return lesion_cache[sentence]

    def ends_a_line(sentence: int) -> bool:
        if sentence not in new_line_cache:
            new_line_cache[sentence] = "\n" in text[bounds[sentence] : bounds[sentence + 1]].rstrip(" \t")
        return new_line_cache[sentence]

    anchors: dict[int, Anchor] = {}
    for index, finding in enumerate(findings.items):
        if finding.label == "site":
            continue
        current = sentence_index(starts, finding.start)
        nearby = [current]
        while len(nearby) < LOOK_BACK_SENTENCES and nearby[-1] > 0:
            previous = nearby[-1] - 1
            if ends_a_line(previous):
                break  # a new line starts a new entry: never inherit across it
            nearby.append(previous)
        site = next(
            (
                nearest_site(sites_by_sentence[sentence], site_starts[sentence], finding.start)
                for sentence in nearby
                if sentence in sites_by_sentence
            ),
            None,
        )
        prefixes = next((found for sentence in nearby if (found := lesion_prefixes(sentence))), ())
        anchors[index] = Anchor(site, prefixes)
    return anchors


def nearest_site(sites: list[Finding], starts: list[int], offset: int) -> Finding:
    """The site whose start is nearest ``offset`` (the earlier on a tie), by bisection.

    ``sites`` are in order of position (a Findings is), so the nearest start is one of the two
    around ``offset``; of sites starting at one place the first in the list is taken, as ``min`` does.
    """
    after = bisect_left(starts, offset)
    if after == 0:
        return sites[0]
    before = bisect_left(starts, starts[after - 1])
    if after == len(sites) or offset - starts[before] <= starts[after] - offset:
        return sites[before]
    return sites[after]


def _lesion_matches(service: Service, encounter: Encounter, prefixes: tuple[str, ...]) -> bool:
    diagnoses = service.diagnoses or encounter.diagnoses
    return any(code.upper().startswith(prefixes) for code in diagnoses)


def findings_by_service(encounter: Encounter, findings: Findings) -> dict[str, tuple[AppliedFinding, ...]]:
    """The findings that apply to each service, by the rule in this module's docstring."""
    applied: dict[str, list[AppliedFinding]] = {service.id: [] for service in encounter.services}
    any_site = any(service.site for service in encounter.services)
    anchors = _anchors(findings)
    for index, finding in enumerate(findings.items):
        if finding.label == "site":
            continue
        anchor = anchors[index]
        if anchor.site is not None and any_site:
            targets = [(service, "site") for service in encounter.services if site_matches(service, anchor.site)]
        elif anchor.lesion_prefixes:
            targets = [
                (s, "lesion") for s in encounter.services if _lesion_matches(s, encounter, anchor.lesion_prefixes)
            ]
        else:
            targets = [(service, "encounter") for service in encounter.services]
        for service, scope in targets:
            applied[service.id].append(AppliedFinding(finding, scope))
    return {service_id: tuple(items) for service_id, items in applied.items()}
