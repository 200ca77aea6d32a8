"""Check a parsed rulebook against a vocabulary: names, types, codes, and what can be decided.

Reports unknown names (with did-you-mean), type mismatches, invalid codes, actions used in
the wrong phase, unreachable rules, duplicate (shadowed) rules, conflicting actions for the
same input, table gaps and overlaps, unused value sets and those defined through themselves,
and facts read without deciding what happens when they are missing (`missing.unguarded`:
such a rule is *undetermined* for that encounter, reported in the trace, never silently false).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from dsl import ast
from dsl.analysis import Atom, conjunction, satisfiable
from dsl.diagnostics import Diagnostic, did_you_mean
from dsl.extends import NOTHING, Inheritance
from dsl.table_checks import TableChecks, match_action, word_of
from dsl.typecheck import INTERPOLATION, Scope, Typer, compatible
from dsl.valueset_cycles import valueset_cycles
from dsl.vocabulary import ActionSpec, Type, Vocabulary, code, list_of

SLOT_TEXT = re.compile(r"\{\w+\}")


@dataclass(frozen=True)
class BoundAction:
    spec: ActionSpec
    arguments: tuple[tuple[str, ast.Expr], ...]


@dataclass
class CheckResult:
    rulebook: ast.Rulebook
    diagnostics: list[Diagnostic]
    typer: Typer
    actions: dict[int, BoundAction] = field(default_factory=dict)
    output_types: dict[str, dict[str, Type | None]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def check(rulebook: ast.Rulebook, vocabulary: Vocabulary, inheritance: Inheritance = NOTHING) -> CheckResult:
    """Check a rulebook; `inheritance` (`dsl.extends.inherit`) brings the value sets of the books it
    extends and what is wrong with its `extends` lines."""
    return Checker(rulebook, vocabulary, inheritance).run()


class Checker(TableChecks):
    def __init__(self, rulebook: ast.Rulebook, vocabulary: Vocabulary, inheritance: Inheritance = NOTHING) -> None:
        self.rulebook = rulebook
        self.vocabulary = vocabulary
        self.diagnostics: list[Diagnostic] = list(inheritance.diagnostics)
        valuesets = {v.name: v for v in rulebook.of_type(ast.ValueSet)}
        self.rule_scope: str | None = None
        #: The conditions the action being checked runs under (the rule's, an `if`'s).
        self.under: list[ast.Expr] = []
        self.typer = Typer(vocabulary, valuesets, self.diagnostics.append, inherited=inheritance.valuesets)
        self.result = CheckResult(rulebook, self.diagnostics, self.typer)
        self.possible_atoms: dict[tuple[tuple[Atom, ...], tuple[type, ...]], bool] = {}

    def error(self, code_: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic("error", code_, message, span, hint))

    def warn(self, code_: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic("warning", code_, message, span, hint))

    def run(self) -> CheckResult:
        self.header()
        self.unique_names()
        self.diagnostics.extend(valueset_cycles(self.typer.valuesets))
        for item in self.rulebook.items:
            if isinstance(item, ast.ValueSet):
                self.typer.valueset_definition(item.value)
            elif isinstance(item, ast.Rule):
                self.rule(item)
            elif isinstance(item, ast.Table):
                self.table(item)
            elif isinstance(item, ast.Criteria):
                self.criteria(item)
        for test in self.rulebook.of_type(ast.Test):
            self.test(test)
        self.rule_relations()
        for valueset in self.rulebook.of_type(ast.ValueSet):
            if valueset.name not in self.typer.used_valuesets:
                self.warn(
                    "valueset.unused",
                    f"value set `{valueset.name}` is not used by any rule",
                    valueset.span,
                    "remove it, or use it in a condition",
                )
        unique = {(d.span.start, d.span.end, d.code, d.message): d for d in self.diagnostics}
        self.diagnostics[:] = sorted(unique.values(), key=lambda d: (d.span.start, d.code))
        return self.result

    # ---- header and names ---------------------------------------------------------------

    def header(self) -> None:
        header = self.rulebook.header
        if header is not None:
            self.dates(header, "header.dates", "the rulebook")

    def dates(self, node: ast.Header | ast.Rule | ast.Table, code_: str, what: str) -> None:
        """`effective DATE until DATE`: real calendar dates, the second not before the first."""
        for text, span in ((node.effective_from, node.from_span), (node.effective_until, node.until_span)):
            if text is not None:
                try:
                    dt.date.fromisoformat(text)
                except ValueError:
                    self.error(
                        "value.bad_date",
                        f"{text} is not a date on the calendar",
                        span,
                        "write the date as year-month-day, e.g. 2026-01-01",
                    )
        if node.effective_from and node.effective_until and node.effective_until < node.effective_from:
            self.error(
                code_,
                f"{what} ends before it starts",
                node.until_span,
                "`until` must be on or after `effective`",
            )

    def unique_names(self) -> None:
        seen: dict[tuple[str, str], ast.Item] = {}
        for item in self.rulebook.items:
            key = _item_key(item)
            if key is None:
                continue
            if key in seen:
                what = "test" if key[0] == "test" else "rule" if key[0] == "rule" else key[0]
                self.error(
                    "name.duplicate",
                    f"{what} `{key[1]}` is defined twice; the first one (line {seen[key].span.line}) would be shadowed",
                    item.span,
                    "give each a stable id of its own, or delete one",
                )
            else:
                seen[key] = item

    def phase(self, phase: str, span: ast.Span) -> bool:
        if phase in self.vocabulary.phases:
            return True
        guess = did_you_mean(phase, self.vocabulary.phases)
        self.error(
            "phase.unknown",
            f"`{phase}` is not a phase of the pipeline",
            span,
            f"did you mean `{guess}`?" if guess else "phases: " + ", ".join(self.vocabulary.phases),
        )
        return False

    # ---- rules ----------------------------------------------------------------------------

    def rule(self, rule: ast.Rule) -> None:
        phase_ok = self.phase(rule.phase, rule.phase_span)
        self.dates(rule, "rule.dates", f"rule `{rule.id}`")
        self.typer.guarded = set()
        read_before = len(self.typer.fields_read)
        reported_before = len(self.diagnostics)
        self.rule_scope = rule.scope
        self.under = [] if rule.condition is None else [rule.condition]
        if rule.condition is not None:
            self.typer.condition(rule.condition, Scope())
        self.steps(rule.actions, Scope(), rule.phase if phase_ok else None)
        self.rule_scope = None
        self.scope_reads(rule, read_before)
        self.missing_guards(rule.id, read_before)
        # A condition with an error in it says nothing about whether the rule can fire.
        clean = not any(d.severity == "error" for d in self.diagnostics[reported_before:])
        if clean and rule.condition is not None and not self.possible(rule.condition):
            self.warn(
                "rule.unreachable",
                f"rule `{rule.id}` can never fire: its conditions contradict each other",
                rule.span,
                "check the numbers and values compared with the same fact",
            )

    def scope_reads(self, rule: ast.Rule, read_before: int) -> None:
        """A fact the vocabulary keeps from the rule's scope (`Vocabulary.out_of_scope`): in a rule
        `for the encounter`, a fact of one service (which one?); in a service's rule, a fact only
        an encounter rule reads."""
        scope = rule.scope or "service"
        kept_out = self.vocabulary.out_of_scope.get(scope, ())
        reported: set[str] = set()
        for path, span in self.typer.fields_read[read_before:]:
            root = path.split(".", 1)[0]
            if root in reported or root not in kept_out:
                continue
            reported.add(root)
            if scope == "encounter":
                self.error(
                    "fact.wrong_scope",
                    f"`{path}` is a fact of one service; rule `{rule.id}` runs once for the encounter",
                    span,
                    "test the services with `any s in services: ...` or `count(each s in services: ...)`, "
                    "or drop `for the encounter` to run the rule for each service",
                )
            else:
                self.error(
                    "fact.wrong_scope",
                    f"`{path}` is read by a rule `for the encounter`; rule `{rule.id}` runs for each service",
                    span,
                    "write `in ... for the encounter` after the rule's label to run it once a visit",
                )

    def missing_guards(self, rule_id: str, read_before: int) -> None:
        reported: set[str] = set()
        for path, span in self.typer.fields_read[read_before:]:
            if self.vocabulary.is_required(path) or path in self.typer.guarded or path in reported:
                continue
            field_type = self.vocabulary.field_type(path)
            if field_type is not None and field_type.kind == "list":
                continue  # an absent list is an empty list
            reported.add(path)
            self.warn(
                "missing.unguarded",
                f"`{path}` may be missing from an encounter; `{rule_id}` is then "
                "undetermined (reported in the trace, never silently false)",
                span,
                f"say what happens with `missing({path})`, e.g. `missing({path}) or ...`",
            )

    def steps(self, steps: tuple[ast.Step, ...], scope: Scope, phase: str | None) -> None:
        for step in steps:
            if isinstance(step, ast.Conditional):
                self.typer.condition(step.condition, scope)
                self.under.append(step.condition)
                self.steps(step.then, scope, phase)
                self.under.pop()
                self.steps(step.otherwise, scope, phase)
            else:
                self.action(step, scope, phase)

    def action(self, action: ast.Action, scope: Scope, phase: str | None) -> None:
        words = action.words
        for spec in self.vocabulary.actions:
            arguments = match_action(spec, words)
            if arguments is None:
                continue
            if phase is not None and spec.phases and phase not in spec.phases:
                self.error(
                    "action.wrong_phase",
                    f"`{spec.template}` cannot be used in the {phase} phase",
                    action.span,
                    "it belongs in: " + ", ".join(spec.phases),
                )
            self.target(spec, action)
            if self.rule_scope == "encounter" and not spec.encounter:
                self.error(
                    "action.wrong_scope",
                    f"`{spec.template}` acts on one service; this rule runs once for the encounter",
                    action.span,
                    "an encounter rule acts on lines chosen by code set or modifier: "
                    + ", ".join(f"`{s.template}`" for s in self.vocabulary.actions if s.encounter),
                )
            for name, value in arguments:
                self.typer.coerce(value, spec.param_type(name), scope)
                if isinstance(value, ast.Literal) and value.kind == "string":
                    self.interpolations(value, scope)
            self.result.actions[id(action)] = BoundAction(spec, tuple(arguments))
            return
        first = (word_of(words[0]) if words else None) or ""
        same_verb = [s for s in self.vocabulary.actions if s.words[0] == first]
        if same_verb:
            self.error(
                "action.unknown",
                f"`{_sentence(words)}` is not a form of `{first}` the vocabulary knows",
                action.span,
                "write it as: " + " or ".join(f"`{s.template}`" for s in same_verb),
            )
            return
        guess = did_you_mean(first, sorted({s.words[0] for s in self.vocabulary.actions}))
        hint = (
            f"did you mean `{guess}`?"
            if guess
            else "actions: " + ", ".join(sorted({s.words[0] for s in self.vocabulary.actions}))
        )
        self.error(
            "action.unknown", f"`{first}` is not an action", action.words[0].span if words else action.span, hint
        )

    def target(self, spec: ActionSpec, action: ast.Action) -> None:
        """An action that acts only on some values of a fact (`ActionSpec.acts_on`: `cap lesions`
        on destructions) is an error unless the conditions it runs under keep every other value
        out: it would otherwise do nothing there, silently."""
        if spec.acts_on is None:
            return
        path, values = spec.acts_on
        atoms = [atom for condition in self.under for atom in self.atoms(condition, skip_other=True) or ()]
        other = Atom(path, "not in", frozenset(values))
        types = {atom.path: self.vocabulary.field_type(atom.path) for atom in (*atoms, other)}
        if not satisfiable([*atoms, other], types):
            return
        wanted = f"{path} = {values[0]}" if len(values) == 1 else f"{path} in [{', '.join(values)}]"
        self.error(
            "action.wrong_target",
            f"`{SLOT_TEXT.sub('...', spec.template)}` acts only where {path} is {' or '.join(values)}; "
            "here it may run for another and would do nothing",
            action.span,
            f"add `{wanted}` to the `when` condition",
        )

    def interpolations(self, literal: ast.Literal, scope: Scope) -> None:
        for match in INTERPOLATION.finditer(literal.text):
            path = match.group(1)
            if self.vocabulary.field_type(path) is None and path.split(".")[0] not in scope.outputs:
                guess = did_you_mean(path, self.vocabulary.field_names())
                self.error(
                    "name.unknown",
                    f"`{{{path}}}` in this text is not a known fact",
                    literal.span,
                    f"did you mean `{{{guess}}}`?" if guess else None,
                )

    # ---- decidable relations between rules ---------------------------------------------------

    def atoms(self, condition: ast.Expr | None, skip_other: bool = False) -> list[Atom] | None:
        """The condition as `fact op constant` atoms, or None when it has another shape.

        `present(x)` adds no constraint of its own shape and is skipped; with `skip_other`, so is
        any other conjunct (sound for "can never fire": fewer constraints are easier to meet).
        """
        result: list[Atom] = []
        for part in conjunction(condition):
            atom = self.atom(part)
            if atom is None:
                if skip_other or (isinstance(part, ast.Call) and part.function == "present"):
                    continue
                return None
            result.append(atom)
        return result

    def atom(self, expr: ast.Expr) -> Atom | None:
        constants, references = self.typer.constants, self.typer.references
        if isinstance(expr, ast.Compare):
            left, right = references.get(id(expr.left)), references.get(id(expr.right))
            if left and left[0] == "field" and id(expr.right) in constants:
                return Atom(left[1], expr.op, constants[id(expr.right)])
            if right and right[0] == "field" and id(expr.left) in constants:
                flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(expr.op, expr.op)
                return Atom(right[1], flipped, constants[id(expr.left)])
        if isinstance(expr, ast.Member) and expr.test in ("in", "not in"):
            element = references.get(id(expr.element))
            if element and element[0] == "field" and constants.get(id(expr.collection)) is not None:
                return Atom(element[1], expr.test, constants[id(expr.collection)])
        return None

    def possible(self, condition: ast.Expr) -> bool:
        """Whether some input meets the condition; asked once per distinct set of atoms, since rules
        written from one pattern (a payer, a threshold) repeat the same few constraints."""
        atoms = self.atoms(condition, skip_other=True)
        if not atoms:
            return True
        key = (tuple(atoms), tuple(type(a.value) for a in atoms))  # types too: 1 == 1.0 == True
        try:
            known, cacheable = self.possible_atoms.get(key), True
        except TypeError:  # a constant that cannot be a key (none of the usual ones): just ask
            known, cacheable = None, False
        if known is None:
            known = satisfiable(atoms, {a.path: self.vocabulary.field_type(a.path) for a in atoms})
            if cacheable:
                self.possible_atoms[key] = known
        return known

    def rule_relations(self) -> None:
        """Repeated and conflicting rules, found by grouping rather than comparing every pair."""
        rules = self.rulebook.of_type(ast.Rule)
        first_with: dict[tuple, ast.Rule] = {}
        choices: dict[tuple[str, str], list[ast.Rule]] = {}
        for rule in rules:
            # One lookup: hashing a rule's condition and actions walks their whole tree.
            earlier = first_with.setdefault((rule.phase, rule.condition, rule.actions), rule)
            if earlier.id != rule.id:
                self.warn(
                    "rule.shadowed",
                    f"rule `{rule.id}` repeats rule `{earlier.id}` (line "
                    f"{earlier.span.line}) and never changes the outcome",
                    rule.span,
                    "delete one, or disable the earlier one in a later rulebook",
                )
                continue
            for bound in _top_level_actions(rule, self.result):
                if _single_choice(bound) or bound.spec.name in ("add_modifier", "remove_modifier"):
                    kind = "modifier" if "modifier" in bound.spec.name else bound.spec.name
                    choices.setdefault((rule.phase, kind), []).append(rule)
        for group in choices.values():
            unique = list(dict.fromkeys(group))
            for index, later in enumerate(unique):
                for earlier in unique[:index]:
                    if earlier.id == later.id:
                        continue
                    conflict = self.conflict(earlier, later)
                    if conflict:
                        self.warn(
                            "rule.conflict",
                            f"rules `{earlier.id}` and `{later.id}` can both fire for the "
                            f"same service with opposite actions ({conflict})",
                            later.span,
                            "make their conditions exclusive, or decide which one wins by disabling the other",
                        )

    def conflict(self, first: ast.Rule, second: ast.Rule) -> str | None:
        a, b = _top_level_actions(first, self.result), _top_level_actions(second, self.result)
        opposing = None
        for left in a:
            for right in b:
                opposing = opposing or _opposite(left, right, self.typer.constants)
        if opposing is None:
            return None
        atoms_a, atoms_b = self.atoms(first.condition), self.atoms(second.condition)
        if atoms_a is None or atoms_b is None:
            return None
        atoms = atoms_a + atoms_b
        if satisfiable(atoms, {x.path: self.vocabulary.field_type(x.path) for x in atoms}):
            return opposing
        return None

    # ---- criteria and tests -------------------------------------------------------------------

    def criteria(self, criteria: ast.Criteria) -> None:
        self.typer.coerce(criteria.indication, list_of(code("icd10")), Scope())
        for requirement in criteria.requirements:
            self.typer.condition(requirement.condition, Scope())

    def test(self, test: ast.Test) -> None:
        known_ids = {key[1] for item in self.rulebook.items if (key := _item_key(item)) and key[0] == "rule"}
        extends = self.rulebook.header is not None and self.rulebook.header.extends
        for record_field in test.given:
            self.fact(record_field, "")
        for example in test.examples:
            for record_field in example.facts:
                self.fact(record_field, "")
        expectations = list(test.expectations) + [e for ex in test.examples for e in ex.expectations]
        for expectation in expectations:
            if expectation.because and expectation.because not in known_ids and not extends:
                guess = did_you_mean(expectation.because, known_ids)
                self.error(
                    "test.unknown_rule",
                    f"`{expectation.because}` is not a rule of this rulebook",
                    expectation.span,
                    f"did you mean `{guess}`?" if guess else None,
                )
        if not expectations:
            self.warn(
                "test.no_expectation",
                f'test "{test.name}" expects nothing, so it can never fail',
                test.span,
                "add `expect ...`",
            )

    def fact(self, record_field: ast.RecordField, prefix: str) -> None:
        path = prefix + record_field.path.dotted
        expected = self.vocabulary.field_type(path)
        value = record_field.value
        if (
            expected is None
            and isinstance(value, ast.Record)
            and any(name.startswith(path + ".") for name in self.vocabulary.field_names())
        ):
            for inner in value.fields:
                self.fact(inner, path + ".")
            return
        if expected is None:
            names = self.vocabulary.field_names()
            # The groups too (`service`): `servce` is a misspelt group, not `services`.
            guess = did_you_mean(path, [*names, *sorted({name.split(".")[0] for name in names} - set(names))])
            self.error(
                "name.unknown",
                f"`{path}` is not a known fact",
                record_field.path.span,
                f"did you mean `{guess}`?" if guess else None,
            )
            return
        if isinstance(value, ast.Record):
            for inner in value.fields:
                self.fact(inner, path + ".")
            return
        if expected.kind == "list" and expected.element is not None and expected.element.kind == "record":
            items = value.items if isinstance(value, ast.ListExpr) else ()
            for item in items:
                if isinstance(item, ast.Record):
                    for inner in item.fields:
                        self.record_fact(inner, expected.element, path)
                else:
                    self.error(
                        "test.given_record",
                        f"each of `{path}` is written as `{{...}}` with its facts",
                        item.span,
                        f"e.g. `{path}: [{{{expected.element.fields[0][0]}: ...}}]`",
                    )
            return
        self.given_value(value, expected)

    def record_fact(self, record_field: ast.RecordField, record_type: Type, path: str) -> None:
        """A fact of one record in a list a test gives (`other_services: [{kind: biopsy}]`)."""
        name = record_field.path.dotted
        expected = record_type.field(name)
        if expected is None:
            self.typer.unknown_field(name, record_type, f"each of `{path}`", record_field.path.span)
            return
        self.given_value(record_field.value, expected)

    def given_value(self, value: ast.Expr, expected: Type) -> None:
        if isinstance(value, ast.Path) and value.dotted == "missing":
            return
        if expected.kind == "list" and expected.element is not None and isinstance(value, ast.ListExpr):
            for item in value.items:
                self.typer.coerce(item, expected.element, Scope())
            return
        self.typer.coerce(value, expected, Scope())


def _item_key(item: ast.Item) -> tuple[str, str] | None:
    if isinstance(item, ast.Rule | ast.Table):
        return ("rule", item.id)
    if isinstance(item, ast.ValueSet):
        return ("value set", item.name)
    if isinstance(item, ast.Criteria):
        return ("criteria", item.id)
    if isinstance(item, ast.Test):
        return ("test", item.name)
    return None


def _sentence(words: tuple[ast.Expr, ...]) -> str:
    return " ".join(word_of(w) or "..." for w in words)


def _top_level_actions(rule: ast.Rule, result: CheckResult) -> list[BoundAction]:
    return [result.actions[id(step)] for step in rule.actions if id(step) in result.actions]


def _opposite(a: BoundAction, b: BoundAction, constants: dict[int, Any]) -> str | None:
    """Two actions that contradict each other: one choice (classify, route) made two ways, or a
    modifier both added and removed."""
    if a.spec.name != b.spec.name or not _single_choice(a):
        same_modifier = constants.get(id(a.arguments[0][1])) == constants.get(id(b.arguments[0][1]))
        if {a.spec.name, b.spec.name} == {"add_modifier", "remove_modifier"} and same_modifier:
            return "a modifier added and removed"
        return None
    left, right = constants.get(id(a.arguments[0][1])), constants.get(id(b.arguments[0][1]))
    if left is not None and right is not None and left != right:
        return f"{a.spec.words[0]} {left} vs {right}"
    return None


def _single_choice(action: BoundAction) -> bool:
    """An action that makes one choice among symbols (classify, route): two values contradict."""
    return len(action.spec.params) == 1 and action.spec.params[0][1].kind == "enum"


__all__ = ["BoundAction", "CheckResult", "check", "compatible"]
