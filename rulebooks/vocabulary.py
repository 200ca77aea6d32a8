"""The dermatology vocabulary of the rule language: the fact schema and the actions.

The facts follow CONTRACTS.md's Encounter, one service at a time (`service.*`), plus the
findings from the note and, in the policy phase, the proposed claim lines (`lines`). Each fact is
declared once, in `FACTS`, with how it is read from an encounter: `rulebooks.rule_facts` derives
the fact dictionaries and readers from it; `rulebooks.stack` applies the actions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from dsl.vocabulary import (
    BOOL,
    DATE,
    INTEGER,
    NUMBER,
    STRING,
    SYMBOL,
    ActionSpec,
    Field,
    Type,
    Vocabulary,
    code,
    enum,
    list_of,
    quantity,
    record,
)
from rulebooks.codesets import check_icd10, check_modifier, check_procedure_code
from rulebooks.engine.families.global_period import postoperative_days
from rulebooks.engine.sites import FACE_REGIONS, REGION_PHRASES, anatomic_region
from rulebooks.models import Encounter, Service
from rulebooks.models.encounter import ServiceKind
from rulebooks.patient_states import RISK_STATES, risk_states

PHASES = ("classify", "select", "policy", "route")
SERVICE_KINDS: tuple[str, ...] = get_args(ServiceKind)  # the Encounter model says which kinds exist
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
    "atypia",
    "margins_involved",
    "vascular_malformation",
    "recurrent_infection",
    "cosmetic_intent",
    "patient_request",
    "asymptomatic",
)
ICD10 = code("icd10")
CPT = code("cpt")
MODIFIER = code("modifier")
LINE = record("claim line", code=CPT, units=INTEGER, modifiers=list_of(MODIFIER))
MOHS_STAGE = record("Mohs stage", blocks=quantity("blocks"))
SERVICE_KIND = enum("service kind", *SERVICE_KINDS)
SITE_GROUP = enum("site group", "trunk_arms_legs", "scalp_neck_hands_feet_genitalia", "face_ears_eyelids_nose_lips")
LATERALITY = enum("laterality", "left", "right", "bilateral", "midline")
#: The anatomic regions a site's text names (`rulebooks.engine.sites`), as a rule tests them.
REGIONS: tuple[str, ...] = tuple(sorted(set(REGION_PHRASES.values())))
REGION = enum("body region", *REGIONS)
#: A service of the encounter as a rule over several services sees it: its own facts.
_SERVICE_FACTS = dict(
    kind=SERVICE_KIND,
    technique=STRING,
    site=STRING,
    site_group=SITE_GROUP,
    laterality=LATERALITY,
    region=REGION,
    count=quantity("lesions"),
    lesion_size_cm=quantity("cm"),
    diagnoses=list_of(ICD10),
    staff_code=CPT,
)
#: Another service of the same encounter as a service's rule sees it: its own facts, and how it
#: relates to the service the rule runs for (the relations a payer policy compares a visit's
#: procedures by).
OTHER_SERVICE = record("other service", **_SERVICE_FACTS, same_lesion=BOOL, same_site=BOOL, same_site_group=BOOL)
#: A service as an encounter rule (`in policy for the encounter`) sees it among `services`: its
#: facts, the lesion it treats (two services on one lesion have the same) and its claim lines' codes.
ENCOUNTER_SERVICE = record("service of the encounter", **_SERVICE_FACTS, lesion=STRING, codes=list_of(CPT))

#: Reads one fact for one service: (encounter, service, the note's findings for it) -> value.
FactReader = Callable[[Encounter, Service, Sequence[str]], Any]
#: Where a fact comes from: an attribute path from `encounter.` or `service.` (inside a record,
#: from the record), or a function for a value the encounter does not hold as it is (a count,
#: days between dates); a record's function takes (record, encounter).
Source = str | Callable[..., Any]


@dataclass(frozen=True)
class Fact:
    """A fact rules read, declared once: what the language knows of it (`field`: path, type, the
    words the editor shows) and where the engine reads it for one service of an encounter.

    Everything else is derived from these declarations by `rulebooks.rule_facts`: the facts a rule
    sees, each fact's reader, and the screen key of `rulebooks.stack_speed`.
    `source` is None for a fact whose shape the engine builds itself: `lines` (the service's claim
    lines as the phase finds them) and the scores and therapies no encounter carries yet (their
    records are empty). `screen` marks the few facts that pick which rules can fire for a service
    (`rulebooks.stack_speed`); a screen fact never comes from the note's findings.
    """

    field: Field
    source: Source | None
    screen: bool = False
    record: Record | None = None
    #: Codes in upper case (each code of a list), as the compiled code sets expect.
    upper: bool = False

    @property
    def path(self) -> str:
        return self.field.path


@dataclass(frozen=True)
class Record:
    """An optional record of the facts (a service's repair, its Mohs facts, the earlier procedure):
    missing as a whole when the encounter has none, never a record whose facts are all missing.
    `source` is the attribute path it comes from."""

    path: str
    source: str

    def fact(self, name: str, type_: Type, doc: str, source: Source, *, upper: bool = False) -> Fact:
        """A fact of the record: an attribute of the record, or a function of (record, encounter)."""
        return Fact(Field(f"{self.path}.{name}", type_, doc), source, record=self, upper=upper)


def fact(
    path: str,
    type_: Type,
    doc: str,
    source: Source | None,
    *,
    required: bool = False,
    screen: bool = False,
    upper: bool = False,
) -> Fact:
    return Fact(Field(path, type_, doc, required=required), source, screen, upper=upper)


REPAIR = Record("service.repair", "service.repair")
EM = Record("service.em", "service.em")
MOHS = Record("service.mohs", "service.mohs")
PATHOLOGY = Record("service.pathology", "service.pathology")
DRUG = Record("service.drug", "service.drug")
GLOBAL_PERIOD = Record("global_period", "encounter.global_period")

FACTS = (
    fact(
        "payer",
        SYMBOL,
        "The tenant's payer code, e.g. AETNA.",
        "encounter.coverage.payer",
        required=True,
        screen=True,
    ),
    fact(
        "plan_type",
        enum("plan type", "commercial", "medicare_ffs", "medicare_advantage", "medicaid", "self_pay"),
        "The coverage's plan type.",
        "encounter.coverage.plan_type",
        required=True,
        screen=True,
    ),
    fact(
        "date_of_service",
        DATE,
        "The date of service: effective dates and ages compare with it.",
        "encounter.date_of_service",
        required=True,
    ),
    fact(
        "place_of_service",
        STRING,
        'CMS place-of-service code such as "11".',
        "encounter.place_of_service",
        required=True,
        screen=True,
    ),
    fact("patient.age", quantity("years"), "Age in years on the date of service.", "encounter.patient.age"),
    fact(
        "patient.risk_states",
        list_of(enum("risk state", *RISK_STATES)),
        "Risk states payers name (immunosuppressed, transplant_recipient, anticoagulated, diabetic), "
        "derived from the encounter's diagnoses (rulebooks/patient_states.py says which codes).",
        lambda encounter, service, findings: risk_states(encounter.diagnoses),
        required=True,
    ),
    fact(
        "patient.sex",
        enum("sex", "female", "male", "other", "unknown"),
        "The patient's sex.",
        "encounter.patient.sex",
        screen=True,
    ),
    fact(
        "diagnoses",
        list_of(ICD10),
        "The encounter's ICD-10-CM diagnoses, in the provider's order.",
        "encounter.diagnoses",
        required=True,
        upper=True,
    ),
    fact(
        "findings",
        list_of(enum("finding", *FINDINGS)),
        "What the note documents for this service's lesion.",
        lambda encounter, service, findings: list(findings),
        required=True,
    ),
    fact(
        "service.kind",
        SERVICE_KIND,
        "What was done.",
        "service.kind",
        required=True,
        screen=True,
    ),
    fact("service.technique", STRING, 'The technique as documented, e.g. "punch".', "service.technique", screen=True),
    fact("service.site", STRING, "The site as written.", "service.site"),
    fact(
        "service.site_group",
        SITE_GROUP,
        "The CPT anatomic group of the site.",
        "service.site_group",
        screen=True,
    ),
    fact(
        "service.region",
        REGION,
        "The anatomic region the site's text names (nose, cheek, hand...); missing when it names none "
        "or two. Named classes of regions are value sets: face_regions, head_and_neck_regions, "
        "extremity_regions (a clinic extends one as `valueset ours = face_regions + [neck]`).",
        lambda encounter, service, findings: anatomic_region(service.site),
    ),
    fact(
        "service.laterality",
        LATERALITY,
        "Side of the body.",
        "service.laterality",
    ),
    fact("service.count", quantity("lesions"), "How many lesions the service treated.", "service.count"),
    fact("service.lesion_size_cm", quantity("cm"), "The lesion's diameter.", "service.lesion_size_cm"),
    fact("service.margin_cm", quantity("cm"), "The margin taken around the lesion.", "service.margin_cm"),
    fact("service.area_sq_cm", quantity("sq_cm"), "The treated area (flaps, grafts).", "service.area_sq_cm"),
    REPAIR.fact("length_cm", quantity("cm"), "The repair's length.", "length_cm"),
    REPAIR.fact(
        "complexity",
        enum("repair complexity", "simple", "intermediate", "complex"),
        "The repair's classification.",
        "complexity",
    ),
    REPAIR.fact(
        "dehiscence",
        enum("dehiscence", "superficial", "superficial_packed", "extensive"),
        "A repair of a dehisced or secondarily closed wound (12020/12021/13160), not a new wound's closure.",
        "dehiscence",
    ),
    fact(
        "service.related_to_prior",
        enum("relation to prior", "unrelated", "staged", "same_problem"),
        "How the service relates to the earlier procedure whose global period the visit falls in.",
        "service.related_to_prior",
    ),
    EM.fact(
        "patient_status",
        enum("patient status", "new", "established"),
        "New or established patient.",
        "patient_status",
    ),
    EM.fact("level", INTEGER, "The E/M level documented (1-5), when the provider stated one.", "level"),
    EM.fact(
        "separately_identifiable",
        BOOL,
        "The E/M addresses a problem significant and separate from the day's procedure (modifier 25).",
        "separately_identifiable",
    ),
    EM.fact(
        "longitudinal_care",
        BOOL,
        "The visit is part of the continuing care of a single serious or complex condition (G2211).",
        "longitudinal_care",
    ),
    GLOBAL_PERIOD.fact(
        "procedure_code",
        CPT,
        "The earlier procedure whose postoperative (global) period this visit may fall in.",
        "procedure_code",
        upper=True,
    ),
    GLOBAL_PERIOD.fact("date_of_service", DATE, "That earlier procedure's date.", "date_of_service"),
    GLOBAL_PERIOD.fact(
        "days_after",
        quantity("days"),
        "Days from the earlier procedure to this date of service.",
        lambda prior, encounter: (encounter.date_of_service - prior.date_of_service).days,
    ),
    GLOBAL_PERIOD.fact(
        "global_days",
        quantity("days"),
        "That earlier procedure's global (postoperative) days, 0, 10 or 90: as the encounter gives them, else "
        "from the code sets in effect on its date; missing for a code without a global period (an add-on).",
        lambda prior, encounter: postoperative_days(prior)[0],
    ),
    MOHS.fact(
        "stages",
        list_of(MOHS_STAGE),
        "The Mohs stages of this tumor, each with its blocks.",
        lambda mohs, encounter: [{"blocks": stage.blocks} for stage in mohs.stages],
    ),
    MOHS.fact(
        "stage_count",
        quantity("stages"),
        "How many Mohs stages this tumor needed.",
        lambda mohs, encounter: len(mohs.stages),
    ),
    PATHOLOGY.fact("malignant", BOOL, "Whether pathology found malignancy.", "malignant"),
    DRUG.fact("hcpcs", CPT, "The drug's HCPCS code.", "hcpcs"),
    DRUG.fact("units", NUMBER, "Drug units given.", "units"),
    fact(
        "service.prior_auth_number",
        STRING,
        "The prior authorization on file for this service.",
        "service.prior_auth_number",
    ),
    fact(
        "service.patient_requested_cosmetic",
        BOOL,
        "The patient asked for a cosmetic removal.",
        "service.patient_requested_cosmetic",
        screen=True,
    ),
    fact(
        "service.abn",
        enum("ABN kind", "required", "voluntary"),
        "The ABN the patient signed for this service: required (Medicare is expected to deny it) or "
        "voluntary (an excluded service); missing when no ABN lists it.",
        lambda encounter, service, findings: encounter.abn_kind(service.id),
    ),
    fact(
        "service.patient_requested_filing",
        BOOL,
        "The patient asked that this service be filed with the insurer even if it is excluded.",
        "service.patient_requested_filing",
    ),
    fact(
        "service.diagnoses",
        list_of(ICD10),
        "The diagnoses linked to this service.",
        "service.diagnoses",
        required=True,
        screen=True,
        upper=True,
    ),
    fact("service.staff_code", CPT, "What staff coded, if anything.", "service.staff_code"),
    fact(
        "other_services",
        list_of(OTHER_SERVICE),
        "The encounter's other services (every service but this one), each with `same_lesion`, "
        "`same_site` and `same_site_group` saying how it relates to this one.",
        lambda encounter, service, findings: other_services(encounter, service),
        required=True,
    ),
    fact(
        "services",
        list_of(ENCOUNTER_SERVICE),
        "Every service of the encounter, read by a rule `for the encounter` (a service's rule reads "
        "`other_services`): each with its `lesion` and the `codes` of its claim lines.",
        None,  # built for encounter rules only (`rulebooks.rule_facts.encounter_facts`)
        required=True,
    ),
    fact(
        "lines",
        list_of(LINE),
        "The proposed claim lines (policy and route phases): the service's, or the whole encounter's in a rule "
        "`for the encounter`.",
        None,
        required=True,
    ),
    fact("scores.bsa_percent", quantity("%"), "Body surface area affected.", None),
    fact("scores.easi", NUMBER, "Eczema Area and Severity Index.", None),
    fact("scores.iga", NUMBER, "Investigator's Global Assessment.", None),
    fact("scores.pasi", NUMBER, "Psoriasis Area and Severity Index.", None),
    fact("therapy.topical_steroid", quantity("days"), "How long a topical corticosteroid was tried.", None),
    fact("therapy.tried", list_of(SYMBOL), "Therapies tried before, e.g. methotrexate.", None),
    fact("therapy.concurrent_biologic", BOOL, "Whether another biologic is being given.", None),
)


def other_services(encounter: Encounter, service: Service) -> list[dict[str, Any]]:
    """The `other_services` fact: each other service's facts and its relations to `service`.

    A service without a `lesion_id` is a lesion of its own (as the engine's bundling reads it);
    two sites are the same when written alike (case and spaces aside); a relation between sites or
    groups with one of them missing is missing (undetermined), never false.
    """
    lesion = service.lesion_id or service.id
    site = _site_key(service.site)
    return [
        {
            **service_record(other),
            "same_lesion": (other.lesion_id or other.id) == lesion,
            "same_site": None if site is None or other.site is None else _site_key(other.site) == site,
            "same_site_group": (
                None
                if service.site_group is None or other.site_group is None
                else other.site_group == service.site_group
            ),
        }
        for other in encounter.services
        if other.id != service.id
    ]


def service_record(service: Service) -> dict[str, Any]:
    """A service's own facts as a rule over several services reads them (`OTHER_SERVICE`,
    `ENCOUNTER_SERVICE`)."""
    return {
        "kind": service.kind,
        "technique": service.technique,
        "site": service.site,
        "site_group": service.site_group,
        "laterality": service.laterality,
        "region": anatomic_region(service.site),
        "count": service.count,
        "lesion_size_cm": service.lesion_size_cm,
        "diagnoses": [code_.upper() for code_ in service.diagnoses],
        "staff_code": service.staff_code.upper() if service.staff_code else None,
    }


def _site_key(site: str | None) -> str | None:
    return None if site is None else " ".join(site.lower().split())


#: The facts as the rule language declares them (path, type, words for the editor).
FIELDS = tuple(declared.field for declared in FACTS)

CODES = list_of(CPT)
ACTIONS = (
    ActionSpec(
        "classify",
        "classify {class}",
        (("class", enum("classification", "medical", "cosmetic", "borderline", "expected_denial")),),
        ("classify",),
        "Decide whether the service is medical, cosmetic (self-pay), needs the provider to say, or is "
        "expected to be denied as not reasonable and necessary (Medicare: GA with a required ABN, else GZ).",
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
        "Bill at most this many lesions of a premalignant destruction (17000-17004); the code family recodes "
        "from the capped count. Only on destructions: the rule must say `service.kind = destruction`.",
        acts_on=("service.kind", ("destruction",)),
    ),
    ActionSpec(
        "require_prior_auth",
        "require prior_auth for lines in {codes}",
        (("codes", CODES),),
        ("policy",),
        "These lines need a prior authorization.",
        encounter=True,
    ),
    ActionSpec("flag", "flag {code}", (("code", SYMBOL),), PHASES, "Raise a flag on the coding.", encounter=True),
    ActionSpec(
        "add_modifier",
        "add modifier {modifier} to lines in {codes}",
        (("modifier", MODIFIER), ("codes", CODES)),
        ("policy",),
        "Append a modifier to matching lines.",
        encounter=True,
    ),
    ActionSpec(
        "remove_modifier",
        "remove modifier {modifier} from lines in {codes}",
        (("modifier", MODIFIER), ("codes", CODES)),
        ("policy",),
        "Remove a modifier from matching lines.",
        encounter=True,
    ),
    ActionSpec(
        "bundle",
        "bundle {code} into {into}",
        (("code", CPT), ("into", CPT)),
        ("policy",),
        "Drop a line whose code the payer pays inside another line's code.",
    ),
    ActionSpec(
        "drop_lines",
        "drop lines in {codes} saying {message}",
        (("codes", CODES), ("message", STRING)),
        ("policy",),
        "Take this service's lines in the set off the claim; the message is what the biller reads.",
        encounter=True,
    ),
    ActionSpec(
        "limit_units_hold",
        "limit {codes} to {units} per session holding the excess",
        (("codes", CODES), ("units", quantity("units"))),
        ("policy",),
        "Bill at most this many units of the codes in the whole encounter; the excess is held for review.",
        encounter=True,
    ),
    ActionSpec(
        "limit_units_flag",
        "limit {codes} to {units} per session flagging the excess",
        (("codes", CODES), ("units", quantity("units"))),
        ("policy",),
        "Leave the lines as they are but flag the encounter when its units of the codes exceed the limit.",
        encounter=True,
    ),
    ActionSpec(
        "replace_modifier",
        "replace modifier {modifier} with {replacement} on lines in {codes}",
        (("modifier", MODIFIER), ("replacement", MODIFIER), ("codes", CODES)),
        ("policy",),
        "Put one modifier in place of another on this service's lines in the set.",
        encounter=True,
    ),
    ActionSpec(
        "add_modifier_carried",
        "add modifier {modifier} to lines with modifier {carried}",
        (("modifier", MODIFIER), ("carried", MODIFIER)),
        ("policy",),
        "Append a modifier to this service's lines that carry another modifier.",
        encounter=True,
    ),
    ActionSpec(
        "remove_modifier_all",
        "remove modifier {modifier} from lines of service",
        (("modifier", MODIFIER),),
        ("policy",),
        "Remove a modifier from every line of this service.",
    ),
    ActionSpec(
        "self_pay_lines",
        "move lines in {codes} to self_pay",
        (("codes", CODES),),
        ("policy", "route"),
        "Send this service's lines in the set to the patient (self-pay) instead of the claim.",
        encounter=True,
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
#: The codes a payer decision may name, each a code system of its own so that a rule naming
#: another code is an error where it is written ("`25` is not a distinct-procedure modifier").
POLICY_CODES = {
    "distinct_modifier": ("distinct-procedure modifier", ("59", "XE", "XP", "XS", "XU")),
    "repeat_mohs_modifier": ("repeated Mohs modifier", ("76", "59", "XE", "XP", "XS", "XU")),
    "visit_complexity_code": ("visit-complexity add-on", ("G2211",)),
    "separate_visit_modifier": ("separate-visit modifier", ("25",)),
}


def _policy_code_check(system: str) -> Callable[[str], str | None]:
    what, allowed = POLICY_CODES[system]

    def check(text: str) -> str | None:
        if text.upper() in allowed:
            return None
        return f"`{text}` is not a {what} (one of {', '.join(allowed)})"

    return check


POLICY_ACTIONS = (
    ActionSpec(
        "distinct_modifier",
        "use modifier {modifier} for distinct procedures",
        (("modifier", code("distinct_modifier")),),
        ("classify",),
        "The modifier for a procedure on a separate lesion or site: 59, or XE, XS, XP or XU.",
    ),
    ActionSpec(
        "repeat_mohs_modifier",
        "use modifier {modifier} for repeated mohs",
        (("modifier", code("repeat_mohs_modifier")),),
        ("classify",),
        "The modifier of a second tumor's first-stage Mohs code (76, or the distinct modifier when unset).",
    ),
    ActionSpec(
        "visit_complexity_addon",
        "bill {code} for longitudinal care",
        (("code", code("visit_complexity_code")),),
        ("classify",),
        "Bill the visit-complexity add-on (G2211) beside an office E/M whose provider documented longitudinal care.",
    ),
    ActionSpec(
        "separate_visit_modifier",
        "bill separately identifiable visits with modifier {modifier}",
        (("modifier", code("separate_visit_modifier")),),
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
    "face_regions": (REGION, tuple(sorted(FACE_REGIONS))),
    "head_and_neck_regions": (REGION, tuple(sorted(FACE_REGIONS | {"scalp", "neck", "mucous_membrane"}))),
    "extremity_regions": (REGION, ("arm", "axilla", "foot", "hand", "leg")),
    "benign_lesion_symptoms": (
        enum("finding", *FINDINGS),
        (
            "bleeding",
            "pain",
            "itching",
            "inflammation",
            "growth_change",
            "obstruction",
            "irritation",
            "infection",
            "suspicious_for_malignancy",
            "atypia",
            "margins_involved",
            "recurrent_infection",
        ),
    ),
}


#: The phases a fact is read in, when not every phase: the claim lines exist from the policy phase on.
FACT_PHASES = {"lines": ("policy", "route")}


@cache
def dermatology_vocabulary() -> Vocabulary:
    return Vocabulary(
        phases=PHASES,
        fields=FIELDS,
        actions=ALL_ACTIONS,
        value_sets=VALUE_SETS,
        code_validators={
            "icd10": check_icd10,
            "cpt": check_procedure_code,
            "modifier": check_modifier,
            **{system: _policy_code_check(system) for system in POLICY_CODES},
        },
        out_of_scope={"service": ("services",), "encounter": ("service", "other_services")},
    )


__all__ = ["INTEGER", "dermatology_vocabulary"]
