"""The query cost limit: a document whose CPU-heavy fields would cost more than the budget is
refused before any resolver runs.

Why: one document may hold 30 aliases of `validateRulebook` over the same 1 MB text, and each
alias is a second of CPU. The CPU pool keeps the server answering, but one caller would still
hold every core for half a minute. A field's cost is about its worst-case seconds of CPU (at
the input limits of `server.api.validation`); aliases count each; a field inside a list counts
once per item the list may hold. Checked as a validation rule, so the answer (cached with the
document) comes before any work and any database access.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
    get_nullable_type,
)

from server.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

QUERY_BUDGET = 10

# By schema coordinate; every other field costs nothing. About one unit per second of CPU at the
# input limits (a 1,000,000-character rulebook, a 100,000-character note).
FIELD_COSTS: dict[str, int] = {
    "Mutation.codeEncounter": 2,  # note analysis and coding
    "Mutation.submitEncounter": 2,  # the same work, in the background
    "Mutation.answerProviderQuery": 2,  # the re-analysis and re-coding of the new version
    "Query.checkDocumentation": 5,  # the analysis, and an answer of up to 500 findings built on the event loop
    "Query.validateRulebook": 1,
    "Query.formatRulebook": 1,
    "Query.testRulebook": 2,  # the rulebook's own tests, each a coding
    "Query.explainRulebook": 3,  # the rulebook compiled, the note analysed, the encounter coded
    "Mutation.submitRulebookForReview": 1,  # the draft checked as a version
    "Mutation.publishRulebook": 3,  # the book's own tests, each a coding, in the stack it joins
    "Query.diffRulebooks": 5,  # both texts diffed, and up to 2,000 stored encounters coded twice
    "Query.recodeAsOf": 2,  # note analysis and coding
    "Mutation.startImpactReplay": 1,  # the draft checked; the replay itself runs on the workers
    "Mutation.startDraftShadow": 1,  # the draft checked; each later coding pays for its shadows
    "Mutation.importEhrMessages": 3,  # up to 2,000,000 characters of FHIR or HL7 v2 parsed and assembled
    "Mutation.retryEhrMessage": 1,  # one stored message parsed and assembled again
    "Query.codeSets": 1,  # a walk over the loaded releases (milliseconds), priced so aliases stay bounded
    "Mutation.saveBillingSetup": 1,  # up to 512 KB of setup validated (about 50 ms)
    "Mutation.buildClaim": 1,  # the 837P built, walked by pyx12 and checked (about 5 ms; 1 s at the first load)
}
PRICES = ", ".join(f"{coordinate.split('.')[1]} {cost}" for coordinate, cost in FIELD_COSTS.items())


class QueryCostLimit(ValidationRule):
    """Reports QUERY_TOO_COSTLY for an operation costing more than QUERY_BUDGET (see the module docstring)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        root = self.context.schema.get_root_type(node.operation)
        if root is None:
            return
        cost = Costing(self.context).of_selections(node.selection_set, root, page_size=None)
        if cost > QUERY_BUDGET:
            self.report_error(
                GraphQLError(
                    f"this document is too costly to run: it costs {cost:,} and the budget is {QUERY_BUDGET} "
                    f"({PRICES}; each alias counts); send its operations in several requests",
                    node,
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": QUERY_BUDGET},
                )
            )


class Costing:
    """The cost of selections, with each fragment's cost computed once (nested spreads cannot blow up)."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self._fragments: dict[tuple[str, int | None], int] = {}
        self._visiting: set[str] = set()

    def of_selections(self, selection_set: SelectionSetNode | None, parent: Any, page_size: int | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self.of_field(selection, parent, page_size)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.context.schema.get_type(condition.name.value) if condition else parent
                total += self.of_selections(selection.selection_set, inner, page_size)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.of_fragment(selection.name.value, page_size)
        return total

    def of_fragment(self, name: str, page_size: int | None) -> int:
        key = (name, page_size)
        if key not in self._fragments:
            fragment = self.context.get_fragment(name)
            if fragment is None or name in self._visiting:  # unknown or cyclic: other rules report it
                return 0
            self._visiting.add(name)
            inner = self.context.schema.get_type(fragment.type_condition.name.value)
            self._fragments[key] = self.of_selections(fragment.selection_set, inner, page_size)
            self._visiting.discard(name)
        return self._fragments[key]

    def of_field(self, node: FieldNode, parent: Any, page_size: int | None) -> int:
        name = node.name.value
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or name not in parent.fields:
            return 0  # __typename, introspection, or a field other rules report as unknown
        field = parent.fields[name]
        own = FIELD_COSTS.get(f"{parent.name}.{name}", 0)
        if node.selection_set is None:
            return own
        if "first" in field.args:  # a connection: its lists hold one page
            page_size = _page_size(node)
        items = 1
        if isinstance(get_nullable_type(field.type), GraphQLList):
            items, page_size = (MAX_PAGE_SIZE if page_size is None else page_size), None
        return own + items * self.of_selections(node.selection_set, get_named_type(field.type), page_size)


def _page_size(node: FieldNode) -> int:
    """The page a connection field asks for: its literal `first`, else the default; a variable may be the maximum."""
    for argument in node.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE
