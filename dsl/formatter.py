"""The canonical layout of a rulebook, with no options: one way to write each thing.

`format_rulebook(parse(x))` is stable (formatting twice changes nothing) and re-parses to
the same AST. A comment above an item stays above it; a comment inside an item stays above
the statement (condition line, action, table row, test line) it was written before, and an
end-of-line comment stays at the end of its statement's line. Rule spans in published
versions refer to this canonical text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dsl import ast

INDENT = "  "
#: A formatted line and the source offset of the statement it starts (None: a line of its own,
#: such as `then`), so that comments written inside an item find their statement again.
Line = tuple[str, int | None]
WRAP_AT = 88
LEVELS = {"or": 1, "and": 2, "not": 3, "compare": 4, "union": 5, "atom": 6}


def format_rulebook(rulebook: ast.Rulebook) -> str:
    blocks: list[str] = []
    if rulebook.header is not None:
        blocks.append(header(rulebook.header))
    for item in rulebook.items:
        lines = list(item.comments)
        lines.extend(with_comments(ITEM_FORMATTERS[type(item)](item), item.inner_comments))
        blocks.append("\n".join(lines))
    if rulebook.trailing_comments:
        blocks.append("\n".join(rulebook.trailing_comments))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def header(node: ast.Header) -> str:
    lines = [f"rulebook {string(node.name)}" + (f" for payer {node.payer}" if node.payer else "")]
    lines.extend(f"{INDENT}extends {string(name)}" for name in node.extends)
    if node.effective_from:
        lines.append(effective(node)[0])
    if node.template_note is not None:
        lines.append(f"{INDENT}template {string(node.template_note)}")
    return "\n".join(lines)


def effective(node: ast.Header | ast.Rule | ast.Table) -> Line:
    """`effective DATE [until DATE]`: a rulebook's line after `extends`, a rule's or table's after `in`."""
    until = f" until {node.effective_until}" if node.effective_until else ""
    return f"{INDENT}effective {node.effective_from}{until}", node.from_span.start


def dates(node: ast.Rule | ast.Table) -> list[Line]:
    return [effective(node)] if node.effective_from else []


def with_comments(lines: list[Line], comments: tuple[ast.Comment, ...]) -> list[str]:
    """The item's lines with its inner comments put back: an own-line comment above the first
    statement that started after it (indented like that line), an end-of-line comment after the
    last statement that started before it."""
    above: dict[int, list[str]] = {}
    after: dict[int, list[str]] = {}
    anchored = [(number, anchor) for number, (_, anchor) in enumerate(lines) if anchor is not None]
    for comment in comments:
        if comment.on_last_line:
            after.setdefault(len(lines) - 1, []).append(comment.text)
        elif comment.end_of_line:
            before = [number for number, anchor in anchored if anchor <= comment.offset]
            after.setdefault(before[-1] if before else 0, []).append(comment.text)
        else:
            later = [number for number, anchor in anchored if anchor > comment.offset]
            above.setdefault(later[0] if later else len(lines) - 1, []).append(comment.text)
    result: list[str] = []
    for number, (text, _) in enumerate(lines):
        pad = text[: len(text) - len(text.lstrip())]
        if text.strip() in ("}", "]"):
            pad += INDENT  # a comment before a closing bracket belongs to the block it closes
        result.extend(pad + comment for comment in above.get(number, ()))
        result.append(text + "".join("  " + comment for comment in after.get(number, ())))
    return result


def valueset(node: ast.ValueSet) -> list[Line]:
    first = f"valueset {node.name} = "
    one_line = first + expr(node.value)
    if len(one_line) <= WRAP_AT or not isinstance(node.value, ast.ListExpr):
        return [(one_line, node.span.start)]
    return [
        (f"{first}[", node.span.start),
        *((f"{INDENT}{expr(item)},", item.span.start) for item in node.value.items),
        ("]", node.value.span.end - 1),
    ]


def disable(node: ast.Disable) -> list[Line]:
    return [(f"disable {node.rule_id} {string(node.why)}", node.span.start)]


def rule(node: ast.Rule) -> list[Line]:
    lines: list[Line] = [
        (f"rule {node.id} {string(node.label)}", node.span.start),
        (f"{INDENT}in {node.phase}" + (" for the encounter" if node.scope else ""), node.phase_span.start),
        *dates(node),
    ]
    if node.condition is not None:
        lines.extend(condition(node.condition))
    lines.extend(then_block(node.actions))
    return lines


