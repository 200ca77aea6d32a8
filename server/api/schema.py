"""The GraphQL schema: queries and mutations of every context, one transaction per operation."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
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
from sqlalchemy.ext.asyncio import AsyncSession
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

from server import (
    audit,
    clinic,
    documentation,
    draft_shadows,
    impact_replay,
    overrides,
    people,
    rulebook_drafts,
    rulebook_versions,
)
from server.api.account import AccountMutations, AccountQueries
from server.api.admin import AdminMutations, AdminQueries, ApiKeyInfo, ClinicUser, _user
from server.api.audit import AuditEventInfo, AuditQueries
from server.api.authoring import AuthoringQueries
from server.api.claims import Claim, ClaimsMutations, ClaimsQueries
from server.api.clinic import Clinic, ClinicMutations, ClinicQueries, PayerInfo
from server.api.codesets import CodeSetQueries
from server.api.common import ROLLED_BACK, Conflict, Forbidden, InvalidInput, Node, NotFoundError, RolledBack, context
from server.api.cost import QueryCostLimit
from server.api.documentation import DocumentationMutations, DocumentationQueries, ProviderQuery
from server.api.ehr import EhrConnectionInfo, EhrMessageInfo, EhrMutations, EhrQueries
from server.api.encounters import Encounter, EncounterMutations, EncounterQueries
from server.api.ids import parse_global_id
from server.api.overrides import LineOverride, OverrideMutations
from server.api.rulebook_lifecycle import (
    DraftShadowInfo,
    DraftShadowMutations,
    DraftShadowQueries,
    ImpactReplayInfo,
    ImpactReplayMutations,
    ImpactReplayQueries,
    RecodeQueries,
    RulebookDiffQueries,
    RulebookLifecycleMutations,
    RulebookLifecycleQueries,
    RulebookVersionInfo,
)
from server.api.rulebooks import Rulebook, RulebookMutations, RulebookQueries
from server.api.suggestions import strip_name_suggestions
from server.api.validation import InputValidation
from server.claims import service as claims_service
from server.ehr import connections, imports
from server.encounters import get_encounter
from server.errors import CutisError, NotFound
from server.jobs import relay
from server.logs import acting_for
from server.metrics import OperationMetrics
from tenants.roles import Permission

log = logging.getLogger("cutis.graphql")
FAILURES = (InvalidInput, NotFoundError, Forbidden, Conflict)


@dataclass(frozen=True)
class NodeKind:
    """How node(id:) answers one type: who may see it, the service lookup (NotFound when the
    session's clinic has no such object), and the GraphQL type made of what it found."""

    permission: Permission
    lookup: Callable[[AsyncSession, uuid.UUID], Awaitable[Any]]
    to_node: Callable[[Any], Node]


NODE_TYPES: dict[str, NodeKind] = {
    "Encounter": NodeKind(Permission.ENCOUNTERS_READ, get_encounter, Encounter.from_record),
    "Rulebook": NodeKind(Permission.RULEBOOKS_READ, rulebook_drafts.get_rulebook, Rulebook.from_row),
    "DraftShadow": NodeKind(Permission.RULEBOOKS_READ, draft_shadows.observed, DraftShadowInfo.from_observed),
    "ImpactReplay": NodeKind(Permission.RULEBOOKS_READ, impact_replay.progress, ImpactReplayInfo.from_progress),
    "RulebookVersion": NodeKind(Permission.RULEBOOKS_READ, rulebook_versions.get_version, RulebookVersionInfo.from_row),
    "Payer": NodeKind(Permission.CLINIC_READ, clinic.get_payer, PayerInfo.from_row),
    "ApiKey": NodeKind(Permission.KEYS_ADMIN, people.get_api_key, ApiKeyInfo.from_row),
    "AuditEvent": NodeKind(Permission.AUDIT_READ, audit.get_audit_event, AuditEventInfo.from_row),
    "User": NodeKind(Permission.USERS_ADMIN, people.get_person, lambda found: _user(*found)),
    "Tenant": NodeKind(Permission.CLINIC_READ, clinic.get_clinic, Clinic.from_clinic),
    "LineOverride": NodeKind(Permission.ENCOUNTERS_READ, overrides.get_override, LineOverride.from_row),
    "ProviderQuery": NodeKind(Permission.ENCOUNTERS_READ, documentation.get_provider_query, ProviderQuery.from_row),
    "EhrMessage": NodeKind(Permission.ENCOUNTERS_READ, imports.get_message, EhrMessageInfo.from_row),
    "EhrConnection": NodeKind(Permission.CLINIC_READ, connections.get_connection, EhrConnectionInfo.from_row),
    "Claim": NodeKind(Permission.ENCOUNTERS_READ, claims_service.get_claim, Claim.from_row),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object of your clinic by its global id; null when it is not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        ctx = context(info)
        principal = ctx.require_principal()
        parsed = parse_global_id(str(id))
        if parsed is None or parsed[0] not in NODE_TYPES:
            return None
        type_name, object_id = parsed
        kind = NODE_TYPES[type_name]
        if not principal.can(kind.permission):
            return None
        async with ctx.lock:
            try:
                found = await kind.lookup(await ctx.session(), object_id)
            except NotFound:
                return None
        return kind.to_node(found)


Query = merge_types(
    "Query",
    (
        AccountQueries,
        ClinicQueries,
        ClaimsQueries,
        EncounterQueries,
        DocumentationQueries,
        EhrQueries,
        RulebookQueries,
        RulebookLifecycleQueries,
        RecodeQueries,
        ImpactReplayQueries,
        RulebookDiffQueries,
        DraftShadowQueries,
        AuthoringQueries,
        AdminQueries,
        AuditQueries,
        CodeSetQueries,
        NodeQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        EncounterMutations,
        DocumentationMutations,
        EhrMutations,
        OverrideMutations,
        RulebookMutations,
        RulebookLifecycleMutations,
        ImpactReplayMutations,
        DraftShadowMutations,
        ClinicMutations,
        ClaimsMutations,
        AdminMutations,
    ),
)


class LogContext(SchemaExtension):
    """Every line an operation logs names the clinic of its credentials (server.logs), and no other."""

    def on_operation(self) -> Iterator[None]:
        principal = getattr(self.execution_context.context, "principal", None)
        with acting_for(str(principal.tenant_id) if principal else None):
            yield


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
        QueryCostLimit,  # before any resolver: CPU-heavy fields within the budget (server.api.cost)
        AccountOperationsAlone,
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        OperationMetrics,
        LogContext,
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
            EhrMessageInfo,
            EhrConnectionInfo,
            RolledBack,
        ],
    )
