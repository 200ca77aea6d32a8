"""Our ConText rules: which words negate, date, hypothesise or reassign a finding in derm notes.

Derived from medspaCy's default English rules (themselves from the VA's years of use), cut to
what derm notes say and extended where they fall short: list denials ("Denies: pain, itch"),
field-style answers ("Bleeding: none", "itching - no"), other experiencers (a spouse or
friend), derm hypotheticals ("in case of bleeding", "risks including"), and a cosmetic-purpose
modifier that marks a patient's removal request as cosmetic. Scopes end at the sentence
(our splitter also breaks at ";") or at a terminating word ("but", "now", "and is").

Each rule is ``(phrase, category, direction, options)``. Phrases are literals, which medspaCy
matches with spaCy's PhraseMatcher; token patterns (``options["pattern"]``) go through spaCy's
Matcher, where patterns with long ``IN`` lists cost a 2,000-character note about 6 ms, so the
only one left is a plain one-token pattern.
"""

from __future__ import annotations

from typing import Any

#: ConText category -> the context flag a finding gets.
CATEGORY_FLAGS = {
    "NEGATED_EXISTENCE": "negated",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "FAMILY": "family",
    "OTHER_EXPERIENCER": "other_experiencer",
    "POSSIBLE_EXISTENCE": "uncertain",
}
COSMETIC_PURPOSE = "COSMETIC_PURPOSE"

_FAMILY = (
    "mother", "father", "mom", "dad", "sister", "brother", "sibling", "siblings", "aunt", "uncle", "cousin",
    "grandmother", "grandfather", "grandparent", "son", "daughter", "parent", "parents", "niece", "nephew", "twin",
    "family member", "relative",
)  # fmt: skip
_OTHERS = (
    "husband", "wife", "spouse", "partner", "boyfriend", "girlfriend", "friend", "roommate", "coworker", "co-worker",
    "colleague", "neighbor", "neighbour", "another patient", "classmate",
)  # fmt: skip
#: Verbs that make a relative the reporter, not the one with the finding ("her husband noticed it bleeding").
_REPORTING = (
    "reports", "reported", "noticed", "notices", "notes", "noted", "says", "said", "states", "stated", "thinks",
    "observed", "brought", "is concerned", "was concerned", "asked", "pointed out", "accompanies",
)  # fmt: skip
#: Terminators get a small scope of their own: medspaCy tests scope overlap as "starts or ends inside",
#: so a sentence-wide terminator never meets a modifier whose scope max_scope cut short.
_LOCAL = {"max_scope": 1}
#: Finite verbs that open a clause of their own after a list of denied nouns.
_CLAUSE_VERBS = (
    "bleeds", "bled", "itches", "itched", "hurts", "grew", "grows", "oozes", "burns", "stings", "is", "are", "was",
    "were", "has", "have", "had", "became", "becomes", "gets", "got", "appears", "looks", "feels",
)  # fmt: skip
_TREATMENT_ONLY = {"allowed_types": {"TREATMENT"}}
_NOT_TREATMENT = {"excluded_types": {"TREATMENT"}, "terminated_by": {"PRESENT_TENSE"}}

Rule = tuple[str, str, str, dict[str, Any]]

