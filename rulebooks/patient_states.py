"""Patient risk states payer policies name, derived from the encounter's ICD-10-CM diagnoses.

Why a table: a payer's policy says "immunosuppressed patient", not a list of codes; the rule
language reads `patient.risk_states any in [immunosuppressed]`, and which codes make a state is
written once, here, where a coder can review it. The Encounter carries no medication list: drug
therapy counts through its ICD-10-CM status codes (Z79.52 long-term systemic steroids, Z79.6-
long-term immunosuppressants, Z79.01 anticoagulants), as coders document it for the claim.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Each state with the ICD-10-CM code prefixes (dotted, as the Encounter writes them) that make it.
RISK_STATES: dict[str, tuple[str, ...]] = {
    "immunosuppressed": (
        "B20",  # HIV disease
        "Z21",  # asymptomatic HIV infection status
        "D80",  # immunodeficiency with predominantly antibody defects
        "D81",  # combined immunodeficiencies
        "D82",  # immunodeficiency with other major defects
        "D83",  # common variable immunodeficiency
        "D84",  # other immunodeficiencies (incl. D84.821 due to drugs)
        "D89.8",  # other specified disorders involving the immune mechanism
        "D89.9",  # disorder involving the immune mechanism, unspecified
        "Z94",  # transplanted organ and tissue status
        "Z79.52",  # long-term (current) use of systemic steroids
        "Z79.6",  # long-term (current) use of immunomodulators and immunosuppressants
        "Z92.25",  # personal history of immunosuppression therapy
    ),
    "transplant_recipient": ("Z94",),
    "anticoagulated": (
        "Z79.01",  # long-term (current) use of anticoagulants
        "Z79.02",  # long-term (current) use of antithrombotics/antiplatelets
    ),
    "diabetic": ("E08", "E09", "E10", "E11", "E13"),
}


def risk_states(diagnoses: Sequence[str]) -> list[str]:
    """The states the diagnoses make, in `RISK_STATES` order.

    >>> risk_states(["L57.0", "Z94.0", "E11.9"])
    ['immunosuppressed', 'transplant_recipient', 'diabetic']
    >>> risk_states(["D89.2"])
    []
    """
    codes = [code.upper() for code in diagnoses]
    return [state for state, prefixes in RISK_STATES.items() if any(c.startswith(prefixes) for c in codes)]
