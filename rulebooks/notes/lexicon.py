"""Derm lexicons: the words and phrases that name each finding, as regular expressions.

Written the way a coder reads a note: word families (``itch``, ``itchy``, ``itches``), the
common misspellings seen in derm charts (``pruritis``, ``inflammed``, ``bleds``), and the
phrases payers quote ("catches on clothing", "obstructs vision"). Terms are grouped by
label so a reviewer can check one concept at a time; ``values`` say what a term means
beyond its label (the ABCDE letter, the kind of cosmetic reason, the kind of obstruction).
Terms prefixed ``non-``/``un-`` carry their own negation because ConText never lets a
finding modify itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rulebooks.notes.fastscan import with_first_character_hint

FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class Term:
    """One pattern for one label; ``negated`` when the wording itself denies it ("non-tender")."""

    label: str
    pattern: re.Pattern[str]
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    negated: bool = False


def _term(label: str, pattern: str, negated: bool = False, **values: Any) -> Term:
    return Term(label, with_first_character_hint(re.compile(pattern, FLAGS)), values, negated)


#: What rubs, catches or cuts a lesion: the "with what" of irritation, by kind.
IRRITANT_KINDS: dict[str, str] = {
    "clothing": r"cloth\w*|bra(?:\s+(?:strap|line|band))?s?|brassiere|straps?|waist\s?bands?|waist\s?line"
    r"|belt(?:\s?line)?s?"
    r"|collars?|shirts?|pants|underwear|socks?|shoes?|boots?|hats?|helmets?|purses?|bags?|backpacks?"
    r"|seat\s?belts?|masks?|garments?|sleeves?",
    "jewelry": r"jewel\w*|necklaces?|earrings?|rings?|bracelets?|watch(?:\s?bands?|\s?straps?)?|chains?",
    "shaving": r"shav\w*|razors?",
    "eyewear": r"(?:eye)?glasses|spectacles|goggles",
    "friction": r"friction|skin\s+folds?",
}
IRRITANT = "(?:" + "|".join(IRRITANT_KINDS.values()) + ")"
_IRRITANT_KIND_PATTERNS = [(kind, re.compile(rf"\b(?:{words})\b", FLAGS)) for kind, words in IRRITANT_KINDS.items()]


def irritant_kind(text: str) -> str | None:
    """The kind of irritant named in ``text`` ("bra strap" -> clothing), or None."""
    for kind, pattern in _IRRITANT_KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return None


MALIGNANCY = (
    r"(?:melanoma(?:\s+in\s+situ)?|MIS|BCC|SCC(?:IS)?|basal\s+cell(?:\s+carcinoma|\s+ca)?|squamous\s+cell(?:\s+carcinoma|\s+ca)?"
    r"|carcinoma|malignan\w*|(?:skin\s+)?cancer|keratoacanthoma|KA|lentigo\s+maligna|dysplastic\s+ne\w+|neoplasm"
    r"|merkel\s+cell\w*|atypical\s+\w+|skin\s+ca)"
)
#: "KA vs SCC": a differential of two malignancies is one suspicion.
_OR_ANOTHER = rf"(?:\s+(?:vs\.?|versus|or)\s+{MALIGNANCY})?"
_WORDS = r"(?:[\w'-]+\s+)"  # one word and its trailing space, for "up to N words" gaps

TERMS: tuple[Term, ...] = (
    # bleeding
    _term("bleeding", r"\b(?:non-?bleeding)\b", negated=True),
    _term("bleeding", r"\b(?:bleed(?:s|ing)?|bled|bleds|bleding|hemorrhag\w*|haemorrhag\w*|bloody|friab\w+)\b"),
    _term("bleeding", r"\b(?:ooz\w+|weep\w+)\s+(?:of\s+)?blood\b"),
    # pain and tenderness ("burning" and "stinging" are symptoms payers list beside pain)
    _term("pain", r"\b(?:non-?tender|painless|non-?painful)\b", negated=True),
    _term(
        "pain",
        r"\b(?:pain(?:ful|s)?|tender(?:ness|nes)?|hurts?|hurting|ach(?:e|es|ing|y)|burning|burns|sting(?:s|ing)?"
        r"|discomfort|sore(?:ness)?)\b(?<!cold sore)",
    ),
    # itching
    _term("itching", r"\b(?:non-?pruritic|non-?itchy)\b", negated=True),
    _term("itching", r"\b(?:prurit\w*|purit\w*|itch\w*)\b"),
    # inflammation: the physical signs the LCD names (edema, erythema)
    _term("inflammation", r"\b(?:non-?inflamm?ed|uninflamm?ed)\b", negated=True),
    _term(
        "inflammation",
        r"\b(?<!post-)(?<!post )(?:inflamm?(?:ed|ation|atory)|erythema(?:tous)?|o?edema(?:tous)?"
        r"|swollen|swelling)\b",
    ),
    # irritation, alone or with its cause
    _term("irritation", r"\b(?:non-?irritated|unirritated)\b", negated=True),
    _term("irritation", rf"\birritat\w*(?:\s+(?:by|from|with|due\s+to)\s+{_WORDS}{{0,2}}?{IRRITANT}\b)?"),
    _term(
        "irritation",
        rf"\b(?:catch\w*|caught|snag\w*|rub\w*|nick\w*|cut|traumati[sz]\w*|scrap\w*|friction)"
        rf"(?:\s+(?:repeatedly|frequently|often|constantly))?\s+(?:on|against|by|when|while|with|from|during|under)"
        rf"\s+{_WORDS}{{0,2}}?{IRRITANT}\b",
    ),
    _term("irritation", r"\brecurrent\s+(?:trauma|irritation)\b"),
    _term("irritation", r"\b(?:cut|cuts|nick\w*|scrap\w*)\s+(?:it|them|the\s+\w+)\s+(?:(?:while|when)\s+)?shav\w*"),
    # rapid growth or change in size, colour or shape
    _term(
        "growth_change",
        r"\b(?:rapid(?:ly)?\s+)?(?:grow(?:s|ing|n)?|grew|enlarg\w*)(?:\s+rapidly|\s+quickly)?\b"
        r"(?!\s+(?:back|in\b))",
    ),
    _term("growth_change", r"\b(?:rapid|recent|new|continued|interval)\s+(?:growth|enlargement|change)\b"),
    _term("growth_change", r"(?<=[:,]\s)growth\b"),
    _term("growth_change", r"\b(?:increas\w+|doubled|tripled)\s+in\s+size\b"),
    _term(
        "growth_change",
        r"\b(?:gotten|getting|become|became|grown|growing|gets)\s+(?:bigger|larger|darker|thicker|raised)"
        r"(?:\s+(?:and|or)\s+(?:bigger|larger|darker|thicker|raised))?\b",
    ),
    _term(
        "growth_change",
        r"\bchang\w*\s+(?:in\s+)?(?:its\s+|the\s+)?(?:size|colou?r|shape|appearance|texture|border|mole|lesion"
        r"|spot|nevus)(?:\s+(?:or|and|/)\s+(?:size|colou?r|shape|appearance|texture))?\b",
    ),
    _term("growth_change", r"\b(?:changing|evolv\w+|evolution|darken(?:ed|ing|s)?)\b"),
    _term("growth_change", r"\b(?:has|have|had)\s+changed\b"),
    # ABCDE features of a pigmented lesion
    _term("abcde", r"\basymmetr\w*", feature="asymmetry"),
    _term(
        "abcde",
        r"\b(?:irregular(?:ly)?|notched|scalloped|jagged|ill-?defined|poorly\s+defined|indistinct)\s+(?:borders?|margins?"
        r"|edges?)\b",
        feature="border",
    ),
    _term("abcde", r"\bborders?\s+(?:(?:is|are)\s+)?(?:irregular\w*|notched|ill-?defined)\b", feature="border"),
    _term(
        "abcde",
        r"\b(?:colou?r\s+variation|variegat\w+(?:\s+colou?r\w*|\s+pigment\w*)?|multi-?colou?red"
        r"|(?:multiple|several|many|two|three|different|varying)\s+colou?rs"
        r"|irregular(?:ly)?\s+(?:pigment\w*|colou?r\w*))\b",
        feature="color",
    ),
    # suspicion of malignancy (the trigger words belong to the finding: it is the suspicion itself)
    _term(
        "suspicious_for_malignancy",
        rf"\b(?:concern(?:ing)?|suspicious|suspicion|worrisome|worrying|worry)\s+(?:for|of)\s+"
        rf"{_WORDS}{{0,2}}?{MALIGNANCY}\b",
    ),
    _term(
        "suspicious_for_malignancy",
        rf"\b(?:r/o|rule\s+out|ruling\s+out|to\s+rule\s+out|cannot\s+(?:exclude|rule\s+out)"
        rf"|can't\s+(?:exclude|rule\s+out)|differential(?:\s+diagnosis)?\s+includes?|ddx(?:\s+includes?)?:?"
        rf"|suspect(?:ed)?|vs\.?|versus|possible|probable|presumed)\s+{_WORDS}{{0,3}}?{MALIGNANCY}{_OR_ANOTHER}\b",
    ),
    _term("suspicious_for_malignancy", rf"\?\s*{MALIGNANCY}{_OR_ANOTHER}\b"),
    _term(
        "suspicious_for_malignancy",
        r"\bsuspicious\s+(?:for\s+malignancy|(?:pigmented\s+)?(?:lesions?|ne[vu]\w+|moles?|papules?|nodules?"
        r"|growth|macule|plaque))\b",
    ),
    _term(
        "suspicious_for_malignancy",
        r"\batypical(?:\s+(?:pigmented\s+|melanocytic\s+)?(?:ne[vu]\w+|moles?|lesions?|papules?"
        r"|macules?|proliferation))?\b",
    ),
    # obstruction of vision or of an orifice
    _term(
        "obstruction",
        r"\b(?:obstruct\w*|occlud\w*|block\w*|impair\w*|restrict\w*|limit\w*|interfer\w*\s+with|covers?)\s+"
        r"(?:[\w'-]+\s+){0,3}?(?:vision|visual\s+field|sight|view|nostril|nares|naris|nasal\s+passage|ear\s+canal"
        r"|auditory\s+canal|external\s+auditory\s+canal|airway|meatus|orifice|eye\s+opening|visual\s+axis)\b",
        what="orifice",
    ),
    _term(
        "obstruction",
        r"\b(?:obstruct\w*|occlud\w*|block\w*|impair\w*|reduc\w*|affect\w*|interfer\w*\s+with)\s+(?:(?:her|his|the)\s+)?"
        r"hearing\b|\b(?:conductive\s+)?hearing\s+(?:loss|impairment|difficult(?:y|ies))\b",
        what="hearing",
    ),
    _term(
        "obstruction",
        r"\b(?:obstruct\w*|occlud\w*|block\w*|impair\w*|narrow\w*)\s+(?:(?:her|his|the)\s+)?(?:nasal\s+)?"
        r"(?:airway|airflow|breathing)\b|\bdifficult(?:y)?\s+breathing\s+through\s+(?:the|her|his)\s+nose\b",
        what="airway",
    ),
    _term("obstruction", r"\bvisual\s+(?:obstruction|impairment|field\s+(?:defect|obstruction|cut))\b", what="vision"),
    # histologic atypia on a biopsy: moderate or severe counts, mild is reported with its grade (11.4)
    _term(
        "atypia",
        r"\b(?:mild(?:ly)?|slight(?:ly)?|minimal(?:ly)?)(?:\s+(?:to|-)\s+(?:mild|slight|minimal)(?:ly)?)?\s+"
        r"(?:(?:cytologic|architectural|melanocytic)\s+(?:and\s+\w+\s+)?)?(?:atypi\w*|dysplas\w*|dysplastic)",
        grade="mild",
    ),
    _term(
        "atypia",
        r"\b(?:(?:mild|moderate|slight)(?:ly)?\s+(?:to|-)\s+)?"
        r"(?:moderate(?:ly)?|severe(?:ly)?|marked(?:ly)?|high[- ]grade)"
        r"\s+(?:(?:cytologic|architectural|melanocytic)\s+(?:and\s+\w+\s+)?)?(?:atypi\w*|dysplas\w*|dysplastic)",
        grade="moderate_or_severe",
    ),
    # positive or close margins on a prior biopsy (11.4)
    _term(
        "margins_involved",
        r"\b(?:positive|involved|close|transected)\s+(?:(?:peripheral|lateral|deep|biopsy|surgical|histologic)\s+)?"
        r"(?:and\s+\w+\s+)?margins?\b|\bmargins?\s+(?:(?:are|were|is|was)\s+)?(?:positive|involved|close|transected)\b"
        r"|\bmargins?\s*:\s*(?:positive|involved|close)\b",
    ),
    _term(
        "margins_involved",
        r"\b(?:extend\w*|extension|transected)\s+(?:to|at)\s+(?:the\s+)?(?:(?:peripheral|lateral|deep|biopsy)\s+)?"
        r"(?:margins?|base|edges?)\b",
    ),
    # congenital vascular malformations; hypertrophy or nodularity is a value (add_vascular_progression)
    _term(
        "vascular_malformation",
        r"\b(?:port[- ]?wine\s+(?:stains?|birthmarks?)|nev(?:us|i)\s+flammeus|capillary\s+malformations?"
        r"|(?:congenital\s+)?(?:vascular|venous|lymphatic|arteriovenous|venolymphatic)\s+malformations?)\b",
    ),
    # infection that keeps coming back: history by nature (11.4)
    _term(
        "recurrent_infection",
        r"\b(?:recurrent(?:ly)?|recurring|repeated(?:ly)?|multiple|frequent(?:ly)?)\s+(?:episodes\s+of\s+)?"
        r"(?:infect\w*|abscess\w*|flares?\s+of\s+infection)",
    ),
    _term(
        "recurrent_infection",
        r"\b(?:infected|abscessed)\s+(?:(?:twice|(?:two|three|four|five|several|multiple|many|\d+)\s+times)|x\s?\d+)\b",
    ),
    # infection
    _term(
        "infection",
        r"\b(?:infect(?:ed|ion|ions|ious)|super-?infect\w*|purulen\w+|pus|abscess\w*|cellulitis|impetigin\w+)\b",
    ),
    # recurrence
    _term("recurrence", r"\b(?:recurr\w*|recurrent|recurs?)\b(?!\s+(?:trauma|irritation))"),
    _term(
        "recurrence",
        r"\b(?:came|come|comes|coming|grown|grew)\s+back\b(?!\s+(?:negative|positive|normal|benign|showing|with|as|from"
        r"|consistent|clear|to|for|in\s+(?:the|a)\s+(?:office|clinic)))|\bhas\s+returned\b(?!\s+(?:to|for))|\bregr[eo]w\w*",
    ),
    # functional impairment
    _term(
        "functional_impairment",
        r"\b(?:difficult(?:y|ies)?|trouble|unable|inability|hard|painful|pain)\s+(?:(?:to|with|in|when|on)\s+)?"
        r"(?:walk\w*|ambulat\w*|grip\w*|grasp\w*|writ\w*|wear\w*(?:\s+\w+)?|chew\w*|eat\w*|sleep\w*|bend\w*|typ\w*"
        r"|hold\w*|blink\w*|brush\w*|comb\w*|weight[- ]bearing|use\s+(?:the|her|his)\s+\w+)",
    ),
    _term("functional_impairment", r"\binterfer\w*\s+with\s+(?:her\s+|his\s+|the\s+)?(?!vision|sight)\w+"),
    _term(
        "functional_impairment",
        r"\b(?:limits?|limiting|restricts?|impairs?)\s+(?:range\s+of\s+motion|ROM|function\w*|mobility"
        r"|movement|use\s+of|grip|walking|ambulation)\b",
    ),
    # cosmetic intent
    _term(
        "cosmetic_intent",
        r"\b(?:(?:purely|strictly|solely|only|entirely|mainly|primarily|simply)\s+)?(?:for\s+)?"
        r"(?:cosmetic(?:ally)?|aesthetic(?:ally)?|esthetic(?:ally)?)(?:\s+(?:reasons?|purposes?|concerns?|only"
        r"|removal|indications?|bothersome|issue|procedure))?\b",
        reason="cosmetic",
    ),
    _term(
        "cosmetic_intent",
        r"\b(?:bother(?:ed|s|ing)?|troubled|unhappy|upset|concerned|embarrassed)\s+(?:[\w'-]+\s+){0,2}?"
        r"(?:by|with|about|of)\s+(?:its|the|her|his|their)?\s*(?:appearance|looks?)\b",
        reason="appearance",
    ),
    _term(
        "cosmetic_intent",
        r"\b(?:bother(?:ed|s)?\s+by|(?:dislikes?|does\s+not\s+like|doesn't\s+like|hates?|unhappy\s+with))\s+how\s+"
        r"(?:it|they|this|these|the\s+\w+)\s+looks?\b",
        reason="appearance",
    ),
    _term(
        "cosmetic_intent",
        r"\b(?:dislikes?|does\s+not\s+like|doesn't\s+like|hates?)\s+(?:the|its|how\s+it)\s+"
        r"(?:appearance|look|looks)\b",
        reason="appearance",
    ),
    _term("cosmetic_intent", r"\b(?:self[- ]conscious|unsightly|embarrass\w*|disfigur\w+)\b", reason="appearance"),
    _term(
        "cosmetic_intent",
        r"\b(?:before|prior\s+to|ahead\s+of|for)\s+(?:her|his|their|an?|the|my)?\s*(?:[\w'-]+\s+){0,2}?"
        r"(?:wedding|graduation|photos?|photographs?|pictures|vacation|event|reunion|prom|interview|party|holiday|cruise"
        r"|honeymoon|photo\s+shoot)\b",
        reason="event",
    ),
    # patient-requested removal
    _term(
        "patient_request",
        r"\b(?:requests?|requesting|requested|desires?|desiring|wants?|wanting|would\s+like|wishes"
        r"|asks?|asking|asked|interested\s+in)\s+(?:to\s+have\s+)?(?:[\w'-]+\s+){0,7}?(?:removed|removal|off|gone"
        r"|taken\s+off|excised|frozen|treated|destroyed|cut\s+out)\b",
    ),
    _term("patient_request", r"\bremoval\s+(?:is\s+|was\s+)?(?:desired|requested|wanted)\b"),
    _term(
        "patient_request",
        r"\b(?:per|at|on)\s+(?:the\s+)?(?:patient|pt)(?:'s|s)?\s+(?:request|wish(?:es)?|preference)\b"
        r"|\b(?:patient|pt)[- ]requested\b",
    ),
    # a signed Advance Beneficiary Notice written in the note (derm-coding.md 10.3); "voluntary" says its kind
    _term(
        "abn_signed",
        r"\b(?:signed|completed|executed)\s+(?:an?\s+|the\s+)?(?:(?:required|voluntary)\s+)?"
        r"(?:ABN|advance\s+beneficiary\s+notice(?:\s+of\s+non-?coverage)?)\b"
        r"|\b(?:ABN|advance\s+beneficiary\s+notice(?:\s+of\s+non-?coverage)?)\s+(?:(?:was|is|has\s+been)\s+)?"
        r"(?:signed|obtained|executed|on\s+file)\b",
    ),
    # documented absence of symptoms
    _term("asymptomatic", r"\b(?:a-?symptomatic|non-?symptomatic|symptom[- ]free)\b"),
)

#: What makes a lesion removal a "patient request" cosmetic in kind (a ConText modifier, see context_rules).
COSMETIC_PURPOSE_PHRASES = ("cosmetic", "cosmetically", "aesthetic", "for appearance", "for looks", "appearance")
