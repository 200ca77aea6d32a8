"""The dermatology vocabulary of the rule language: the fact schema and the actions.

The facts follow CONTRACTS.md's Encounter, one service at a time (`service.*`), plus the
findings from the note and, in the policy phase, the proposed claim lines (`lines`).
`rulebooks.facts` builds the matching fact dictionaries; `rulebooks.stack` applies the actions.
"""

from __future__ import annotations

from functools import cache

from dsl.vocabulary import (
    BOOL,
    DATE,
    INTEGER,
    NUMBER,
    STRING,
    SYMBOL,
    ActionSpec,
    Field,
    Vocabulary,
    code,
    enum,
    list_of,
    quantity,
    record,
)
from rulebooks.codesets import check_icd10, check_modifier, check_procedure_code

PHASES = ("classify", "select", "policy", "route")
SERVICE_KINDS = (
    "em",
    "biopsy",
    "destruction",
    "shave",
    "excision",
    "hidradenitis_excision",
    "repair",
    "adjacent_tissue_transfer",
    "graft",
    "mohs",
    "skin_tag_removal",
    "injection",
    "cosmetic",
    "other",
)
# The note analysis's indicator and cosmetic labels (rulebooks/notes/findings.py; a test keeps them equal).
FINDINGS = (
    "bleeding",
    "pain",
    "itching",
    "inflammation",
    "irritation",
    "growth_change",
    "abcde",
    "suspicious_for_malignancy",
    "obstruction",
    "infection",
    "recurrence",
    "functional_impairment",
    "cosmetic_intent",
    "patient_request",
    "asymptomatic",
)
ICD10 = code("icd10")
CPT = code("cpt")
MODIFIER = code("modifier")
LINE = record("claim line", code=CPT, units=INTEGER, modifiers=list_of(MODIFIER))
MOHS_STAGE = record("Mohs stage", blocks=quantity("blocks"))

FIELDS = (
    Field("payer", SYMBOL, "The tenant's payer code, e.g. AETNA.", required=True),
    Field(
        "plan_type",
        enum("plan type", "commercial", "medicare_ffs", "medicare_advantage", "medicaid", "self_pay"),
        "The coverage's plan type.",
        required=True,
    ),
    Field("date_of_service", DATE, "The date of service: effective dates and ages compare with it.", required=True),
    Field("place_of_service", STRING, 'CMS place-of-service code such as "11".', required=True),
    Field("patient.age", quantity("years"), "Age in years on the date of service."),
    Field("patient.sex", enum("sex", "female", "male", "other", "unknown"), "The patient's sex."),
    Field("diagnoses", list_of(ICD10), "The encounter's ICD-10-CM diagnoses, in the provider's order.", required=True),
    Field(
        "findings",
        list_of(enum("finding", *FINDINGS)),
        "What the note documents for this service's lesion.",
        required=True,
    ),
    Field("service.kind", enum("service kind", *SERVICE_KINDS), "What was done.", required=True),
    Field("service.technique", STRING, 'The technique as documented, e.g. "punch".'),
    Field("service.site", STRING, "The site as written."),
    Field(
        "service.site_group",
        enum("site group", "trunk_arms_legs", "scalp_neck_hands_feet_genitalia", "face_ears_eyelids_nose_lips"),
        "The CPT anatomic group of the site.",
    ),
    Field("service.laterality", enum("laterality", "left", "right", "bilateral", "midline"), "Side of the body."),
    Field("service.count", quantity("lesions"), "How many lesions the service treated."),
    Field("service.lesion_size_cm", quantity("cm"), "The lesion's diameter."),
    Field("service.margin_cm", quantity("cm"), "The margin taken around the lesion."),
    Field("service.area_sq_cm", quantity("sq_cm"), "The treated area (flaps, grafts)."),
    Field("service.repair.length_cm", quantity("cm"), "The repair's length."),
    Field(
        "service.repair.complexity",
        enum("repair complexity", "simple", "intermediate", "complex"),
        "The repair's classification.",
    ),
    Field(
        "service.repair.dehiscence",
        enum("dehiscence", "superficial", "superficial_packed", "extensive"),
        "A repair of a dehisced or secondarily closed wound (12020/12021/13160), not a new wound's closure.",
    ),
    Field(
        "service.related_to_prior",
        enum("relation to prior", "unrelated", "staged", "same_problem"),
        "How the service relates to the earlier procedure whose global period the visit falls in.",
    ),
    Field("service.em.patient_status", enum("patient status", "new", "established"), "New or established patient."),
    Field("service.em.level", INTEGER, "The E/M level documented (1-5), when the provider stated one."),
    Field(
        "service.em.separately_identifiable",
        BOOL,
        "The E/M addresses a problem significant and separate from the day's procedure (modifier 25).",
    ),
    Field(
        "service.em.longitudinal_care",
        BOOL,
        "The visit is part of the continuing care of a single serious or complex condition (G2211).",
    ),
    Field(
        "global_period.procedure_code",
        CPT,
        "The earlier procedure whose postoperative (global) period this visit may fall in.",
    ),
    Field("global_period.date_of_service", DATE, "That earlier procedure's date."),
    Field("global_period.days_after", quantity("days"), "Days from the earlier procedure to this date of service."),
    Field("service.mohs.stages", list_of(MOHS_STAGE), "The Mohs stages of this tumor, each with its blocks."),
    Field("service.mohs.stage_count", quantity("stages"), "How many Mohs stages this tumor needed."),
    Field("service.pathology.malignant", BOOL, "Whether pathology found malignancy."),
    Field("service.drug.hcpcs", CPT, "The drug's HCPCS code."),
    Field("service.drug.units", NUMBER, "Drug units given."),
    Field("service.prior_auth_number", STRING, "The prior authorization on file for this service."),
    Field("service.patient_requested_cosmetic", BOOL, "The patient asked for a cosmetic removal."),
    Field("service.diagnoses", list_of(ICD10), "The diagnoses linked to this service.", required=True),
    Field("service.staff_code", CPT, "What staff coded, if anything."),
    Field("lines", list_of(LINE), "The service's proposed claim lines (policy and route phases).", required=True),
    Field("scores.bsa_percent", quantity("%"), "Body surface area affected."),
    Field("scores.easi", NUMBER, "Eczema Area and Severity Index."),
    Field("scores.iga", NUMBER, "Investigator's Global Assessment."),
    Field("scores.pasi", NUMBER, "Psoriasis Area and Severity Index."),
    Field("therapy.topical_steroid", quantity("days"), "How long a topical corticosteroid was tried."),
    Field("therapy.tried", list_of(SYMBOL), "Therapies tried before, e.g. methotrexate."),
    Field("therapy.concurrent_biologic", BOOL, "Whether another biologic is being given."),
)