def condition(node: ast.Expr, keyword: str = "when") -> list[Line]:
    """`when a` then `and b` on the next lines, so each test of a long condition reads alone."""
    if isinstance(node, ast.BoolOp):
        first, *rest = node.operands
        level = LEVELS["and"] + 1 if node.op == "and" else LEVELS["or"] + 1
        joiner = f"{INDENT}{' ' if node.op == 'and' else '  '}{node.op} "
        return [
            (f"{INDENT}{keyword} {expr(first, level)}", first.span.start),
            *((joiner + expr(part, level), part.span.start) for part in rest),
        ]
    return [(f"{INDENT}{keyword} {expr(node)}", node.span.start)]


def then_block(steps: tuple[ast.Step, ...]) -> list[Line]:
    lines: list[Line] = [(f"{INDENT}then", None)]
    for step in steps:
        lines.extend(step_lines(step, 2))
    return lines


def step_lines(node: ast.Step, depth: int) -> list[Line]:
    pad = INDENT * depth
    if isinstance(node, ast.Conditional):
        return conditional(node, pad)
    return [(pad + action(node), node.span.start)]


def conditional(node: ast.Conditional, pad: str, keyword: str = "if") -> list[Line]:
    lines: list[Line] = [(f"{pad}{keyword} {expr(node.condition)} then {sequence(node.then)}", node.span.start)]
    if not node.otherwise:
        return lines
    otherwise = node.otherwise[0]
    if len(node.otherwise) == 1 and isinstance(otherwise, ast.Conditional):
        return lines + conditional(otherwise, pad, "else if")
    return [*lines, (f"{pad}else {sequence(node.otherwise)}", otherwise.span.start)]


def sequence(steps: tuple[ast.Step, ...]) -> str:
    return " and ".join(action(step) for step in steps if isinstance(step, ast.Action))


def action(node: ast.Action) -> str:
    return " ".join(word(part) for part in node.words)


def word(node: ast.Expr) -> str:
    """A word of an action as the grammar reads it: a literal, list or range stands alone; any
    other expression (a fact, a call, a comparison) is a word only in parentheses."""
    if isinstance(node, ast.Literal) and node.kind == "name":
        return node.text
    if isinstance(node, ast.Literal | ast.ListExpr | ast.CodeRange):
        return expr(node, LEVELS["atom"])
    return f"({expr(node)})"


def table(node: ast.Table) -> list[Line]:
    lines: list[Line] = [
        (f"table {node.id} {string(node.label)}", node.span.start),
        (f"{INDENT}in {node.phase}", node.phase_span.start),
        *dates(node),
        (f"{INDENT}hit {node.hit_policy}" + (f" {node.aggregation}" if node.aggregation else ""), node.hit_span.start),
    ]
    if node.guard is not None:
        lines.extend(condition(node.guard))
    heading = [expr(column) for column in node.inputs] + [f"=> {name}" for name in node.outputs]
    rows = [[cell(c) for c in row.inputs] + [output(o) for o in row.outputs] for row in node.rows]
    anchors = [node.inputs[0].span.start if node.inputs else None, *(row.span.start for row in node.rows)]
    lines.extend(zip(grid([heading, *rows]), anchors, strict=True))
    if node.actions:
        lines.extend(then_block(node.actions))
    return lines


def grid(rows: list[list[str]], pad: str = INDENT) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        pad + "| " + " | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]


def cell(node: ast.Cell) -> str:
    if isinstance(node, ast.AnyValue):
        return "-"
    value = expr(node.value, LEVELS["union"])
    if node.op == "in":
        return value
    if node.op == "not in":
        return f"not {value}"
    if node.op == "=":
        set_like = isinstance(node.value, ast.ListExpr | ast.CodeRange | ast.Union) or (
            isinstance(node.value, ast.Literal) and node.value.kind == "code" and "*" in node.value.text
        )
        return f"= {value}" if set_like else value
    if node.op == "!=":
        return f"!= {value}"
    return f"{node.op} {value}"


def output(node: ast.Expr | None) -> str:
    return "-" if node is None else expr(node)


