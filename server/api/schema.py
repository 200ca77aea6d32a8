"""The GraphQL schema: queries and mutations of every context, one transaction per operation."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLResolveInfo,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from sqlalchemy import select
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from server.api.account import AccountMutations, AccountQueries
from server.api.admin import AdminMutations, AdminQueries, ApiKeyInfo, ClinicUser
from server.api.audit import AuditEventInfo, AuditQueries
from server.api.authoring import AuthoringQueries
from server.api.clinic import Clinic, ClinicMutations, ClinicQueries, PayerInfo
from server.api.common import ROLLED_BACK, Conflict, Forbidden, InvalidInput, Node, NotFoundError, RolledBack, context
from server.api.documentation import DocumentationMutations, DocumentationQueries, ProviderQuery
from server.api.encounters import Encounter, EncounterMutations, EncounterQueries
from server.api.ids import parse_global_id
from server.api.overrides import LineOverride, OverrideMutations
from server.api.rulebooks import Rulebook, RulebookMutations, RulebookQueries
from server.api.suggestions import strip_name_suggestions
from server.api.validation import InputValidation
from server.errors import CutisError
from server.jobs import relay
from server.models import EncounterRecord, Payer, ProviderQueryRecord, RulebookRecord
from server.models import LineOverride as LineOverrideRow
from tenants.models import ApiKey, AuditEvent, Membership, Tenant, User
from tenants.roles import Permission

log = logging.getLogger("cutis.graphql")
FAILURES = (InvalidInput, NotFoundError, Forbidden, Conflict)

NODE_TYPES: dict[str, tuple[Any, Permission | None]] = {
    "Encounter": (EncounterRecord, Permission.ENCOUNTERS_READ),
    "Rulebook": (RulebookRecord, Permission.RULEBOOKS_READ),
    "Payer": (Payer, Permission.CLINIC_READ),
    "ApiKey": (ApiKey, Permission.KEYS_ADMIN),
    "AuditEvent": (AuditEvent, Permission.AUDIT_READ),
    "User": (User, Permission.USERS_ADMIN),
    "Tenant": (Tenant, Permission.CLINIC_READ),
    "LineOverride": (LineOverrideRow, Permission.ENCOUNTERS_READ),
    "ProviderQuery": (ProviderQueryRecord, Permission.ENCOUNTERS_READ),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object of your clinic by its global id; null when it is not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        ctx = context(info)
        principal = ctx.require_principal()
        parsed = parse_global_id(str(id))
        if parsed is None:
            return None
        type_name, object_id = parsed
        if type_name not in NODE_TYPES:
            return None
        model, permission = NODE_TYPES[type_name]
        if permission is not None and not principal.can(permission):
            return None
        async with ctx.lock:
            session = await ctx.session()
            if model is User:
                found = (
                    await session.execute(
                        select(User, Membership)
                        .join(Membership, Membership.user_id == User.id)
                        .where(User.id == object_id)
                    )
                ).first()
                if found is None:
                    return None
                from server.api.admin import _user

                return _user(*found)
            if model is Tenant:
                if object_id != principal.tenant_id:
                    return None
                tenant = await session.get(Tenant, object_id)
                return Clinic(id=id, slug=tenant.slug, name=tenant.name) if tenant else None
            row = (await session.execute(select(model).where(model.id == object_id))).scalar_one_or_none()
        if row is None:
            return None
        converters: dict[str, Any] = {
            "Encounter": Encounter.from_record,
            "Rulebook": Rulebook.from_row,
            "Payer": PayerInfo.from_row,
            "ApiKey": ApiKeyInfo.from_row,
            "AuditEvent": AuditEventInfo.from_row,
            "LineOverride": LineOverride.from_row,
            "ProviderQuery": ProviderQuery.from_row,
        }
        return converters[type_name](row)


Query = merge_types(
    "Query",
    (
        AccountQueries,
        ClinicQueries,
        EncounterQueries,
        DocumentationQueries,
        RulebookQueries,
        AuthoringQueries,
        AdminQueries,
        AuditQueries,
        NodeQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        EncounterMutations,
        DocumentationMutations,
        OverrideMutations,
        RulebookMutations,
        ClinicMutations,
        AdminMutations,
    ),
)


class OperationTransaction(SchemaExtension):
    """Commit when the operation has no errors and no typed failure; otherwise roll back.

    A mutation answering with a typed failure (InvalidInput, NotFoundError, Forbidden,
    Conflict) counts as failed. Then relay the committed outbox rows and run after-commit work (never before commit: a
    job must not see a row that might still roll back). A relay that fails (Redis down) changes nothing the client
    sees: the work is committed, and a retry would only store a second version; the sweeper sends the row.
    When the document rolls back, every mutation that had answered success answers `RolledBack` instead:
    no id or secret of something that does not exist leaves the server.
    """

    def resolve(self, _next: Any, root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        if info.parent_type.name != "Mutation":
            return result
        return self._note_outcome(result, info)

    @staticmethod
    async def _note_outcome(result: Any, info: GraphQLResolveInfo) -> Any:
        """A typed failure rolls the whole operation back; a success is remembered to be withdrawn then."""
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, FAILURES):
            info.context.failed = True
        else:
            info.context.succeeded.append((info.path.key, info.field_nodes[0], info.fragments))
        return result

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context.context
        result = self.execution_context.result
        ok = not ctx.failed and not (result is not None and getattr(result, "errors", None))
        try:
            await ctx.finish(commit=ok)
        except Exception as error:  # the commit itself failed: masked, logged by type only (no SQL, no PHI)
            log.error("commit failed: %s", type(error).__name__)
            if result is not None:
                result.data = None
                result.errors = [GraphQLError("internal error")]
            return
        if not ok:
            _withdraw_successes(result, ctx.succeeded)
            return
        if ctx.relay_after_commit:
            try:
                await relay(ctx.services.session_factory, ctx.services.queue, list(ctx.relay_after_commit))
            except Exception as error:  # committed already: the outbox sweeper delivers it; the answer stays a success
                log.warning("relay after commit failed (%s); the outbox sweeper will send it", type(error).__name__)
        for work in ctx.after_commit:
            await work()


def _withdraw_successes(result: Any, succeeded: list[tuple[str, FieldNode, dict[str, Any]]]) -> None:
    """Each mutation that answered success answers RolledBack, shaped by what the document selected."""
    data = getattr(result, "data", None)
    if not data:
        return
    for key, field, fragments in succeeded:
        if data.get(key) is not None:
            data[key] = _rolled_back_selection(field.selection_set, fragments)


def _rolled_back_selection(selection_set: Any, fragments: dict[str, Any]) -> dict[str, Any]:
    """The fields a document asked of a RolledBack (its __typename, and `message` in a fragment on it).

    >>> from graphql import parse
    >>> document = parse("mutation { a { __typename ... on RolledBack { why: message } ... on Other { x } } }")
    >>> field = document.definitions[0].selection_set.selections[0]
    >>> _rolled_back_selection(field.selection_set, {})["__typename"]
    'RolledBack'
    >>> sorted(_rolled_back_selection(field.selection_set, {}))
    ['__typename', 'why']
    """
    shaped: dict[str, Any] = {}
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            if selection.name.value == "__typename":
                shaped[key] = "RolledBack"
            elif selection.name.value == "message":
                shaped[key] = ROLLED_BACK
            continue
        if isinstance(selection, InlineFragmentNode):
            condition, inner = selection.type_condition, selection.selection_set
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            fragment = fragments[selection.name.value]
            condition, inner = fragment.type_condition, fragment.selection_set
        else:
            continue
        if condition is None or condition.name.value == "RolledBack":
            shaped.update(_rolled_back_selection(inner, fragments))
    return shaped


ACCOUNT_OPERATIONS = frozenset({"login", "logout", "requestPasswordReset", "resetPassword"})


class AccountOperationsAlone(ValidationRule):
    """login, logout and the password operations set cookies or send mail: each goes alone in its document,
    so that no other operation's failure can roll back what the browser or a mailbox already holds."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation != OperationType.MUTATION:
            return
        names = [s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)]
        account = sorted(ACCOUNT_OPERATIONS.intersection(names))
        if account and len(node.selection_set.selections) > 1:
            self.report_error(GraphQLError(f"`{account[0]}` must be the only operation of its mutation document", node))


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:  # syntax and validation errors: the client needs to see them
        return False
    return not isinstance(original, CutisError | GraphQLError)


class CutisSchema(strawberry.Schema):
    """Logs unexpected errors by type and path only: a message or traceback may quote PHI."""

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """With `disable_field_suggestions` (production): every kind of suggestion, not only fields'."""
        error.message = strip_name_suggestions(error.message)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            if _should_mask(error):
                log.error(
                    "unexpected error in %s: %s",
                    ".".join(map(str, error.path or [])),
                    type(error.original_error).__name__,
                )


def build_schema(*, production: bool = False, max_depth: int = 12) -> strawberry.Schema:
    # The limiters' validation rules are built once, so that the validation cache (keyed by the
    # document and the rules) hits for every repeated operation.
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=30).validation_rules,
        AccountOperationsAlone,
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        InputValidation,  # inside OperationTransaction (the last resolve hook wraps the others): a refusal rolls back
        OperationTransaction,
        lambda: MaxTokensLimiter(max_token_count=5000),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        lambda: MaskErrors(should_mask_error=_should_mask, error_message="internal error"),
    ]
    return CutisSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        types=[
            Encounter,
            Rulebook,
            PayerInfo,
            ApiKeyInfo,
            AuditEventInfo,
            ClinicUser,
            Clinic,
            LineOverride,
            ProviderQuery,
            RolledBack,
        ],
    )
