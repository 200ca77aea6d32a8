"""A generated clinic rulebook of about 200 rules, in the rule language, for the engine benchmark.

Why generated: the shipped library has a handful of rules, and a clinic that has written down
every payer habit it meets has hundreds. The rules below are the kinds a billing lead writes
(lesion caps, documentation queries, prior-authorization triggers, modifier habits, review
flags by size, count, stage, area, units, plan type and diagnosis), each family repeated with
the thresholds, plan types, site groups and codes a real stack varies, across all four phases.
Most rules name the service kind they are about, as real rules do, and most payer habits name
the plan type they apply to; some rules (patient age, place of service) name neither.
"""

from __future__ import annotations

KINDS = (
    "em",
    "biopsy",
    "destruction",
    "shave",
    "excision",
    "repair",
    "adjacent_tissue_transfer",
    "graft",
    "mohs",
    "skin_tag_removal",
    "injection",
    "cosmetic",
)
PLANS = ("commercial", "medicare_ffs", "medicare_advantage", "medicaid")
SITE_GROUPS = ("trunk_arms_legs", "scalp_neck_hands_feet_genitalia", "face_ears_eyelids_nose_lips")
WATCHED_DIAGNOSES = ("D48.5", "D49.2", "D03.9", "D22.9", "C43.9", "D04.9", "L57.0", "C44.91")


def _rule(rule_id: str, label: str, phase: str, condition: str, actions: str) -> str:
    return f'rule {rule_id} "{label}"\n  in {phase}\n  when {condition}\n  then\n    {actions}\n'


def _plan(index: int) -> str:
    return PLANS[index % len(PLANS)]


def _lesion_rules(index: int) -> list[str]:
    cap = 8 + index
    plan = _plan(index)
    return [
        _rule(
            f"ak-review-{index}",
            f"Review AK destruction above {cap} lesions",
            "policy",
            f"service.kind = destruction and plan_type = {plan}\n"
            f"   and service.diagnoses any in actinic_keratosis\n"
            f"   and present(service.count)\n   and service.count > {cap} lesions",
            f"flag ak_count_review_{index}",
        ),
        _rule(
            f"wart-count-{index}",
            f"Benign destruction of more than {cap} lesions needs a note",
            "policy",
            f"service.kind = destruction and plan_type = {plan}\n   and service.diagnoses any in warts\n"
            f"   and service.count > {cap} lesions",
            f"flag benign_destruction_count_{index}",
        ),
        _rule(
            f"tags-{index}",
            f"Skin tags beyond {cap + 7} are reviewed",
            "policy",
            f"service.kind = skin_tag_removal and plan_type = {plan} and service.count > {cap + 7} lesions",
            f"flag skin_tag_volume_{index}",
        ),
    ]


def _size_rules(index: int) -> list[str]:
    size = 0.5 + index / 4
    plan = _plan(index)
    group = SITE_GROUPS[index % len(SITE_GROUPS)]
    return [
        _rule(
            f"excision-size-{index}",
            f"Excised lesions over {size} cm get a size review",
            "policy",
            f"service.kind = excision and plan_type = {plan}\n   and present(service.lesion_size_cm)\n"
            f"   and service.lesion_size_cm > {size} cm",
            f"flag excision_size_review_{index}",
        ),
        _rule(
            f"shave-size-{index}",
            f"Shave removals over {size} cm are checked against the path report",
            "policy",
            f"service.kind = shave and plan_type = {plan} and service.lesion_size_cm > {size} cm",
            f"flag shave_size_review_{index}",
        ),
        _rule(
            f"margin-{index}",
            "Excision margins must be documented",
            "select",
            f"service.kind = excision and missing(service.margin_cm) and present(service.site_group)\n"
            f"   and service.site_group = {group}",
            f'query provider "Document the margin taken around the lesion on {{service.site}} ({index})."',
        ),
    ]


