"""One check of every field's arguments before its resolver runs: storable text, finite numbers, bounded lists.

Why once, here: PostgreSQL refuses NUL characters and lone surrogates (an internal error) where
SQLite stores them; an over-long name is a DataError on one database and accepted on the other;
a trailing space makes "AETNA " a second payer beside "AETNA". Walking the coerced arguments of
every field (nested input objects and lists too), with limits looked up by schema coordinate,
gives one answer on both databases: an `InvalidInput` naming each field path when the field's
result can say so, else the `InputInvalid` GraphQL error (which passes error masking).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLResolveInfo,
    GraphQLUnionType,
    get_nullable_type,
)
from strawberry.extensions import SchemaExtension

from rulebooks.models.encounter import MAX_DIAGNOSES, MAX_NOTE_CHARS, MAX_SERVICES
from server.api.common import InvalidInput
from server.claims.setup import MAX_PAYERS
from server.documentation import MAX_ADDENDUM
from server.ehr.imports import MAX_PUSH_CHARS
from server.errors import FieldError, InputInvalid
from server.models import (
    ClaimRecord,
    EhrConnection,
    EncounterRecord,
    FeeScheduleEntry,
    Payer,
    ProviderQueryRecord,
    RulebookRecord,
)
from server.rulebook_drafts import MAX_RULEBOOK_CHARS
from tenants.models import ApiKey, AuditEvent, User

DEFAULT_MAX_CHARS = 200  # names, the longest ordinary strings, are String(200) columns
DEFAULT_MAX_ITEMS = 100
MAX_REASON_CHARS = 2_000
MAX_SECRET_CHARS = 1_024
MAX_PROBLEMS = 20  # enough to act on; a 200,000-item input does not get 200,000 answers


@dataclass(frozen=True)
class Limit:
    """What one argument or input field may hold: each string's length, a list's length, and
    whether the string is an identifier (trimmed before use) or text kept as typed."""

    max_chars: int = DEFAULT_MAX_CHARS
    max_items: int = DEFAULT_MAX_ITEMS
    trim: bool = True


def column_chars(attribute: Any) -> int:
    """The length of a String(n) column: the database's own limit, so that no value reaches it too long."""
    return int(attribute.property.columns[0].type.length)


ORDINARY = Limit()
RULEBOOK_TEXT = Limit(max_chars=MAX_RULEBOOK_CHARS, trim=False)
NOTE_TEXT = Limit(max_chars=MAX_NOTE_CHARS, trim=False)
REASON_TEXT = Limit(max_chars=MAX_REASON_CHARS, trim=False)
SECRET = Limit(max_chars=MAX_SECRET_CHARS, trim=False)  # a password is exactly what was typed
EMAIL = Limit(max_chars=column_chars(User.email))

