"""Compile a checked rulebook to Python source: the fast, untraced path.

The closures of `dsl.compiler` explain themselves (values, coverage); this module writes
one plain Python function per phase, with constants bound as globals, so a decision costs
little more than the hand-written `if`s it replaces. Both follow the same three-valued
logic: a comparison with a missing fact is None (undetermined) and an undetermined rule
does not fire. The benchmark measures both.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from dsl import ast
from dsl.checker import CheckResult
from dsl.typecheck import INTERPOLATION
from dsl.values import CodeSet

OPERATORS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
Fired = tuple[str, str, dict[str, Any]]


class Generator:
    def __init__(self, checked: CheckResult) -> None:
        self.checked = checked
        self.constants = checked.typer.constants
        self.references = checked.typer.references
        self.names: dict[str, Any] = {}
        self.counter = itertools.count()
        self.top_level: dict[str, None] = {}
        self.definite_outputs: set[str] = set()
        self.vocabulary = checked.typer.vocabulary

    def fresh(self, stem: str = "_v") -> str:
        return f"{stem}{next(self.counter)}"

    def constant(self, value: Any) -> str:
        name = f"K{len(self.names)}"
        self.names[name] = value
        return name

    # ---- phases ----------------------------------------------------------------------------

    def phase(self, phase: str) -> str:
        body: list[str] = []
        for item in self.checked.rulebook.items:
            if isinstance(item, ast.Rule) and item.phase == phase:
                body.extend(self.rule(item))
            elif isinstance(item, ast.Table) and item.phase == phase:
                body.extend(self.table(item))
        # A top-level fact used more than once is read once, up front; others where they are used.
        reads = []
        for name in self.top_level:
            local = self.field_name(name)
            uses = sum(line.count(local) for line in body)
            if uses > 1:
                reads.append(f"    {local} = facts.get({name!r})")
            else:
                body = [line.replace(local, f"facts.get({name!r})") for line in body]
        return "\n".join(["def decide(facts):", "    fired = []", *reads, *body, "    return fired"])

    def field_name(self, name: str) -> str:
        return "_f_" + name.replace("-", "_")

    def rule(self, rule: ast.Rule) -> list[str]:
        lines = [f"    # rule {rule.id}"]
        body = self.steps(rule.actions, rule.id, "        ")
        if rule.condition is None:
            return lines + [line[4:] for line in body]
        if self.definite(rule.condition):
            lines.append(f"    if {self.plain(rule.condition)}:")
        else:
            result = self.fresh("_c")
            lines.extend(self.emit(rule.condition, result, "    "))
            lines.append(f"    if {result} is True:")
        lines.extend(body or ["        pass"])
        return lines

    def steps(self, steps: tuple[ast.Step, ...], rule_id: str, pad: str) -> list[str]:
        lines: list[str] = []
        for step in steps:
            if isinstance(step, ast.Conditional):
                result = self.fresh("_c")
                lines.extend(self.emit(step.condition, result, pad))
                lines.append(f"{pad}if {result} is True:")
                lines.extend(self.steps(step.then, rule_id, pad + "    ") or [f"{pad}    pass"])
                if step.otherwise:
                    lines.append(f"{pad}elif {result} is False:")
                    lines.extend(self.steps(step.otherwise, rule_id, pad + "    "))
                continue
            bound = self.checked.actions[id(step)]
            arguments = ", ".join(f"{name!r}: {self.value(value)}" for name, value in bound.arguments)
            lines.append(f"{pad}fired.append(({rule_id!r}, {bound.spec.name!r}, {{{arguments}}}))")
        return lines

    def table(self, table: ast.Table) -> list[str]:
        if table.hit_policy == "collect":
            return self.table_by_closure(table)
        lines = [f"    # table {table.id}"]
        pad = "    "
        if table.guard is not None and self.definite(table.guard):
            lines.append(f"{pad}if {self.plain(table.guard)}:")
            pad += "    "
        elif table.guard is not None:
            guard = self.fresh("_c")
            lines.extend(self.emit(table.guard, guard, pad))
            lines.append(f"{pad}if {guard} is True:")
            pad += "    "
        columns: list[str] = []
        definite_columns = set()
        for column_expr in table.inputs:
            name = self.fresh("_col")
            lines.append(f"{pad}{name} = {self.value(column_expr)}")
            columns.append(name)
            if self.definite(column_expr):
                definite_columns.add(name)
        outputs = list(table.outputs)
        for index, output in enumerate(outputs):
            if all(
                row.outputs[index] is not None and self.constants.get(id(row.outputs[index])) is not None
                for row in table.rows
            ):
                self.definite_outputs.add(output)
        matched = self.fresh("_m")
        lines.append(f"{pad}{matched} = None")
        rows = []
        for row in table.rows:
            false_when, needs = [], []
            for cell, column in zip(row.inputs, columns, strict=True):
                if isinstance(cell, ast.CellTest):
                    expected_name = self.constant(self.constants.get(id(cell.value)))
                    op = cell.op if cell.op in ("in", "not in") else OPERATORS[cell.op]
                    if column in definite_columns:
                        false_when.append(f"not ({column} {op} {expected_name})")
                    else:
                        false_when.append(f"({column} is not None and not ({column} {op} {expected_name}))")
                        needs.append(f"{column} is not None")
            values = [None if out is None else self.constants.get(id(out)) for out in row.outputs]
            rows.append((false_when, needs, self.constant(dict(zip(outputs, values, strict=True)))))
        if all(not needs for _, needs, _ in rows):
            # Every input is always present: a plain if/elif chain.
            keyword = "if"
            for false_when, _, outputs_constant in rows:
                condition = " and ".join(test.removeprefix("not ") for test in false_when)
                lines.append(f"{pad}{keyword} {condition or 'True'}:")
                lines.append(f"{pad}    {matched} = {outputs_constant}")
                keyword = "elif"
        else:
            # A row that may be undetermined: `first` stops there (nothing is known to match first),
            # `unique` and `priority` go on to the next row, as the closures do.
            lines.append(f"{pad}for _ in (0,):")
            for false_when, needs, outputs_constant in rows:
                condition = " or ".join(false_when) or "False"
                lines.append(f"{pad}    if not ({condition}):")
                if needs:
                    lines.append(f"{pad}        if {' and '.join(needs)}:")
                    lines.append(f"{pad}            {matched} = {outputs_constant}")
                    lines.append(f"{pad}            break")
                    if table.hit_policy == "first":
                        lines.append(f"{pad}        break")
                else:
                    lines.append(f"{pad}        {matched} = {outputs_constant}")
                    lines.append(f"{pad}        break")
        lines.append(f"{pad}if {matched} is not None:")
        inner = pad + "    "
        for output in outputs:
            lines.append(f"{inner}{self.output_name(output)} = {matched}[{output!r}]")
        if table.actions:
            lines.extend(self.steps(table.actions, table.id, inner))
        else:
            lines.append(f"{inner}fired.append(({table.id!r}, 'decide', dict({matched})))")
        return lines

    def table_by_closure(self, table: ast.Table) -> list[str]:
        """Collect tables aggregate over all rows: the closure does it, called from the code."""
        from dsl.compiler import Compiler
        from dsl.runtime import Decision

        compiled = Compiler(self.checked).table(table)
        runner = self.constant(compiled.run)
        decision = self.constant(Decision)
        name = self.fresh("_d")
        return [
            f"    {name} = {decision}()",
            f"    {runner}(facts, None, {name})",
            f"    for _a in {name}.actions:",
            "        fired.append((_a.rule_id, _a.action, _a.arguments))",
        ]

    def output_name(self, output: str) -> str:
        return "_out_" + output.replace("-", "_")

    # ---- expressions -------------------------------------------------------------------------

    def definite(self, expr: ast.Expr) -> bool:
        """Whether a value or condition can never be missing: constants, required facts, and
        comparisons of those. Such conditions compile to plain Python `and`/`or`."""
        if isinstance(expr, ast.BoolOp):
            return all(self.definite(operand) for operand in expr.operands)
        if isinstance(expr, ast.Not):
            return self.definite(expr.operand)
        if isinstance(expr, ast.Compare):
            return self.definite(expr.left) and self.definite(expr.right)
        if isinstance(expr, ast.Member):
            return self.definite(expr.element) and self.definite(expr.collection)
        if isinstance(expr, ast.Call):
            return expr.function in ("missing", "present")
        if isinstance(expr, ast.Path):
            reference = self.references.get(id(expr))
            if reference is not None and reference[0] == "field":
                return self.vocabulary.is_required(reference[1])
            if reference is not None and reference[0] == "output":
                return reference[1] in self.definite_outputs
            return self.is_constant(expr)
        return self.is_constant(expr)

    def plain(self, expr: ast.Expr) -> str:
        """A Python boolean expression for a definite condition."""
        if isinstance(expr, ast.BoolOp):
            return "(" + f" {expr.op} ".join(self.plain(operand) for operand in expr.operands) + ")"
        if isinstance(expr, ast.Not):
            return f"(not {self.plain(expr.operand)})"
        if isinstance(expr, ast.Compare):
            return f"({self.value(expr.left)} {OPERATORS[expr.op]} {self.value(expr.right)})"
        if isinstance(expr, ast.Member):
            element, pool = self.value(expr.element), self.value(expr.collection)
            if expr.test in ("in", "not in"):
                members = self.set_members(expr.collection)
                return f"({element} {expr.test} {members or pool})"
            members = self.set_members(expr.collection)
            if members is not None and expr.test in ("any in", "none in"):
                return (
                    f"(not {members}.isdisjoint({element}))"
                    if expr.test == "any in"
                    else f"{members}.isdisjoint({element})"
                )
            if isinstance(self.constants.get(id(expr.collection)), CodeSet):
                return {
                    "any in": f"{pool}.any_of({element})",
                    "all in": f"{pool}.all_of({element})",
                    "none in": f"(not {pool}.any_of({element}))",
                }[expr.test]
            return {
                "any in": f"any(_e in {pool} for _e in {element})",
                "all in": f"(bool({element}) and all(_e in {pool} for _e in {element}))",
                "none in": f"(not any(_e in {pool} for _e in {element}))",
            }[expr.test]
        return self.atom(expr)

    def emit(self, expr: ast.Expr, target: str, pad: str) -> list[str]:
        """Lines that set `target` to True, False or None (undetermined)."""
        if self.definite(expr):
            return [f"{pad}{target} = {self.plain(expr)}"]
        if isinstance(expr, ast.BoolOp):
            stop = "True" if expr.op == "or" else "False"
            go_on = "False" if expr.op == "or" else "True"
            unknown = self.fresh("_u")
            lines = [f"{pad}{unknown} = False", f"{pad}{target} = {stop}"]
            inner = pad
            for operand in expr.operands:
                part = self.fresh("_p")
                lines.extend(self.emit(operand, part, inner))
                lines.append(f"{inner}if {part} is None:")
                lines.append(f"{inner}    {unknown} = True")
                lines.append(f"{inner}if {part} is not {stop}:")
                inner += "    "
            lines.append(f"{inner}{target} = None if {unknown} else {go_on}")
            return lines
        if isinstance(expr, ast.Not):
            part = self.fresh("_p")
            return [*self.emit(expr.operand, part, pad), f"{pad}{target} = None if {part} is None else not {part}"]
        if isinstance(expr, ast.Quantified):
            return self.quantified(expr, target, pad)
        return [f"{pad}{target} = {self.atom(expr)}"]

    def atom(self, expr: ast.Expr) -> str:
        if isinstance(expr, ast.Compare):
            left, right = self.fresh(), self.fresh()
            left_code, right_code = self.value(expr.left), self.value(expr.right)
            if self.is_constant(expr.right):
                return f"(None if ({left} := {left_code}) is None else {left} {OPERATORS[expr.op]} {right_code})"
            return (
                f"(None if ({left} := {left_code}) is None or ({right} := {right_code})"
                f" is None else {left} {OPERATORS[expr.op]} {right})"
            )
        if isinstance(expr, ast.Member):
            element = self.fresh()
            pool = self.value(expr.collection)
            is_code_set = isinstance(self.constants.get(id(expr.collection)), CodeSet)
            test = {
                "in": f"{element} in {pool}",
                "not in": f"{element} not in {pool}",
                "any in": f"{pool}.any_of({element})" if is_code_set else f"any(_e in {pool} for _e in {element})",
                "all in": f"{pool}.all_of({element})"
                if is_code_set
                else f"(bool({element}) and all(_e in {pool} for _e in {element}))",
                "none in": f"not {pool}.any_of({element})"
                if is_code_set
                else f"not any(_e in {pool} for _e in {element})",
            }[expr.test]
            if self.is_constant(expr.collection):
                return f"(None if ({element} := {self.value(expr.element)}) is None else {test})"
            holder = self.fresh()
            test = test.replace(pool, holder)
            return (
                f"(None if ({element} := {self.value(expr.element)}) is None or ({holder} := "
                f"{pool}) is None else {test})"
            )
        if isinstance(expr, ast.Call):
            argument = self.value(expr.args[0])
            if expr.function == "missing":
                return f"({argument} is None)"
            if expr.function == "present":
                return f"({argument} is not None)"
        return self.value(expr)

    def quantified(self, expr: ast.Quantified, target: str, pad: str) -> list[str]:
        items, unknown, part = self.fresh("_items"), self.fresh("_u"), self.fresh("_p")
        variable = self.variable(expr.variable)
        seek = {"any": "True", "all": "False", "none": "True"}[expr.quantifier]
        found = {"any": "True", "all": "False", "none": "False"}[expr.quantifier]
        otherwise = {"any": "False", "all": "True", "none": "True"}[expr.quantifier]
        lines = [
            f"{pad}{items} = {self.value(expr.collection)}",
            f"{pad}if {items} is None:",
            f"{pad}    {target} = None",
            f"{pad}else:",
            f"{pad}    {unknown} = False",
            f"{pad}    {target} = None",
            f"{pad}    for {variable} in {items}:",
        ]
        lines.extend(self.emit(expr.condition, part, pad + "        "))
        lines += [
            f"{pad}        if {part} is {seek}:",
            f"{pad}            {target} = {found}",
            f"{pad}            break",
            f"{pad}        if {part} is None:",
            f"{pad}            {unknown} = True",
            f"{pad}    else:",
            f"{pad}        {target} = None if {unknown} else {otherwise}",
        ]
        return lines

    def variable(self, name: str) -> str:
        return "_var_" + name.replace("-", "_")

    def value(self, expr: ast.Expr) -> str:
        """A Python expression for a value (None when a fact is missing)."""
        node_id = id(expr)
        if isinstance(expr, ast.Literal) and expr.kind == "string" and INTERPOLATION.search(expr.text):
            from dsl.compiler import Compiler

            return f"{self.constant(Compiler(self.checked).argument(expr))}(facts, None)"
        if isinstance(expr, ast.Literal | ast.ListExpr | ast.Union | ast.CodeRange) and node_id in self.constants:
            return self.constant(self.constants[node_id])
        if isinstance(expr, ast.Path):
            reference = self.references.get(node_id)
            if reference is None or reference[0] == "valueset":
                return self.constant(self.constants.get(node_id))
            if reference[0] == "field":
                return self.lookup("facts", reference[1].split("."))
            if reference[0] == "output":
                return self.output_name(reference[1])
            return self.lookup(self.variable(reference[1]), list(reference[2]))
        if isinstance(expr, ast.Call) and expr.function == "count":
            inner = self.fresh()
            return f"(None if ({inner} := {self.value(expr.args[0])}) is None else len({inner}))"
        if isinstance(expr, ast.Call):
            return self.atom(expr)
        raise ValueError(f"cannot generate {type(expr).__name__}")  # pragma: no cover - the checker rejects it

    def set_members(self, expr: ast.Expr) -> str | None:
        """A plain frozenset for a code set without patterns: membership then runs in C."""
        value = self.constants.get(id(expr))
        if isinstance(value, CodeSet) and not value._slow:  # type: ignore[attr-defined]
            return self.constant(value._written)  # type: ignore[attr-defined]
        return None

    def is_constant(self, expr: ast.Expr) -> bool:
        if isinstance(expr, ast.Path):
            reference = self.references.get(id(expr))
            return (reference is None or reference[0] == "valueset") and self.constants.get(id(expr)) is not None
        return self.constants.get(id(expr)) is not None and not isinstance(expr, ast.Call)

    def lookup(self, root: str, parts: list[str]) -> str:
        if root == "facts":  # the facts themselves are never missing
            self.top_level.setdefault(parts[0])
            code = self.field_name(parts[0])
            parts = parts[1:]
        else:
            code = root
        for part in parts:
            holder = self.fresh()
            code = f"(None if ({holder} := {code}) is None else {holder}.get({part!r}))"
        return code


def generate(checked: CheckResult, phase: str) -> tuple[str, dict[str, Any]]:
    """The source of `decide(facts) -> [(rule id, action, arguments), ...]` and its globals."""
    generator = Generator(checked)
    source = generator.phase(phase)
    return source, generator.names


def compile_phase(checked: CheckResult, phase: str) -> Callable[[dict[str, Any]], list[Fired]]:
    source, names = generate(checked, phase)
    namespace: dict[str, Any] = dict(names)
    exec(compile(source, f"<rulebook phase {phase}>", "exec"), namespace)
    return namespace["decide"]


def compile_precheck(
    checked: CheckResult, conjuncts: Sequence[ast.Expr], *, must_be_true: bool = False
) -> Callable[[dict[str, Any]], bool]:
    """`facts -> bool`, False as soon as one conjunct is False (with `must_be_true`: is not True).

    Why: a rule stack decides which rules record nothing before running the traced closures of
    `dsl.compiler`; this is that test as plain generated Python, with the same three-valued logic.
    """
    generator = Generator(checked)
    body: list[str] = []
    for conjunct in conjuncts:
        result = generator.fresh("_c")
        body.extend(generator.emit(conjunct, result, "    "))
        body.append(f"    if {result} is not True:" if must_be_true else f"    if {result} is False:")
        body.append("        return False")
    reads = [f"    {generator.field_name(name)} = facts.get({name!r})" for name in generator.top_level]
    source = "\n".join(["def precheck(facts):", *reads, *body, "    return True"])
    namespace: dict[str, Any] = dict(generator.names)
    exec(compile(source, "<rule precheck>", "exec"), namespace)
    return namespace["precheck"]
