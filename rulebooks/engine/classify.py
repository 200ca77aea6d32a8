"""Classification of each service (medical | cosmetic | borderline) and the set-aside routes.

Why a hook: the note-analysis classifier will fill `CodingContext.classifications` from the
note; until then (and for any service it leaves out) the facts decide: a `cosmetic` service, or
one the patient requested for appearance with no diagnosis that indicates treatment, is
cosmetic; a patient request beside an indicating diagnosis is borderline and waits for the
provider (derm-coding.md 11). Cosmetic and borderline services are coded on their own, so a
claim never carries them (except a cosmetic service a Medicare patient asked to file, with GY,
engine/liability.py) and a shared line (17110 for five lesions) never mixes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rulebooks.engine.context import CodingContext, shared_step_reason, step_reason
from rulebooks.engine.liability import filed_at_patient_request
from rulebooks.models import Reason, Service
from rulebooks.models.encounter import PROCEDURE_CODE_FORMAT

STEP_CLASSIFY = "classify_services"
STEP_SET_ASIDE = "code_set_aside_services"
# Diagnoses that describe a lesion without indicating its treatment (11.2, 11.3, 2.2).
NON_INDICATING_PREFIXES = ("Z41.1", "L82.1", "L91.8", "D22", "D23", "L81.4", "I78.1", "L90.8")
SET_ASIDE = ("cosmetic", "borderline")
BORDERLINE_QUERY = (
    "The patient asked for removal for appearance and {diagnoses} is documented: document the "
    "medical indication (bleeding, pain, itching, inflammation, change, suspicion of malignancy) "
    "or confirm the service is cosmetic."
)


def fact_classification(ctx: CodingContext, service: Service) -> tuple[str, Reason | None]:
    """A service the note classifier left out, classified from its facts, with the reason of the
    rule whose criteria decided it (None when no rule did): a `cosmetic` service is cosmetic; one a
    required ABN lists is expected to be denied by Medicare FFS (the provider said so by issuing it); an E/M, or a
    service the patient did not ask for, is medical; a removal the patient asked for is
    judged by the payer's cosmetic criteria (`PayerPolicy.cosmetic_requests`, the national base's
    `cosmetic-request-criteria`): cosmetic when every diagnosis is one that does not indicate
    treatment, else borderline. Without criteria the provider is asked (borderline)."""
    if service.kind == "cosmetic":
        return "cosmetic", None
    if ctx.encounter.denial_expected_by_abn(service.id):
        return "expected_denial", None
    if service.kind == "em" or not service.patient_requested_cosmetic:
        return "medical", None
    criteria = ctx.policy.cosmetic_requests
    if criteria is None:
        return "borderline", None
    cosmetic = criteria.diagnoses.all_of([code.upper() for code in service.diagnoses])
    return "cosmetic" if cosmetic else "borderline", criteria.reason


def classify_services(ctx: CodingContext) -> None:
    """Fill the classification of every service the classifier did not classify, and set aside
    the cosmetic and borderline ones."""
    if ctx.only_service_ids is not None:
        return
    for service in ctx.encounter.services:
        classification: str | None = ctx.classifications.get(service.id)
        decided_by = None
        if classification is None:
            classification, decided_by = fact_classification(ctx, service)
            ctx.classifications[service.id] = classification  # type: ignore[assignment]
        if classification in SET_ASIDE:
            note = ctx.classification_notes.get(service.id)
            reason = (
                note.reason
                if note is not None
                else step_reason(
                    STEP_CLASSIFY,
                    f"service classified {classification}",
                    kind=service.kind,
                    patient_requested_cosmetic=service.patient_requested_cosmetic,
                    diagnoses=service.diagnoses,
                )
            )
            ctx.exclude(service, reason, detail=classification, flag=False)
            if decided_by is not None:
                ctx.classified_by[service.id] = decided_by


def code_set_aside_services(ctx: CodingContext, family_passes: Sequence[Callable[[CodingContext], None]]) -> None:
    """Code cosmetic services to self-pay and borderline services to held, each set on its own."""
    if not ctx.excluded_service_ids or not any(c in SET_ASIDE for c in ctx.classifications.values()):
        return
    for classification in SET_ASIDE:
        service_ids = frozenset(
            sid for sid, c in ctx.classifications.items() if c == classification and sid in ctx.excluded_service_ids
        )
        if not service_ids:
            continue
        sub = CodingContext(
            encounter=ctx.encounter,
            fees=ctx.fees,
            classifications=ctx.classifications,
            classification_notes=ctx.classification_notes,
            policy=ctx.policy,
            codesets=ctx.codesets,
            only_service_ids=service_ids,
        )
        for family_pass in family_passes:
            family_pass(sub)
        for line in sub.lines:
            why = ctx.excluded_service_ids.get(line.service_ids[0]) if line.service_ids else None
            if why is not None and line.route != "held":
                line.reasons.append(why)
                decided_by = ctx.classified_by.get(line.service_ids[0])
                if decided_by is not None:
                    line.reasons.append(decided_by)
            if classification == "cosmetic" and line.route == "claim":
                filed = filed_at_patient_request(ctx, line.service_ids)
                if filed and PROCEDURE_CODE_FORMAT.match(line.code):
                    line.reasons.append(
                        shared_step_reason(
                            STEP_SET_ASIDE,
                            "excluded service filed at the patient's request: on the claim, patient liable (GY)",
                        )
                    )
                else:
                    line.route = "self_pay"
                    line.reasons.append(
                        shared_step_reason(
                            STEP_SET_ASIDE, "cosmetic service: self-pay at the cosmetic fee, never on the claim"
                        )
                    )
                    if filed:  # a clinic's item code is no code a claim can carry
                        ctx.flag(
                            "filing_not_possible",
                            shared_step_reason(
                                STEP_SET_ASIDE,
                                "the patient asked to file it, but a claim line needs a CPT/HCPCS code: self-pay",
                            ),
                            detail=line.code,
                            service_ids=line.service_ids,
                        )
            elif classification == "borderline" and line.route == "claim":
                line.route = "held"
                services = [ctx.service(sid) for sid in line.service_ids]
                asked = asked_already(ctx, line.service_ids)
                documented = [
                    query
                    for sid in line.service_ids
                    if sid in ctx.classification_notes and (query := ctx.classification_notes[sid].query)
                ]
                line.query = asked or (
                    " ".join(dict.fromkeys(documented))
                    if documented
                    else BORDERLINE_QUERY.format(
                        diagnoses=", ".join(sorted({d for s in services for d in s.diagnoses}))
                    )
                )
                line.reasons.append(
                    step_reason(
                        STEP_SET_ASIDE,
                        "borderline service held for the provider",
                        diagnoses=sorted({d for s in services for d in s.diagnoses}),
                    )
                )
                if not asked:  # one question per service: a rule's query already asked it
                    ctx.flag("provider_query", line.reasons[-1], detail=line.query, service_ids=line.service_ids)
            ctx.lines.append(line)
        ctx.flags.extend(sub.flags)
        self_paid = {sid for line in sub.lines if line.route == "self_pay" for sid in line.service_ids}
        if classification == "cosmetic" and self_paid:
            ctx.flag(
                "cosmetic_self_pay",
                shared_step_reason(STEP_SET_ASIDE, "cosmetic services are paid by the patient"),
                detail="cosmetic services routed to self-pay",
                service_ids=sorted(self_paid),
            )
    routes = {line.route for line in ctx.lines}
    if "self_pay" in routes and "claim" in routes:
        ctx.flag(
            "split_encounter",
            shared_step_reason(STEP_SET_ASIDE, "medical services on the claim, cosmetic services self-pay"),
            detail="claim and self-pay",
        )


def explain_medical_classifications(ctx: CodingContext) -> None:
    """A claim line of a service the documentation showed medical carries that reason (with evidence)."""
    if not ctx.classification_notes:
        return
    for line in ctx.lines:
        if line.route != "claim":
            continue
        for service_id in line.service_ids:
            note = ctx.classification_notes.get(service_id)
            if (
                note is not None
                and ctx.classifications.get(service_id) == "medical"
                and note.reason not in line.reasons
            ):
                line.reasons.append(note.reason)


def asked_already(ctx: CodingContext, service_ids: Sequence[str]) -> str | None:
    """The question a rule already put to the provider about these services (the payer's own words)."""
    for flag in ctx.flags:
        if flag.code == "provider_query" and flag.detail and set(flag.service_ids) & set(service_ids):
            return flag.detail
    return None