# By schema coordinate (`Type.field(argument:)` or `InputType.field`); anything else is ORDINARY.
LIMITS: dict[str, Limit] = {
    # the clinic's payers and fees
    "Mutation.savePayer(code:)": Limit(max_chars=column_chars(Payer.code)),
    "Mutation.savePayer(name:)": Limit(max_chars=column_chars(Payer.name)),
    "Mutation.savePayer(planType:)": Limit(max_chars=column_chars(Payer.plan_type)),
    "Mutation.savePayer(ehrPayerId:)": Limit(max_chars=column_chars(Payer.ehr_payer_id)),
    "Mutation.savePayer(clearinghousePayerId:)": Limit(max_chars=column_chars(Payer.clearinghouse_payer_id)),
    "Query.payerByExternalId(externalId:)": Limit(max_chars=column_chars(Payer.ehr_payer_id)),
    "Mutation.setFee(code:)": Limit(max_chars=column_chars(FeeScheduleEntry.code)),
    "Mutation.setFee(fee:)": Limit(max_chars=32),
    # rulebooks and the rule editor
    "Mutation.createRulebook(name:)": Limit(max_chars=column_chars(RulebookRecord.name)),
    "Mutation.createRulebook(payer:)": Limit(max_chars=column_chars(RulebookRecord.payer_code)),
    "Mutation.createRulebook(text:)": RULEBOOK_TEXT,
    "Mutation.saveRulebookDraft(text:)": RULEBOOK_TEXT,
    "Query.rulebooks(payer:)": Limit(max_chars=column_chars(RulebookRecord.payer_code)),
    "Query.validateRulebook(text:)": RULEBOOK_TEXT,
    "Query.formatRulebook(text:)": RULEBOOK_TEXT,
    "Query.testRulebook(text:)": RULEBOOK_TEXT,
    "Query.explainRulebook(text:)": RULEBOOK_TEXT,
    # people, sessions and keys
    "Mutation.login(email:)": EMAIL,
    "Mutation.login(password:)": SECRET,
    "Mutation.requestPasswordReset(email:)": EMAIL,
    "Mutation.resetPassword(newPassword:)": SECRET,
    "Mutation.addUser(email:)": EMAIL,
    "Mutation.addUser(name:)": Limit(max_chars=column_chars(User.name)),
    "Mutation.createApiKey(name:)": Limit(max_chars=column_chars(ApiKey.name)),
    # the canonical encounter
    "EncounterInput.externalId": Limit(max_chars=column_chars(EncounterRecord.external_id)),
    "EncounterInput.note": NOTE_TEXT,
    "EncounterInput.services": Limit(max_items=MAX_SERVICES),
    "EncounterInput.diagnoses": Limit(max_items=MAX_DIAGNOSES),
    "EncounterInput.staffCodes": Limit(max_items=MAX_DIAGNOSES),
    "ServiceInput.diagnoses": Limit(max_items=MAX_DIAGNOSES),
    "CoverageInput.payer": Limit(max_chars=column_chars(EncounterRecord.payer_code)),
    "PathologyInput.result": Limit(max_chars=MAX_REASON_CHARS),
    # EHR messages pushed
    "Mutation.importEhrMessages(body:)": Limit(max_chars=MAX_PUSH_CHARS, trim=False),
    "Mutation.saveEhrConnection(name:)": Limit(max_chars=column_chars(EhrConnection.name)),
    "Mutation.saveEhrConnection(baseUrl:)": Limit(max_chars=column_chars(EhrConnection.base_url)),
    "Mutation.saveEhrConnection(tokenUrl:)": Limit(max_chars=column_chars(EhrConnection.token_url)),
    "Mutation.saveEhrConnection(clientId:)": Limit(max_chars=column_chars(EhrConnection.client_id)),
    "Mutation.saveEhrConnection(keyId:)": Limit(max_chars=column_chars(EhrConnection.key_id)),
    "Mutation.saveEhrConnection(scope:)": Limit(max_chars=column_chars(EhrConnection.scope)),
    "Mutation.saveEhrConnection(privateKeyPem:)": Limit(max_chars=16_000, trim=False),
    # list filters
    "EncounterFilter.payer": Limit(max_chars=column_chars(EncounterRecord.payer_code)),
    "EncounterFilter.externalId": Limit(max_chars=column_chars(EncounterRecord.external_id)),
    "EncounterFilter.providerNpi": Limit(max_chars=10),
    "ProviderQueryFilter.externalId": Limit(max_chars=column_chars(ProviderQueryRecord.external_id)),
    "ProviderQueryFilter.topic": Limit(max_chars=column_chars(ProviderQueryRecord.topic)),
    "AuditFilter.category": Limit(max_chars=column_chars(AuditEvent.category)),
    "AuditFilter.action": Limit(max_chars=column_chars(AuditEvent.action)),
    # documentation and overrides: text a person wrote, kept as written
    "Mutation.answerProviderQuery(addendum:)": Limit(max_chars=MAX_ADDENDUM, trim=False),
    "Mutation.withdrawProviderQuery(reason:)": REASON_TEXT,
    "Mutation.overrideLine(reason:)": REASON_TEXT,
    # the billing setup: its longest list is one clearinghouse's payer ids; its size is checked by the service
    "Mutation.saveBillingSetup(setup:)": Limit(max_items=MAX_PAYERS),
    "Mutation.buildClaim(payerClaimControlNumber:)": Limit(
        max_chars=column_chars(ClaimRecord.payer_claim_control_number)
    ),
    "Mutation.buildClaim(clearinghouse:)": Limit(max_chars=32),
}


