"""The canonical layout of a rulebook, with no options: one way to write each thing.

`format_rulebook(parse(x))` is stable (formatting twice changes nothing) and re-parses to
the same AST. Comments move above the item they were in. Rule spans in published
versions refer to this canonical text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dsl import ast

INDENT = "  "
WRAP_AT = 88
LEVELS = {"or": 1, "and": 2, "not": 3, "compare": 4, "union": 5, "atom": 6}


def format_rulebook(rulebook: ast.Rulebook) -> str:
    blocks: list[str] = []
    if rulebook.header is not None:
        blocks.append(header(rulebook.header))
    for item in rulebook.items:
        lines = list(item.comments)
        lines.append(ITEM_FORMATTERS[type(item)](item))
        blocks.append("\n".join(lines))
    if rulebook.trailing_comments:
        blocks.append("\n".join(rulebook.trailing_comments))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def header(node: ast.Header) -> str:
    lines = [f"rulebook {string(node.name)}" + (f" for payer {node.payer}" if node.payer else "")]
    lines.extend(f"{INDENT}extends {string(name)}" for name in node.extends)
    if node.effective_from:
        lines.append(f"{INDENT}effective {node.effective_from}"
                     + (f" until {node.effective_until}" if node.effective_until else ""))
    if node.template_note is not None:
        lines.append(f"{INDENT}template {string(node.template_note)}")
    return "\n".join(lines)


def valueset(node: ast.ValueSet) -> str:
    first = f"valueset {node.name} = "
    one_line = first + expr(node.value)
    if len(one_line) <= WRAP_AT or not isinstance(node.value, ast.ListExpr):
        return one_line
    items = "".join(f"{INDENT}{expr(item)},\n" for item in node.value.items)
    return f"{first}[\n{items}]"


def disable(node: ast.Disable) -> str:
    return f"disable {node.rule_id} {string(node.why)}"


def rule(node: ast.Rule) -> str:
    lines = [f"rule {node.id} {string(node.label)}", f"{INDENT}in {node.phase}"]
    if node.condition is not None:
        lines.append(condition(node.condition))
    lines.append(then_block(node.actions))
    return "\n".join(lines)


def condition(node: ast.Expr, keyword: str = "when") -> str:
    """`when a` then `and b` on the next lines, so each test of a long condition reads alone."""
    if isinstance(node, ast.BoolOp):
        first, *rest = node.operands
        level = LEVELS["and"] + 1 if node.op == "and" else LEVELS["or"] + 1
        joiner = f"\n{INDENT}{' ' if node.op == 'and' else '  '}{node.op} "
        return f"{INDENT}{keyword} " + joiner.join(expr(part, level) for part in (first, *rest))
    return f"{INDENT}{keyword} {expr(node)}"


def then_block(steps: tuple[ast.Step, ...]) -> str:
    if not steps:
        return f"{INDENT}then"
    return f"{INDENT}then\n" + "\n".join(step_line(step, 2) for step in steps)


def step_line(node: ast.Step, depth: int) -> str:
    pad = INDENT * depth
    if isinstance(node, ast.Conditional):
        return pad + conditional(node, pad)
    return pad + action(node)


def conditional(node: ast.Conditional, pad: str) -> str:
    text = f"if {expr(node.condition)} then {sequence(node.then)}"
    if not node.otherwise:
        return text
    if len(node.otherwise) == 1 and isinstance(node.otherwise[0], ast.Conditional):
        return text + f"\n{pad}else " + conditional(node.otherwise[0], pad)
    return text + f"\n{pad}else {sequence(node.otherwise)}"


def sequence(steps: tuple[ast.Step, ...]) -> str:
    return " and ".join(action(step) for step in steps if isinstance(step, ast.Action))


def action(node: ast.Action) -> str:
    return " ".join(word(part) for part in node.words)


def word(node: ast.Expr) -> str:
    if isinstance(node, ast.Literal) and node.kind == "name":
        return node.text
    return expr(node, LEVELS["atom"])


def table(node: ast.Table) -> str:
    lines = [f"table {node.id} {string(node.label)}", f"{INDENT}in {node.phase}",
             f"{INDENT}hit {node.hit_policy}" + (f" {node.aggregation}" if node.aggregation else "")]
    if node.guard is not None:
        lines.append(condition(node.guard))
    heading = [expr(column) for column in node.inputs] + [f"=> {name}" for name in node.outputs]
    rows = [[cell(c) for c in row.inputs] + [output(o) for o in row.outputs] for row in node.rows]
    lines.extend(grid([heading, *rows]))
    if node.actions:
        lines.append(then_block(node.actions))
    return "\n".join(lines)


def grid(rows: list[list[str]], pad: str = INDENT) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [pad + "| " + " | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)) + " |"
            for row in rows]


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
            isinstance(node.value, ast.Literal) and node.value.kind == "code" and "*" in node.value.text)
        return f"= {value}" if set_like else value
    if node.op == "!=":
        return f"!= {value}"
    return f"{node.op} {value}"


def output(node: ast.Expr | None) -> str:
    return "-" if node is None else expr(node)


def criteria(node: ast.Criteria) -> str:
    lines = [f"criteria {node.id} {string(node.label)}", f"{INDENT}drug {node.drug} for {expr(node.indication)}"]
    lines.extend(f"{INDENT}require {expr(r.condition)} {string(r.label)}" for r in node.requirements)
    if node.approve_for:
        lines.append(f"{INDENT}approve {node.approve_for}"
                     + (f" reauthorize {node.reauthorize_for}" if node.reauthorize_for else ""))
    return "\n".join(lines)


def test(node: ast.Test) -> str:
    lines = [f"test {string(node.name)} {{"]
    if node.given:
        lines.append(f"{INDENT}given {{")
        lines.extend(f"{INDENT * 2}{field.path.dotted}: {expr(field.value)}" for field in node.given)
        lines.append(f"{INDENT}}}")
    lines.extend(f"{INDENT}expect {expectation(e)}" for e in node.expectations)
    if node.examples:
        lines.append(f"{INDENT}examples")
        heading = [*node.example_columns, "expect"]
        rows = []
        for example in node.examples:
            facts = {field.path.dotted: expr(field.value) for field in example.facts}
            rows.append([facts.get(column, "-") for column in node.example_columns]
                        + ["; ".join(expectation(e) for e in example.expectations)])
        lines.extend(grid([heading, *rows], INDENT * 2))
    lines.append("}")
    return "\n".join(lines)


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
        return (f"{node.quantifier} {node.variable} in {expr(node.collection, LEVELS['union'])}: "
                f"{expr(node.condition, LEVELS['not'])}")
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


ITEM_FORMATTERS: dict[type, Callable[[Any], str]] = {
    ast.ValueSet: valueset, ast.Disable: disable, ast.Rule: rule, ast.Table: table, ast.Criteria: criteria,
    ast.Test: test,
}