def _procedure_rules(index: int) -> list[str]:
    length = 2 + index
    area = 10 + 5 * index
    stages = 2 + index % 3
    plan = _plan(index)
    group = SITE_GROUPS[index % len(SITE_GROUPS)]
    watched = WATCHED_DIAGNOSES[index % len(WATCHED_DIAGNOSES)]
    return [
        _rule(
            f"repair-length-{index}",
            f"Repairs over {length} cm are reviewed",
            "policy",
            f"service.kind = repair and plan_type = {plan}\n   and present(service.repair.length_cm)\n"
            f"   and service.repair.length_cm > {length} cm",
            f"flag repair_length_review_{index}",
        ),
        _rule(
            f"complex-repair-{index}",
            "A complex repair needs its complexity documented",
            "policy",
            f"service.kind = repair and service.repair.complexity = complex and plan_type = {plan}\n"
            f"   and service.repair.length_cm > {length} cm",
            f"require prior_auth for lines in [13100..13153]\n    flag complex_repair_{index}",
        ),
        _rule(
            f"graft-area-{index}",
            f"Grafts over {area} sq cm need prior authorization",
            "policy",
            f"service.kind = graft and plan_type = {plan} and service.area_sq_cm > {area} sq_cm",
            "require prior_auth for lines in [15200..15261]\n"
            f"    if missing(service.prior_auth_number) then flag graft_pa_missing_{index}\n"
            f"    else flag graft_pa_on_file_{index}",
        ),
        _rule(
            f"flap-area-{index}",
            f"Flaps over {area} sq cm are reviewed",
            "policy",
            f"service.kind = adjacent_tissue_transfer and present(service.site_group)\n"
            f"   and service.site_group = {group}\n"
            f"   and service.area_sq_cm > {area} sq_cm",
            f"flag flap_area_review_{index}",
        ),
        _rule(
            f"mohs-stages-{index}",
            f"Mohs beyond {stages} stages needs prior authorization",
            "policy",
            f"service.kind = mohs and plan_type = {plan}\n   and present(service.mohs.stage_count)\n"
            f"   and service.mohs.stage_count > {stages} stages",
            "require prior_auth for lines in [17311..17315]\n"
            f"    if missing(service.prior_auth_number) then flag mohs_pa_missing_{index}\n"
            f"    else flag mohs_pa_on_file_{index}",
        ),
        _rule(
            f"mohs-site-{index}",
            "Mohs off the face needs the appropriate-use criteria",
            "classify",
            "service.kind = mohs and service.site_group = trunk_arms_legs and service.diagnoses any in bcc_trunk",
            f"flag mohs_auc_review_{index}",
        ),
        _rule(
            f"biopsy-technique-{index}",
            "A biopsy needs its technique",
            "select",
            "service.kind = biopsy and missing(service.technique)",
            f'query provider "Document the biopsy technique for the lesion on {{service.site}} ({index})."',
        ),
        _rule(
            f"biopsy-path-{index}",
            "Biopsies of suspected melanoma are tracked",
            "route",
            f"service.kind = biopsy and service.diagnoses any in [{watched}]",
            f"flag melanoma_tracking_{index}",
        ),
    ]


def _payer_habit_rules(index: int) -> list[str]:
    plan = _plan(index)
    units = 4 + index
    return [
        _rule(
            f"injection-units-{index}",
            f"More than {units} drug units are reviewed",
            "policy",
            f"service.kind = injection and service.drug.units > {units}",
            f"flag drug_units_review_{index}",
        ),
        _rule(
            f"injection-jz-{index}",
            "No wasted drug: JZ",
            "policy",
            f"service.kind = injection and plan_type = {plan}",
            "add modifier JZ to lines in [J3301]",
        ),
        _rule(
            f"em-level-{index}",
            f"High-level visits for {plan} are reviewed",
            "policy",
            f"service.kind = em and plan_type = {plan} and any line in lines: line.code in [99215, 99205]",
            f"flag em_level_review_{index}",
        ),
        _rule(
            f"em-25-{index}",
            "A separately identifiable visit keeps 25",
            "policy",
            f"service.kind = em and plan_type = {plan}",
            "remove modifier 59 from lines in [99212..99215]",
        ),
        _rule(
            f"medicaid-age-{index}",
            "Medicaid patients under 21 follow EPSDT",
            "classify",
            f"plan_type = medicaid and present(patient.age) and patient.age < {18 + index % 4} years",
            f"flag epsdt_{index}",
        ),
        _rule(
            f"place-{index}",
            "Facility place of service is reviewed",
            "route",
            f'place_of_service = "{21 + index % 3}"',
            f"flag facility_review_{index}",
        ),
    ]


def _classification_rules(index: int) -> list[str]:
    plan = _plan(index)
    return [
        _rule(
            f"benign-symptom-{index}",
            "A benign removal with a symptom is medical",
            "classify",
            f"service.kind in [shave, excision, destruction, skin_tag_removal] and plan_type = {plan}\n"
            "   and service.diagnoses all in benign_lesions\n   and findings any in benign_lesion_symptoms",
            "classify medical",
        ),
        _rule(
            f"cosmetic-route-{index}",
            "Cosmetic services never go on the claim",
            "route",
            f"service.kind = cosmetic and plan_type = {plan}",
            "route to self_pay",
        ),
        _rule(
            f"malignant-destruction-{index}",
            "Malignant destruction needs pathology",
            "select",
            f"service.kind = destruction and plan_type = {plan} and service.diagnoses any in skin_cancer\n"
            "   and missing(service.pathology.malignant)",
            f"flag pathology_pending_{index}",
        ),
    ]


VALUESETS = """valueset actinic_keratosis = [L57.0]

valueset warts = [B07.8, B07.9]

valueset benign_lesions = [L82.1, L82.0, L91.8, D22.*, D23.*]

valueset skin_cancer = [C44.*, C43.*, D03.*, D04.*]

valueset bcc_trunk = [C44.519, C44.611, C44.711]
"""


def bench_rulebook(target_rules: int = 200) -> str:
    """The text of a clinic rulebook with about `target_rules` rules (never fewer)."""
    rules: list[str] = []
    index = 0
    while len(rules) < target_rules:
        for family in (_lesion_rules, _size_rules, _procedure_rules, _payer_habit_rules, _classification_rules):
            rules.extend(family(index))
        index += 1
    header = 'rulebook "Bench clinic rules"\n  extends "National base"\n  effective 2026-01-01\n\n'
    return header + VALUESETS + "\n" + "\n".join(rules)


def rule_count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith("rule "))