class Problems:
    """The problems found so far, at most MAX_PROBLEMS of them."""

    def __init__(self) -> None:
        self.found: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(FieldError(path=path, message=message))


def string_problem(value: str, limit: Limit) -> str | None:
    """Why a string cannot be accepted, or None. Never quotes the value (it may be PHI)."""
    if "\x00" in value:
        return "contains a NUL character, which text cannot hold"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired UTF-16 surrogate, which is not a character"
    if len(value) > limit.max_chars:
        return f"at most {limit.max_chars:,} characters (this has {len(value):,})"
    return None


def clean_value(value: Any, graphql_type: GraphQLInputType | None, limit: Limit, path: str, problems: Problems) -> Any:
    """The value as the resolver should see it (identifiers trimmed); problems are noted, not raised."""
    if value is None:
        return None
    nullable = get_nullable_type(graphql_type) if graphql_type is not None else None
    if isinstance(value, Enum) or isinstance(nullable, GraphQLEnumType):  # one of the schema's own values
        return value
    if isinstance(value, str):
        if limit.trim:
            value = value.strip()
        problem = string_problem(value, limit)
        if problem:
            problems.add(path, problem)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.add(path, "a finite number (not NaN or Infinity)")
        return value
    if isinstance(value, list):
        if len(value) > limit.max_items:
            problems.add(path, f"at most {limit.max_items:,} items (this has {len(value):,})")
            return value
        item_type = nullable.of_type if isinstance(nullable, GraphQLList) else None
        return [clean_value(item, item_type, limit, f"{path}.{index}", problems) for index, item in enumerate(value)]
    if isinstance(value, dict):
        if isinstance(nullable, GraphQLInputObjectType):
            return {
                name: clean_value(
                    item,
                    nullable.fields[name].type if name in nullable.fields else None,
                    LIMITS.get(f"{nullable.name}.{name}", ORDINARY),
                    f"{path}.{name}",
                    problems,
                )
                for name, item in value.items()
            }
        return {name: clean_value(item, None, limit, f"{path}.{name}", problems) for name, item in value.items()}
    return value


def clean_arguments(info: GraphQLResolveInfo, arguments: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Every argument of the field being resolved, cleaned, with the problems found (paths from the argument)."""
    parent = info.parent_type.name
    field = info.parent_type.fields.get(info.field_name)
    problems = Problems()
    cleaned = {}
    for name, value in arguments.items():
        argument = field.args.get(name) if field is not None else None
        limit = LIMITS.get(f"{parent}.{info.field_name}({name}:)", ORDINARY)
        cleaned[name] = clean_value(value, argument.type if argument else None, limit, name, problems)
    return cleaned, problems.found


def answers_invalid_input(info: GraphQLResolveInfo) -> bool:
    """The field's result is a union with InvalidInput: it can refuse input as a typed result."""
    result_type = get_nullable_type(info.return_type)
    return isinstance(result_type, GraphQLUnionType) and any(t.name == "InvalidInput" for t in result_type.types)


class InputValidation(SchemaExtension):
    """Cleans every field's arguments before its resolver runs, or refuses them (see the module docstring).

    Register it before OperationTransaction: that one then sees a refusal as a typed failure of the
    mutation and rolls the whole operation back.
    """

    def resolve(self, _next: Any, root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            return _next(root, info, *args, **kwargs)
        cleaned, problems = clean_arguments(info, kwargs)
        if not problems:
            return _next(root, info, *args, **cleaned)
        refused = InputInvalid("the input was refused", problems)
        if answers_invalid_input(info):
            return InvalidInput.from_error(refused)
        raise InputInvalid(str(refused), problems)  # a GraphQL error carries only its message: name the paths there