CODES = list_of(CPT)
ACTIONS = (
    ActionSpec(
        "classify",
        "classify {class}",
        (("class", enum("classification", "medical", "cosmetic", "borderline")),),
        ("classify",),
        "Decide whether the service is medical, cosmetic (self-pay) or needs the provider to say.",
    ),
    ActionSpec(
        "query_provider",
        "query provider {message}",
        (("message", STRING),),
        ("classify", "select", "policy"),
        "Hold the service until the provider answers; `{service.site}` in the text is filled in.",
    ),
    ActionSpec(
        "cap_lesions",
        "cap lesions of service at {count}",
        (("count", quantity("lesions")),),
        ("policy",),
        "Bill at most this many lesions; the code family recodes from the capped count.",
    ),
    ActionSpec(
        "require_prior_auth",
        "require prior_auth for lines in {codes}",
        (("codes", CODES),),
        ("policy",),
        "These lines need a prior authorization.",
    ),
    ActionSpec("flag", "flag {code}", (("code", SYMBOL),), PHASES, "Raise a flag on the coding."),
    ActionSpec(
        "add_modifier",
        "add modifier {modifier} to lines in {codes}",
        (("modifier", MODIFIER), ("codes", CODES)),
        ("policy",),
        "Append a modifier to matching lines.",
    ),
    ActionSpec(
        "remove_modifier",
        "remove modifier {modifier} from lines in {codes}",
        (("modifier", MODIFIER), ("codes", CODES)),
        ("policy",),
        "Remove a modifier from matching lines.",
    ),
    ActionSpec(
        "bundle",
        "bundle {code} into {into}",
        (("code", CPT), ("into", CPT)),
        ("policy",),
        "Drop a line whose code the payer pays inside another line's code.",
    ),
    ActionSpec(
        "route",
        "route to {destination}",
        (("destination", enum("destination", "claim", "self_pay")),),
        ("route",),
        "Send the service's lines to the claim or to the patient (self-pay).",
    ),
)

# Payer decisions the engine's passes act on (`rulebooks.engine.context.PayerPolicy`): set in the
# classify phase, before any pass reads them; the national base sets them, a later book may
# disable or replace those rules by id.
POLICY_ACTIONS = (
    ActionSpec(
        "distinct_modifier",
        "use modifier {modifier} for distinct procedures",
        (("modifier", MODIFIER),),
        ("classify",),
        "The modifier for a procedure on a separate lesion or site: 59, or XE, XS, XP or XU.",
    ),
    ActionSpec(
        "repeat_mohs_modifier",
        "use modifier {modifier} for repeated mohs",
        (("modifier", MODIFIER),),
        ("classify",),
        "The modifier of a second tumor's first-stage Mohs code (76, or the distinct modifier when unset).",
    ),
    ActionSpec(
        "visit_complexity_addon",
        "bill {code} for longitudinal care",
        (("code", CPT),),
        ("classify",),
        "Bill the visit-complexity add-on (G2211) beside an office E/M whose provider documented longitudinal care.",
    ),
    ActionSpec(
        "separate_visit_modifier",
        "bill separately identifiable visits with modifier {modifier}",
        (("modifier", MODIFIER),),
        ("classify",),
        "Bill a significant, separately identifiable E/M on a procedure day with this modifier (25); "
        "without it such an E/M is included in the procedure.",
    ),
    ActionSpec(
        "cosmetic_requests",
        "count requested removals as cosmetic with diagnoses all in {diagnoses}",
        (("diagnoses", list_of(ICD10)),),
        ("classify",),
        "A removal the patient asked for (and the note did not classify) is cosmetic when every diagnosis "
        "is in the set, else the provider is asked; without this rule the provider is always asked.",
    ),
    ActionSpec(
        "liability_modifiers",
        "use medicare liability modifiers",
        (),
        ("classify",),
        "Mark excluded and expected-denial lines with GY/GX and GA/GZ (Medicare fee-for-service).",
    ),
)
ALL_ACTIONS = ACTIONS + POLICY_ACTIONS

VALUE_SETS = {
    "benign_lesion_symptoms": (
        enum("finding", *FINDINGS),
        ("bleeding", "pain", "itching", "inflammation", "growth_change", "obstruction", "irritation", "infection"),
    ),
}


@cache
def dermatology_vocabulary() -> Vocabulary:
    return Vocabulary(
        phases=PHASES,
        fields=FIELDS,
        actions=ALL_ACTIONS,
        value_sets=VALUE_SETS,
        code_validators={"icd10": check_icd10, "cpt": check_procedure_code, "modifier": check_modifier},
    )


__all__ = ["INTEGER", "dermatology_vocabulary"]
