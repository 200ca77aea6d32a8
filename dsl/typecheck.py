"""Types expressions against the vocabulary, turning literals into typed constants.

A literal's type comes from where it stands: `17000` beside a CPT field is a CPT code,
`destruction` beside `service.kind` is one of its symbols, `6 months` beside an age in
years is half a year. The constants and name resolutions found here are what the
compiler reads (`Typer.constants`, `Typer.references`), so it never guesses again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dsl import ast
from dsl.diagnostics import Diagnostic, did_you_mean
from dsl.extends import SetScope
from dsl.inherited_sets import InheritedSets
from dsl.values import CodeSet, normalize_code, parse_date, quantity_value, same_dimension
from dsl.vocabulary import BOOL, DATE, INTEGER, NUMBER, STRING, SYMBOL, UNITS, Type, Vocabulary, code, list_of

ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{0,4})?\*?$|^[A-Z][0-9]\*$")
CPT_SHAPE = re.compile(r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
HCPCS_LIKE = re.compile(r"^[A-Za-z][0-9A-Za-z]{2,}$")  # a misspelt HCPCS Level II code, such as J05170
BOOLEAN_WORDS = {"true": True, "yes": True, "false": False, "no": False}
FUNCTIONS = {
    "missing": "whether a fact is missing",
    "present": "whether a fact is present",
    "count": "how many items a list has",
}
INTERPOLATION = re.compile(r"\{([A-Za-z_][\w.]*)\}")


@dataclass
class Scope:
    variables: dict[str, Type] = field(default_factory=dict)
    outputs: dict[str, Type] = field(default_factory=dict)

    def bind(self, name: str, type_: Type) -> Scope:
        return Scope({**self.variables, name: type_}, self.outputs)


@dataclass
class Typer(InheritedSets):
    vocabulary: Vocabulary
    valuesets: dict[str, ast.ValueSet]
    report: Callable[[Diagnostic], None]
    constants: dict[int, Any] = field(default_factory=dict)
    references: dict[int, tuple] = field(default_factory=dict)
    used_valuesets: set[str] = field(default_factory=set)
    fields_read: list[tuple[str, ast.Span]] = field(default_factory=list)
    guarded: set[str] = field(default_factory=set)
    _set_cache: dict[tuple[str, Type], Any] = field(default_factory=dict)
    _inferring: set[str] = field(default_factory=set)  # the value sets whose type is being inferred
    #: The value sets inherited through `extends` (`dsl.extends`), each typed in the scope of the
    #: book that defines it: a local set of the same name shadows it.
    inherited: Mapping[str, SetScope] = field(default_factory=dict)
    _scopes: dict[int, tuple[Typer, list[Diagnostic]]] = field(default_factory=dict)
    _inherited_errors: dict[tuple[str, Type], Diagnostic | None] = field(default_factory=dict)
    _probes: list[ast.Path] = field(default_factory=list)  # kept alive: typers key by `id`
    #: Quantifiers whose condition ended before the operand being checked (`any x in xs: a and
    #: x.b`: `x.b` is outside), by variable: an unknown name starting with one needs parentheses.
    _ended: dict[str, ast.Quantified] = field(default_factory=dict)

    def error(self, code_: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.report(Diagnostic("error", code_, message, span, hint))

    # ---- conditions ------------------------------------------------------------------------

    def condition(self, expr: ast.Expr, scope: Scope) -> None:
        """Check an expression that must be yes or no."""
        if isinstance(expr, ast.BoolOp):
            ended = dict(self._ended)
            for operand in expr.operands:
                self.condition(operand, scope)
                last = operand.operand if isinstance(operand, ast.Not) else operand
                if isinstance(last, ast.Quantified) and last.variable not in scope.variables:
                    self._ended[last.variable] = last
            self._ended = ended
        elif isinstance(expr, ast.Not):
            self.condition(expr.operand, scope)
        elif isinstance(expr, ast.Compare):
            self.compare(expr, scope)
        elif isinstance(expr, ast.Member):
            self.member(expr, scope)
        elif isinstance(expr, ast.Quantified):
            self.quantified(expr, scope)
        else:
            found = self.infer(expr, scope)
            if found is not None and found.kind != "bool":
                self.error(
                    "type.not_a_condition",
                    f"this is {found.describe()}, not a yes-or-no condition",
                    expr.span,
                    "compare it with something, e.g. `service.count > 10 lesions`",
                )

    def compare(self, expr: ast.Compare, scope: Scope) -> None:
        if isinstance(expr.left, ast.Literal) and not isinstance(expr.right, ast.Literal):
            # `10 lesions < service.lesion_size_cm`: the fact's type is fixed, so the value written
            # beside it is the side that is wrong; check it against the fact, as on the right.
            right = self.infer(expr.right, scope, quiet=True)
            if right is not None:
                self.coerce(expr.left, right, scope, beside=expr.right)
                self._ordered(expr, right)
                return
        left = self.infer(expr.left, scope, quiet=True)
        if left is None:
            right = self.infer(expr.right, scope, quiet=True)
            if right is None:
                self.infer(expr.left, scope)  # reports the unknown name
                return
            self.coerce(expr.left, right, scope, beside=expr.right)
            left = right
        else:
            self.coerce(expr.right, left, scope, beside=expr.left)
        self._ordered(expr, left)

    def _ordered(self, expr: ast.Compare, left: Type) -> None:
        """`<` and the like need numbers or dates; `=` cannot compare a list."""
        if expr.op not in ("=", "!=") and left.kind not in ("number", "quantity", "date"):
            self.error(
                "type.not_ordered",
                f"`{expr.op}` needs numbers or dates, but this is {left.describe()}",
                expr.span,
                "use `=` or `!=`, or `in` for a set",
            )
        if left.kind == "list":
            self.error(
                "type.list_compared",
                "a list cannot be compared with `=`",
                expr.span,
                "use `any in`, `all in` or `none in` to test a list against a set",
            )

    def member(self, expr: ast.Member, scope: Scope) -> None:
        element = self.infer(expr.element, scope)
        if element is None:
            return
        if expr.test in ("in", "not in"):
            if element.kind == "list":
                self.error(
                    "type.list_in_set",
                    "this is a list: say whether any, all or none of it must be in the set",
                    expr.element.span,
                    f"write `{_text(expr.element)} any in ...`",
                )
                return
            self.coerce(expr.collection, list_of(element), scope)
            return
        if element.kind != "list" or element.element is None:
            self.error(
                "type.not_a_list",
                f"`{expr.test}` tests a list, but this is {element.describe()}",
                expr.element.span,
                "use `in` for a single value",
            )
            return
        if element.element.kind == "record":
            self.records_in_set(expr, element.element, scope)
            return
        self.coerce(expr.collection, element, scope)

    def records_in_set(self, expr: ast.Member, record_type: Type, scope: Scope) -> None:
        """`lines any in S`: a list of records is not a list of values; say which field to test."""
        fields = [name for name, type_ in record_type.fields if type_.kind == "code"] or [
            name for name, _ in record_type.fields
        ]
        whole = _text(expr.element)
        variable = whole.rsplit(".", 1)[-1].removesuffix("s") or "item"
        quantifier = expr.test.split()[0]
        self.infer(expr.collection, scope, quiet=True)  # the set is used, whatever its type
        collection = _text(expr.collection)
        example = f"{quantifier} {variable} in {whole}: {variable}.{fields[0] if fields else 'code'} in {collection}"
        self.error(
            "type.records_in_set",
            f"`{whole}` is a list of {record_type.describe().removeprefix('a ')}s, not of values: "
            f"`{expr.test}` cannot test it against a set",
            expr.element.span,
            f"test a fact of each, e.g. `{example}`",
        )

    def quantified(self, expr: ast.Quantified, scope: Scope) -> None:
        collection = self.infer(expr.collection, scope)
        if collection is None:
            return
        if collection.kind != "list" or collection.element is None:
            self.error(
                "type.not_a_list",
                f"`{expr.quantifier} ... in` needs a list, but this is {collection.describe()}",
                expr.collection.span,
            )
            return
        self.condition(expr.condition, scope.bind(expr.variable, collection.element))

    # ---- inference ------------------------------------------------------------------------------

    def infer(self, expr: ast.Expr, scope: Scope, quiet: bool = False) -> Type | None:
        """The type of an expression that has one on its own; None when it needs context."""
        if isinstance(expr, ast.Literal):
            return self.infer_literal(expr, quiet)
        if isinstance(expr, ast.Path):
            return self.infer_path(expr, scope, quiet)
        if isinstance(expr, ast.Call):
            return self.call(expr, scope)
        if isinstance(expr, ast.CodeRange):
            self.coerce(expr, list_of(code("cpt")), scope)
            return list_of(code("cpt"))
        if isinstance(expr, ast.ListExpr | ast.Union):
            return self.infer_set(expr, scope, quiet)
        if isinstance(expr, ast.BoolOp | ast.Not | ast.Compare | ast.Member | ast.Quantified):
            self.condition(expr, scope)
            return BOOL
        if isinstance(expr, ast.Record):
            self.error("type.record_here", "facts written as `{...}` belong in a test's `given`", expr.span)
            return None
        return None  # pragma: no cover

    def valueset_definition(self, value: ast.Expr) -> None:
        """Check each member of a value set's definition that says what it is on its own: a code
        written as one (`L57.0`, `D22.*`, `0001U`), a range (CPT/HCPCS), a date; and resolve the
        sets it names. A bare number or name (`17000`, `J0517`, `G2211`, `XS`, `59`, `shave`) gets
        its type where the set is used, and so is checked there: a set may hold CPT and HCPCS
        codes alike (`[96372, J0517]`), or modifiers (`[XS, 59]`).
        """
        if isinstance(value, ast.ListExpr | ast.Union):
            for member in value.items if isinstance(value, ast.ListExpr) else value.parts:
                self.valueset_definition(member)
        else:
            self.infer(value, Scope(), quiet=True)

    def infer_set(self, expr: ast.ListExpr | ast.Union, scope: Scope, quiet: bool) -> Type | None:
        """The type of a list or `+` of sets from its first member with a type of its own, its
        other members then checked as that type; None when it needs context.

        A bare number does not decide it while a member is a bare name: `[17000, J3301]` is a set
        of CPT/HCPCS codes beside `line.code`, `[XS, 59]` of modifiers beside `line.modifiers`,
        and neither a set of numbers with an unknown name in it. Such a set is typed where it is
        used (a value set's definition is checked there, see `Checker.run`).
        """
        items = expr.items if isinstance(expr, ast.ListExpr) else expr.parts
        numbers: Type | None = None
        for item in items:
            found = self.infer(item, scope, quiet=True)
            if found is None:
                continue
            found = found if found.kind == "list" else list_of(found)
            if found.element is not None and found.element.kind == "number":
                numbers = numbers or found  # numbers may be codes: a member with a type of its own decides
                continue
            self.coerce(expr, found, scope)
            return found
        untyped = [item for item in items if self.infer(item, scope, quiet=True) is None]
        if numbers is not None and not untyped:
            self.coerce(expr, numbers, scope)
            return numbers
        if not quiet and untyped:
            self.infer(untyped[0], scope)  # says why the name has no type here
        return None

    def infer_literal(self, literal: ast.Literal, quiet: bool) -> Type | None:
        if literal.kind == "number":
            self.constants[id(literal)] = _number(literal.text)
            return NUMBER
        if literal.kind == "quantity":
            unit = literal.text.split(" ")[1]
            self.constants[id(literal)] = quantity_value(literal.text, None)
            return Type("quantity", unit=unit)
        if literal.kind == "date":
            try:
                self.constants[id(literal)] = parse_date(literal.text)
            except ValueError:
                self.error("value.bad_date", f"{literal.text} is not a date on the calendar", literal.span)
            return DATE
        if literal.kind == "string":
            self.constants[id(literal)] = literal.text
            return STRING
        if literal.kind == "code":
            system = "icd10" if ICD_SHAPE.match(literal.text) else "cpt"
            if "*" in literal.text:
                self.coerce(literal, list_of(code(system)), Scope())
                return list_of(code(system))
            self.coerce(literal, code(system), Scope())
            return code(system)
        return None

    def infer_path(self, path: ast.Path, scope: Scope, quiet: bool) -> Type | None:
        head, rest = path.parts[0], path.parts[1:]
        if head in scope.variables:
            return self._walk(path, scope.variables[head], rest, ("var", head, rest))
        if head in scope.outputs and not rest:
            self.references[id(path)] = ("output", head)
            return scope.outputs[head]
        if not rest and head in self.valuesets:
            if head in self._inferring:
                found = None  # a set defined by itself (`valueset x = x`) has no type of its own
            else:
                self._inferring.add(head)
                found = self.infer(self.valuesets[head].value, Scope(), quiet=True)
                self._inferring.discard(head)
            self.used_valuesets.add(head)
            self.references[id(path)] = ("valueset", head)
            return found
        if not rest and head in self.inherited:
            self.references[id(path)] = ("valueset", head)
            return self.scope_of(head)[0].infer(self.probe(head), Scope(), quiet=True)
        if not rest and head in self.vocabulary.value_sets:
            self.references[id(path)] = ("valueset", head)
            return list_of(self.vocabulary.value_sets[head][0])
        found = self.vocabulary.field_type(path.dotted)
        if found is not None:
            self.references[id(path)] = ("field", path.dotted)
            self.fields_read.append((path.dotted, path.span))
            return found
        if quiet:
            return None
        self.unknown_name(path, scope)
        return None

    def unknown_field(self, name: str, record_type: Type, whose: str, span: ast.Span) -> None:
        """`name` is no fact of a record (`whose` says which, in words), with the likeliest one."""
        names = [field_name for field_name, _ in record_type.fields]
        guess = did_you_mean(name, names)
        self.error(
            "name.unknown_field",
            f"`{name}` is not a fact of {whose}",
            span,
            f"did you mean `{guess}`?" if guess else f"known: {', '.join(names) or 'none'}",
        )

    def _walk(self, path: ast.Path, type_: Type, rest: tuple[str, ...], reference: tuple) -> Type | None:
        for part in rest:
            inner = type_.field(part) if type_.kind == "record" else None
            if inner is None:
                self.unknown_field(part, type_, type_.describe(), path.span)
                return None
            type_ = inner
        self.references[id(path)] = reference
        return type_

    def unknown_name(self, path: ast.Path, scope: Scope) -> None:
        quantifier = self._ended.get(path.parts[0])
        if quantifier is not None:
            head = f"{quantifier.quantifier} {quantifier.variable} in {_text(quantifier.collection)}:"
            self.error(
                "condition.needs_parentheses",
                f"`{path.dotted}` is outside `{head}`: a quantifier's condition ends at the first `and` or `or`",
                path.span,
                f"put its whole condition in parentheses: `{head} ({_text(quantifier.condition)} and ...)`",
            )
            return
        names = [
            *self.vocabulary.field_names(),
            *self.valuesets,
            *self.inherited,
            *scope.variables,
            *scope.outputs,
        ]
        guess = did_you_mean(path.dotted, names)
        longer = [n for n in names if n.startswith(path.dotted) and n != path.dotted]
        if guess is None and longer:
            guess = min(longer, key=len)
        if guess is None and len(path.parts) > 1:
            prefix = path.parts[0] + "."
            guess = did_you_mean(path.dotted, [n for n in names if n.startswith(prefix)])
        message = f"`{path.dotted}` is not a known fact or value set"
        hint = (
            f"did you mean `{guess}`?"
            if guess
            else "see the vocabulary (`cutis rules vocabulary`) for the facts rules can read"
        )
        self.error("name.unknown", message, path.span, hint)

    def call(self, call: ast.Call, scope: Scope) -> Type | None:
        if call.function not in FUNCTIONS:
            guess = did_you_mean(call.function, list(FUNCTIONS))
            self.error(
                "name.unknown_function",
                f"`{call.function}` is not a function of the language",
                call.span,
                f"did you mean `{guess}`?" if guess else "functions: " + ", ".join(FUNCTIONS),
            )
            return None
        if len(call.args) != 1:
            self.error("call.arguments", f"`{call.function}` takes one fact", call.span)
            return None
        argument = call.args[0]
        if isinstance(argument, ast.Quantified):  # `each x in xs: condition`
            if call.function != "count":
                self.error(
                    "call.not_a_fact",
                    f"`{call.function}` takes a fact such as `service.count`; `each` counts, inside `count(...)`",
                    argument.span,
                )
                return BOOL
            self.quantified(argument, scope)
            return INTEGER
        if call.function in ("missing", "present"):
            if not isinstance(argument, ast.Path):
                self.error("call.not_a_fact", f"`{call.function}` takes a fact such as `service.count`", argument.span)
                return BOOL
            self.infer(argument, scope)
            self.guarded.add(argument.dotted)
            return BOOL
        found = self.infer(argument, scope)
        if found is not None and found.kind != "list":
            self.error("type.not_a_list", f"`count` needs a list, but this is {found.describe()}", argument.span)
        return INTEGER

    # ---- coercion --------------------------------------------------------------------------------

    def coerce(self, expr: ast.Expr, expected: Type, scope: Scope, beside: ast.Expr | None = None) -> None:
        """Check `expr` can stand where `expected` is needed; record its constant value. `beside`
        is the other side of a comparison, named in a type error so that it says which side is wrong."""
        if expected.kind == "list" and expected.element is not None:
            self.coerce_set(expr, expected, scope)
            return
        if isinstance(expr, ast.Path) and len(expr.parts) == 1 and self._is_symbol_context(expr, expected, scope):
            self.coerce_word(expr, expr.parts[0], expected)
            return
        if isinstance(expr, ast.Literal) and expr.kind in ("number", "code", "name") and expected.kind == "code":
            self.coerce_word(expr, expr.text, expected)
            return
        if isinstance(expr, ast.Literal) and expr.kind == "quantity" and expected.kind in ("quantity", "number"):
            unit = expr.text.split(" ")[1]
            if expected.kind == "quantity" and not same_dimension(unit, expected.unit or ""):
                self.error(
                    "type.unit_mismatch",
                    f"`{expr.text}` is measured in {unit}, but this fact is {expected.describe()}",
                    expr.span,
                    f"write it in {expected.unit}",
                )
                return
            self.constants[id(expr)] = quantity_value(expr.text, expected.unit)
            return
        found = self.infer(expr, scope)
        if found is None:
            return
        if not compatible(found, expected):
            hint = None
            if expected.kind == "code" and found.kind == "number":
                hint = "codes are written without units, e.g. 17000"
            if found.kind == "code" and expected.kind in ("number", "quantity"):
                hint = "codes go in a code condition such as `line.code in 17000..17004`"
            message = f"expected {expected.describe()}, found {found.describe()}"
            if beside is not None:
                verdict = (
                    "they cannot be compared"
                    if isinstance(expr, ast.Path) and isinstance(beside, ast.Path)
                    else f"`{_shown(expr)}` is the side to change"
                )
                message = (
                    f"`{_shown(expr)}` is {found.describe()}, but `{_shown(beside)}` beside it is "
                    f"{expected.describe()}: {verdict}"
                )
            self.error("type.mismatch", message, expr.span, hint)

    def _is_symbol_context(self, path: ast.Path, expected: Type, scope: Scope) -> bool:
        """Whether a bare word stands for itself (`gold`, `payer_lesion_cap_applied`) rather than a name."""
        name = path.parts[0]
        if name in scope.variables or name in scope.outputs:
            return False
        if expected.kind == "symbol" or (expected.kind == "enum" and name in expected.symbols):
            return True
        return not self.rulebook_set(name) and self.vocabulary.field_type(name) is None

    def _named_set(self, name: str, element: Type) -> bool:
        """Whether `name` in a set's members names a set: the rulebook's, or the vocabulary's
        (`face_regions + [neck]` extends a class the vocabulary ships), unless it is a value."""
        if self.rulebook_set(name):
            return True
        return name in self.vocabulary.value_sets and name not in element.symbols

    def rulebook_set(self, name: str) -> bool:
        """Whether `name` is a value set of the rulebook: its own, or one it inherits."""
        return name in self.valuesets or name in self.inherited

    def coerce_word(self, node: ast.Expr, word: str, expected: Type) -> None:
        kind = expected.kind
        if kind == "enum":
            if word in expected.symbols:
                self.constants[id(node)] = word
                return
            guess = did_you_mean(word, expected.symbols)
            self.error(
                "value.unknown_symbol",
                f"`{word}` is not {expected.describe()}",
                node.span,
                f"did you mean `{guess}`?" if guess else None,
            )
        elif kind == "symbol":
            self.constants[id(node)] = word
        elif kind == "bool":
            if word.lower() in BOOLEAN_WORDS:
                self.constants[id(node)] = BOOLEAN_WORDS[word.lower()]
            else:
                self.error("type.mismatch", f"expected yes or no, found `{word}`", node.span)
        elif kind == "code":
            self.coerce_code(node, word, expected.system or "", allow_pattern=False)
        elif kind == "string":
            self.error(
                "type.mismatch",
                f"expected a quoted text, found `{word}`",
                node.span,
                f'write "{word}" in double quotes',
            )
        else:
            self.unknown_name(node, Scope()) if isinstance(node, ast.Path) else self.error(
                "type.mismatch", f"expected {expected.describe()}, found `{word}`", node.span
            )

    def coerce_code(self, node: ast.Expr, text: str, system: str, allow_pattern: bool) -> str | None:
        if "*" in text and not allow_pattern:
            self.error(
                "value.pattern_as_code",
                f"`{text}` stands for many codes, not one",
                node.span,
                "test it with `in`, e.g. `service.diagnoses any in [D22.*]`",
            )
            return None
        shape_ok = bool(ICD_SHAPE.match(text)) if system == "icd10" else True
        if system == "cpt":
            shape_ok = bool(CPT_SHAPE.match(text))
        if not shape_ok:
            other = "a CPT/HCPCS code such as 17000" if system == "cpt" else "an ICD-10-CM code such as L57.0"
            hint = None
            if (
                system == "cpt"
                and ICD_SHAPE.match(text)
                and ("." in text or not self.vocabulary.validate_code("icd10", text))
            ):
                hint = "ICD-10 codes go in a diagnosis condition such as `service.diagnoses any in [...]`"
            elif system == "icd10" and CPT_SHAPE.match(text):
                hint = "CPT codes go in a procedure condition such as `line.code in 17000..17004`"
            elif text != text.upper() and (CPT_SHAPE if system == "cpt" else ICD_SHAPE).match(text.upper()):
                hint = f"codes are written in capitals: `{text.upper()}`"
            elif system == "cpt" and HCPCS_LIKE.match(text):
                hint = "a HCPCS Level II code is a letter and four digits, such as J0517 or G2211"
            self.error("value.bad_code", f"expected {other}, found `{text}`", node.span, hint)
            return None
        problem = self.vocabulary.validate_code(system, text)
        if problem:
            self.error("value.unknown_code", problem, node.span)
            return None
        value = normalize_code(text) if system != "modifier" else text.upper()
        self.constants[id(node)] = value
        return value

    def coerce_set(self, expr: ast.Expr, expected: Type, scope: Scope) -> None:
        element = expected.element
        assert element is not None
        if isinstance(expr, ast.Path) and len(expr.parts) == 1 and expr.parts[0] in self.valuesets:
            name = expr.parts[0]
            self.used_valuesets.add(name)
            self.references[id(expr)] = ("valueset", name)
            key = (name, expected)
            if key not in self._set_cache:
                self._set_cache[key] = None
                definition = self.valuesets[name].value
                self.coerce_set(definition, expected, Scope())
                self._set_cache[key] = self.constants.get(id(definition))
            self.constants[id(expr)] = self._set_cache[key]
            return
        if isinstance(expr, ast.Path) and len(expr.parts) == 1 and expr.parts[0] in self.inherited:
            self.inherited_set(expr, expected)
            return
        if isinstance(expr, ast.Path) and len(expr.parts) == 1 and expr.parts[0] in self.vocabulary.value_sets:
            declared, values = self.vocabulary.value_sets[expr.parts[0]]
            if not compatible(declared, element):
                self.error(
                    "type.mismatch",
                    f"`{expr.parts[0]}` is a set of {_plural(declared)}, not of {_plural(element)}",
                    expr.span,
                )
                return
            self.constants[id(expr)] = _make_set(element, [("exact", v) for v in values])
            return
        if isinstance(expr, ast.ListExpr | ast.Union | ast.CodeRange) or (
            isinstance(expr, ast.Literal) and "*" in expr.text
        ):
            members = self._members(expr, element, scope)
            if members is not None:
                self.constants[id(expr)] = _make_set(element, members)
            return
        found = self.infer(expr, scope)
        if found is not None and not compatible(found, expected):
            self.error(
                "type.mismatch",
                f"expected a set of {element.describe().split(' ', 1)[1]}s, found {found.describe()}",
                expr.span,
            )

    def _members(self, expr: ast.Expr, element: Type, scope: Scope) -> list[tuple[str, Any]] | None:
        """(kind, value) pairs: ('exact', v), ('prefix', p) or ('range', (low, high)); None on error."""
        if isinstance(expr, ast.Union | ast.ListExpr):
            members: list[tuple[str, Any]] = []
            ok = True
            for part in expr.parts if isinstance(expr, ast.Union) else expr.items:
                if isinstance(part, ast.Path) and len(part.parts) == 1 and self._named_set(part.parts[0], element):
                    self.coerce_set(part, list_of(element), scope)
                    inner = self.constants.get(id(part))
                    if inner is None:
                        ok = False
                    else:
                        members.append(("set", inner))
                    continue
                found = self._members(part, element, scope)
                ok = ok and found is not None
                members.extend(found or [])
            return members if ok else None
        if isinstance(expr, ast.CodeRange):
            if element.kind != "code" or element.system != "cpt":
                self.error("type.mismatch", f"a range of codes cannot stand for {element.describe()}", expr.span)
                return None
            low = self.coerce_code(expr.low, expr.low.text, "cpt", allow_pattern=False)
            high = self.coerce_code(expr.high, expr.high.text, "cpt", allow_pattern=False)
            if low is None or high is None:
                return None
            if len(low) != len(high) or low > high:
                self.error(
                    "value.bad_range",
                    f"`{expr.low.text}..{expr.high.text}` is empty: the first code must come before the second",
                    expr.span,
                )
                return None
            return [("range", (low, high))]
        if isinstance(expr, ast.Literal) and "*" in expr.text:
            if element.kind != "code":
                self.error("type.mismatch", f"a code pattern cannot stand for {element.describe()}", expr.span)
                return None
            value = self.coerce_code(expr, expr.text, element.system or "", allow_pattern=True)
            return None if value is None else [("prefix", value.rstrip("*"))]
        before = len(self.constants)
        self.coerce(expr, element, scope)
        if id(expr) in self.constants or len(self.constants) > before:
            return [("exact", self.constants.get(id(expr)))]
        return None


def _make_set(element: Type, members: list[tuple[str, Any]]) -> Any:
    if element.kind == "code":
        result = CodeSet()
        for kind, value in members:
            if kind == "exact" and value is not None:
                result = result | CodeSet(exact=frozenset([normalize_code(str(value))]))
            elif kind == "prefix":
                result = result | CodeSet(prefixes=(value,))
            elif kind == "range":
                result = result | CodeSet(ranges=(value,))
            elif kind == "set" and isinstance(value, CodeSet):
                result = result | value
        return result
    values: set[Any] = set()
    for kind, value in members:
        if kind == "set":
            values |= set(value)
        else:
            values.add(value)
    return frozenset(values)


def compatible(found: Type, expected: Type) -> bool:
    if found.kind != expected.kind:
        return (found.kind == "number" and expected.kind == "quantity") or (
            found.kind == "quantity" and expected.kind == "number"
        )
    if found.kind == "quantity":
        return same_dimension(found.unit or "", expected.unit or "")
    if found.kind == "code":
        return found.system == expected.system
    if found.kind == "enum":
        return found.symbols == expected.symbols or not expected.symbols
    if found.kind == "list":
        return found.element is None or expected.element is None or compatible(found.element, expected.element)
    return True


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _shown(expr: ast.Expr) -> str:
    """An operand as written, for messages (`service.kind`, `17000`, `"11"`)."""
    if isinstance(expr, ast.Path):
        return expr.dotted
    if isinstance(expr, ast.Literal):
        return f'"{expr.text}"' if expr.kind == "string" else expr.text
    if isinstance(expr, ast.Call):
        return f"{expr.function}(...)"
    return "this"


def _plural(type_: Type) -> str:
    """What a set of the type holds, in words: `findings`, `ICD-10-CM codes`."""
    if type_.kind == "enum" and type_.name:
        return f"{type_.name}s"
    return f"{type_.describe().split(' ', 1)[1]}s"


def _text(expr: ast.Expr) -> str:
    return expr.dotted if isinstance(expr, ast.Path) else "..."


__all__ = ["BOOL", "DATE", "INTEGER", "NUMBER", "STRING", "SYMBOL", "UNITS", "Scope", "Typer", "compatible"]
