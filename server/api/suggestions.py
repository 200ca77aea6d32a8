"""Production answers never suggest names: "Did you mean 'ssn'?" maps a schema for someone who may not see it.

graphql-core writes suggestions into error messages for fields, arguments, types, enum values and
input fields (in a variable's value, mid-message); Strawberry's `disable_field_suggestions` strips only
the first kind, so `CutisSchema` strips them all with this.
"""

from __future__ import annotations

import re

_NAME = r"'[_A-Za-z][_0-9A-Za-z]*'"
_SUGGESTION = re.compile(
    rf" Did you mean (?:to use an inline fragment on |the enum value )?{_NAME}(?:, {_NAME})*(?:,? or {_NAME})?\?"
)


def strip_name_suggestions(message: str) -> str:
    """The message without graphql-core's "Did you mean ...?" sentences.

    >>> strip_name_suggestions("Cannot query field 'nam' on type 'Clinic'. Did you mean 'name'?")
    "Cannot query field 'nam' on type 'Clinic'."
    >>> strip_name_suggestions("Unknown type 'Encountr'. Did you mean 'Encounter', 'Payer', or 'EncounterInput'?")
    "Unknown type 'Encountr'."
    >>> strip_name_suggestions("... unknown field 'stauts'. Did you mean 'status'? Found: { stauts: \\"coded\\" }.")
    '... unknown field \\'stauts\\'. Found: { stauts: "coded" }.'
    """
    return _SUGGESTION.sub("", message)
