"""ICD-10-CM validity and billability for the fiscal year of the date of service.

Why flag rather than fix: a header code or a code not in the release is rejected by the payer,
and only the provider can say which specific code the note supports. A date of service in a
fiscal year whose release is not loaded is checked against the newest loaded release and
flagged `codeset_not_loaded`, never silently.
"""

from __future__ import annotations

from rulebooks.dated_codesets import fiscal_year
from rulebooks.engine.context import CodingContext, step_reason

STEP = "check_diagnosis_codes"


def check_diagnosis_codes(ctx: CodingContext) -> None:
    date_of_service = ctx.encounter.date_of_service
    release, exact = ctx.codesets.icd10cm_for(date_of_service)
    if not exact:
        ctx.flag(
            "codeset_not_loaded",
            step_reason(
                STEP,
                "the ICD-10-CM release for the date of service is not loaded; checked against the newest loaded",
                fiscal_year=fiscal_year(date_of_service),
                checked_against=release.fiscal_year,
                source=release.source,
            ),
            detail=f"ICD-10-CM FY{fiscal_year(date_of_service)} not loaded; checked against FY{release.fiscal_year}",
        )
    for code in ctx.encounter.diagnoses:
        billable = release.lookup(code)
        if billable:
            continue
        linked = [s.id for s in ctx.encounter.services if code in s.diagnoses]
        if billable is None:
            message, detail = "not an ICD-10-CM code in the release", f"{code} is not a valid ICD-10-CM code"
        else:
            message, detail = (
                "a category header, not billable",
                (f"{code} is not billable: code to the highest specificity"),
            )
        ctx.flag(
            "provider_query",
            step_reason(STEP, message, code=code, fiscal_year=release.fiscal_year),
            detail=f"{detail} (FY{release.fiscal_year}).",
            service_ids=linked,
        )
