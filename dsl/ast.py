"""The rule language's syntax tree: frozen dataclasses with source spans.

Lark types stop at the parser; every later phase (checker, compiler, formatter, hash)
reads these classes only. Spans are excluded from equality, so two trees are equal when
they say the same thing, wherever it was written (the law `parse(format(x)) == parse(x)`).
Comments are kept for the formatter but, like spans, are not part of equality or the hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of the source: offsets from 0 in code points, line/column from 1."""

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 1, 1, 1, 1)
#: A field added to a node after rulebooks were published, left out of the content hash while it
#: has no value (`dsl.content_hash`): a rulebook that does not use it keeps its version id.
HASHED_WHEN_SET = {"hashed_when_set": True}


# ---- expressions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A literal as written; its type comes from context (`17000` is a CPT code beside a code)."""

    kind: str  # number | quantity | date | string | code | name
    text: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class CodeRange:
    low: Literal
    high: Literal
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Union:
    parts: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Quantified:
    """`any x in S: condition` (also `all`, `none`): a set test, never a loop with effects; `each`
    is the filter of `count(each x in S: condition)`, the number of items meeting it."""

    quantifier: str
    variable: str
    collection: Expr
    condition: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Compare:
    op: str  # = != < <= > >=
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Member:
    """`x in S`, `x not in S`, `xs any in S`, `xs all in S`, `xs none in S`."""

    test: str  # in | not in | any in | all in | none in
    element: Expr
    collection: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Record:
    """Facts written out in a test: `{ kind: destruction, count: 20 lesions }`."""

    fields: tuple[RecordField, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Expr = Literal | Path | CodeRange | ListExpr | Union | Call | Quantified | Compare | Member | Not | BoolOp | Record


# ---- actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A sentence of words and values that the vocabulary's action templates give meaning."""

    words: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Conditional:
    condition: Expr
    then: tuple[Action | Conditional, ...]
    otherwise: tuple[Action | Conditional, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Step = Action | Conditional


# ---- items -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """A comment written inside an item: where it was (offset), its text, whether code precedes it
    on its line (`flag x  # why`) and whether that line is the item's last, so the formatter puts
    it back beside the same statement."""

    offset: int
    text: str
    end_of_line: bool = False
    on_last_line: bool = False


@dataclass(frozen=True)
class Header:
    name: str
    payer: str | None = None
    extends: tuple[str, ...] = ()
    effective_from: str | None = None
    effective_until: str | None = None
    template_note: str | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    from_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    until_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    extends_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)  # of each name in `extends`


@dataclass(frozen=True)
class ValueSet:
    name: str
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    inner_comments: tuple[Comment, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Disable:
    rule_id: str
    why: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    inner_comments: tuple[Comment, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    phase: str
    condition: Expr | None
    actions: tuple[Step, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    phase_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    inner_comments: tuple[Comment, ...] = field(default=(), compare=False)
    effective_from: str | None = field(default=None, metadata=HASHED_WHEN_SET)
    effective_until: str | None = field(default=None, metadata=HASHED_WHEN_SET)
    from_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    until_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    #: None: the rule runs for each service; "encounter" (`in policy for the encounter`): once a visit.
    scope: str | None = field(default=None, metadata=HASHED_WHEN_SET)
    scope_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class AnyValue:
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class CellTest:
    """An input cell: `op` is = < <= > >= != for a comparison, `in`/`not in` for a set."""

    op: str
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Cell = AnyValue | CellTest


@dataclass(frozen=True)
class TableRow:
    inputs: tuple[Cell, ...]
    outputs: tuple[Expr | None, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Table:
    id: str
    label: str
    phase: str
    hit_policy: str
    aggregation: str | None
    guard: Expr | None
    inputs: tuple[Expr, ...]
    outputs: tuple[str, ...]
    rows: tuple[TableRow, ...]
    actions: tuple[Step, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    phase_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    hit_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    inner_comments: tuple[Comment, ...] = field(default=(), compare=False)
    effective_from: str | None = field(default=None, metadata=HASHED_WHEN_SET)
    effective_until: str | None = field(default=None, metadata=HASHED_WHEN_SET)
    from_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    until_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Requirement:
    condition: Expr
    label: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Criteria:
    id: str
    label: str
    drug: str
    indication: Expr
    requirements: tuple[Requirement, ...]
    approve_for: str | None
    reauthorize_for: str | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    inner_comments: tuple[Comment, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Expectation:
    negated: bool
    words: tuple[Expr, ...]
    because: str | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class RecordField:
    path: Path
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Example:
    """One row of a test's examples table: facts that override `given`, and what to expect."""

    facts: tuple[RecordField, ...]
    expectations: tuple[Expectation, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Test:
    name: str
    given: tuple[RecordField, ...]
    expectations: tuple[Expectation, ...]
    examples: tuple[Example, ...]
    example_columns: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    inner_comments: tuple[Comment, ...] = field(default=(), compare=False)


Item = ValueSet | Disable | Rule | Table | Criteria | Test


@dataclass(frozen=True)
class Rulebook:
    header: Header | None
    items: tuple[Item, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    trailing_comments: tuple[str, ...] = field(default=(), compare=False)

    def of_type(self, kind: type) -> list:
        return [item for item in self.items if isinstance(item, kind)]