def criteria(node: ast.Criteria) -> list[Line]:
    lines: list[Line] = [
        (f"criteria {node.id} {string(node.label)}", node.span.start),
        (f"{INDENT}drug {node.drug} for {expr(node.indication)}", node.indication.span.start),
    ]
    lines.extend((f"{INDENT}require {expr(r.condition)} {string(r.label)}", r.span.start) for r in node.requirements)
    if node.approve_for:
        lines.append(
            (
                f"{INDENT}approve {node.approve_for}"
                + (f" reauthorize {node.reauthorize_for}" if node.reauthorize_for else ""),
                None,
            )
        )
    return lines


def test(node: ast.Test) -> list[Line]:
    lines: list[Line] = [(f"test {string(node.name)} {{", node.span.start)]
    if node.given:
        lines.append((f"{INDENT}given {{", None))
        lines.extend(
            (f"{INDENT * 2}{field.path.dotted}: {expr(field.value)}", field.span.start) for field in node.given
        )
        lines.append((f"{INDENT}}}", None))
    lines.extend((f"{INDENT}expect {expectation(e)}", e.span.start) for e in node.expectations)
    if node.examples:
        lines.append((f"{INDENT}examples", None))
        heading = [*node.example_columns, "expect"]
        rows = []
        for example in node.examples:
            facts = {field.path.dotted: expr(field.value) for field in example.facts}
            rows.append(
                [facts.get(column, "-") for column in node.example_columns]
                + ["; ".join(expectation(e) for e in example.expectations)]
            )
        anchors = [None, *(example.span.start for example in node.examples)]
        lines.extend(zip(grid([heading, *rows], INDENT * 2), anchors, strict=True))
    lines.append(("}", None))
    return lines


def expectation(node: ast.Expectation) -> str:
    text = ("no " if node.negated else "") + " ".join(word(w) for w in node.words)
    return text + (f" because {node.because}" if node.because else "")


# ---- expressions -------------------------------------------------------------------------------


def level(node: ast.Expr) -> int:
    if isinstance(node, ast.BoolOp):
        return LEVELS[node.op]
    if isinstance(node, ast.Not | ast.Quantified):
        return LEVELS["not"]
    if isinstance(node, ast.Compare | ast.Member):
        return LEVELS["compare"]
    if isinstance(node, ast.Union):
        return LEVELS["union"]
    return LEVELS["atom"]


def expr(node: ast.Expr, needed: int = 0) -> str:
    text = _expr(node)
    return f"({text})" if level(node) < needed else text


def _expr(node: ast.Expr) -> str:
    if isinstance(node, ast.Literal):
        return string(node.text) if node.kind == "string" else node.text
    if isinstance(node, ast.Path):
        return node.dotted
    if isinstance(node, ast.CodeRange):
        return f"{node.low.text}..{node.high.text}"
    if isinstance(node, ast.ListExpr):
        return "[" + ", ".join(expr(item) for item in node.items) + "]"
    if isinstance(node, ast.Union):
        return " + ".join(expr(part, LEVELS["atom"]) for part in node.parts)
    if isinstance(node, ast.Call):
        return f"{node.function}(" + ", ".join(expr(arg) for arg in node.args) + ")"
    if isinstance(node, ast.Quantified):
        # Inside `count(...)` the brackets end the filter, so `each`'s condition needs none.
        return (
            f"{node.quantifier} {node.variable} in {expr(node.collection, LEVELS['union'])}: "
            f"{expr(node.condition, 0 if node.quantifier == 'each' else LEVELS['not'])}"
        )
    if isinstance(node, ast.Compare):
        return f"{expr(node.left, LEVELS['union'])} {node.op} {expr(node.right, LEVELS['union'])}"
    if isinstance(node, ast.Member):
        return f"{expr(node.element, LEVELS['union'])} {node.test} {expr(node.collection, LEVELS['union'])}"
    if isinstance(node, ast.Not):
        return f"not {expr(node.operand, LEVELS['not'])}"
    if isinstance(node, ast.BoolOp):
        needed = LEVELS[node.op] + 1
        return f" {node.op} ".join(expr(part, needed) for part in node.operands)
    if isinstance(node, ast.Record):
        return "{" + ", ".join(f"{f.path.dotted}: {expr(f.value)}" for f in node.fields) + "}"
    raise TypeError(type(node).__name__)  # pragma: no cover


def string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


ITEM_FORMATTERS: dict[type, Callable[[Any], list[Line]]] = {
    ast.ValueSet: valueset,
    ast.Disable: disable,
    ast.Rule: rule,
    ast.Table: table,
    ast.Criteria: criteria,
    ast.Test: test,
}