RULES: tuple[Rule, ...] = (
    # negation: before the finding; "denies" may head a list ("Denies: pain, itch")
    # the one token pattern (medspaCy's Matcher warns on every note when it has none): "w/o"
    ("w/o", "NEGATED_EXISTENCE", "FORWARD", {"pattern": [{"LOWER": "w/o"}]}),
    *((f"{word}{colon}", "NEGATED_EXISTENCE", "FORWARD", {}) for word in (
        "denies", "denied", "deny", "denying", "negative", "no", "none") for colon in ("", ":")),
    *((phrase, "NEGATED_EXISTENCE", "FORWARD", {}) for phrase in (
        "not", "nor", "neither", "without", "with no", ": negative for", "- negative for", "denies any",
        "no evidence of any",
        "negative for", "no evidence of", "no signs of", "no sign of", "no evidence", "free of", "absence of",
        "lack of", "lacks", "no longer", "never", "never had", "not have", "doesn't", "does not",
        "did not", "didn't", "has not", "hasn't", "have not", "is not", "isn't", "are not", "was not", "wasn't",
        "cannot", "no history of", "resolution of", "nothing to suggest", "ruled out",
    )),
    # negation: after the finding ("Bleeding: none", "itching - no", "pain free", "bleeding resolved")
    *((phrase, "NEGATED_EXISTENCE", "BACKWARD", {}) for phrase in (
        ": none", ": no", "- none", "- no", "= no", ": denies", ": negative", "- negative", "free", "resolved",
        "has resolved", "have resolved", "is denied", "are denied", "was denied", "were denied", "absent", "is absent",
        "are absent", "was ruled out", "has been ruled out", "not present", "not seen", "not noted",
    )),
    # uncertainty
    *((phrase, "POSSIBLE_EXISTENCE", "FORWARD", {}) for phrase in (
        "possible", "possibly", "questionable", "question of", "may be", "might be", "could be", "may have",
        "r/o", "rule out", "ruling out", "to rule out", "differential", "differential includes", "ddx", "suspect",
        "suspected", "suspicious for", "concern for", "concerning for", "suggestive of", "equivocal", "uncertain",
        "unclear if", "unclear whether", "probable", "likely", "presumed", "?",
    )),
    ("vs", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL", {"max_scope": 3}),
    ("versus", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL", {"max_scope": 3}),
    ("vs.", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL", {"max_scope": 3}),
    # history: short scope, since "h/o X, now Y" is common; treatment history is history by nature
    *((phrase, "HISTORICAL", "FORWARD", {"max_scope": 6, **_NOT_TREATMENT}) for phrase in (
        "history of", "hx of", "h/o", "hx", "past history of", "previously", "prior history of",
        "formerly", "s/p", "status post", "used to be", "was previously", "had been", "remote history of",
    )),
    *((phrase, "HISTORICAL", "BACKWARD", {"max_scope": 6, **_NOT_TREATMENT}) for phrase in (
        "years ago", "year ago", "months ago", "last year", "in the past", "as a child", "in childhood",
    )),
    # hypothetical: instructions, plans, risks
    *((phrase, "HYPOTHETICAL", "FORWARD", {}) for phrase in (
        "if", "should it", "should the", "should there", "should she", "should he", "should they", "in case of",
        "in case", "in the event", "in the event of", "call if", "return if", "risks", "risk",
        "complications", "side effects", "risks of", "risks including",
        "risk of", "risks include", "risks and benefits", "warned about", "warned of", "counseled on",
        "counseled about", "as needed", "prn", "watch for", "monitor for", "unless", "whether", "call for",
        "return for", "signs and symptoms of", "warning signs",
    )),
    *((phrase, "HYPOTHETICAL", "FORWARD", _TREATMENT_ONLY) for phrase in (
        "plan to start", "plan to", "plan:", "planning to", "will start", "will begin", "to start", "consider",
        "considering", "recommend starting", "recommended starting", "candidate for", "would benefit from",
    )),
    # family and other experiencers; a relative who reports is the source, not the subject
    *((phrase, "FAMILY", "FORWARD", {}) for phrase in (*_FAMILY, "family history", "family history of", "fhx", "fh:")),
    ("family history", "FAMILY", "BACKWARD", {"max_scope": 4}),
    *((phrase, "OTHER_EXPERIENCER", "FORWARD", {}) for phrase in _OTHERS),
    *((f"{person} {verb}", "PSEUDO", "PSEUDO", {}) for person in (*_FAMILY, *_OTHERS) for verb in _REPORTING),
    *((f"{person}'s", "PSEUDO", "PSEUDO", {}) for person in (*_FAMILY, *_OTHERS)),
    # a verb in the present ends a history: "previously treated with LN2 has recurred"
    *((phrase, "PRESENT_TENSE", "PSEUDO", _LOCAL) for phrase in ("has", "have", "is", "are", "presently", "currently")),
    # pseudo-triggers: look like a modifier, are not one
    *((phrase, "PSEUDO", "PSEUDO", {}) for phrase in (
        "no increase", "not only", "no change in plan", "not certain if", "gram negative", "no further",
        "not necessarily", "denied by", "was denied by", "were denied by", "been denied by", "if needed",
        "if desired", "history of present illness", "hx of present illness",
        "no longer bothers", "whether or not",
    )),
    # a verb after a comma or "and" starts a new clause: "no itching, bleeds" (not "no itching, bleeding")
    *((f"{joint} {verb}", "TERMINATE", "TERMINATE", _LOCAL) for joint in (",", "and", ";") for verb in _CLAUSE_VERBS),
    # terminations: a new clause about something else
    *((phrase, "TERMINATE", "TERMINATE", _LOCAL) for phrase in (
        "but", "however", "although", "though", "except", "aside from", "apart from", "yet", "which", "now",
        "currently", "today", "presents with", "reports", "notes", "endorses", "complains of", "c/o", "and is",
        "and are", "and has", "and have", "and was", "and it", "and the", "and she", "and he", "whereas",
        "while", "since", "so", "therefore", "thus", "removal is", "due to",
        # a colon followed by a clause (not by a list of findings): "Not for cosmetic reasons: the SK bleeds"
        ": the", ": she", ": he", ": it", ": they", ": this", ": pt", ": patient", ": lesion", ": her", ": his",
        # a new subject starts a new clause: "not irritated, removal purely cosmetic"
        ", removal", ", removed", "w/", ", with", "patient", "pt", "she", "he", "they",
    )),
    # cosmetic purpose of a removal request ("requests removal for cosmetic reasons")
    *((phrase, COSMETIC_PURPOSE, "BIDIRECTIONAL", {"allowed_types": {"PATIENT_REQUEST"}}) for phrase in (
        "cosmetic", "cosmetically", "aesthetic", "appearance", "looks", "wedding", "unsightly",
    )),
)  # fmt: skip
