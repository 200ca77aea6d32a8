"""The vocabulary a domain hands the language: typed facts, actions, value sets, code checks.

`dsl` knows nothing of dermatology; `rulebooks.vocabulary` builds one of these. The checker
types every rule against it, the compiler reads field paths through it, and the editor gets
it as JSON for highlighting and completion (`Vocabulary.to_json`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# Units by dimension, with the factor to the dimension's base unit. Counts of different
# things (lesions, stages) are different dimensions: 10 lesions is not 10 stages.
UNITS: dict[str, tuple[str, float]] = {
    "day": ("time", 1.0),
    "days": ("time", 1.0),
    "week": ("time", 7.0),
    "weeks": ("time", 7.0),
    "month": ("time", 30.4375),
    "months": ("time", 30.4375),
    "year": ("time", 365.25),
    "years": ("time", 365.25),
    "mm": ("length", 0.1),
    "cm": ("length", 1.0),
    "sq_cm": ("area", 1.0),
    "%": ("percent", 1.0),
    "lesion": ("lesions", 1.0),
    "lesions": ("lesions", 1.0),
    "stage": ("stages", 1.0),
    "stages": ("stages", 1.0),
    "block": ("blocks", 1.0),
    "blocks": ("blocks", 1.0),
    "unit": ("units", 1.0),
    "units": ("units", 1.0),
    "mg": ("mass", 1.0),
}


@dataclass(frozen=True)
class Type:
    """A fact's type. `kind` is one of: bool, number, quantity, date, string, code, enum, symbol, list, record."""

    kind: str
    unit: str | None = None
    system: str | None = None
    symbols: tuple[str, ...] = ()
    element: Type | None = None
    fields: tuple[tuple[str, Type], ...] = ()
    name: str = ""
    integer: bool = False

    def describe(self) -> str:
        """The type in words, for messages: 'a number of lesions', 'an ICD-10-CM code'."""
        if self.kind == "quantity":
            return f"a number of {self.unit}"
        if self.kind == "code":
            return f"a {SYSTEM_WORDS.get(self.system or '', self.system)} code"
        if self.kind == "enum":
            return f"one of {', '.join(self.symbols[:6])}{', ...' if len(self.symbols) > 6 else ''}"
        if self.kind == "list" and self.element is not None:
            return f"a list of {self.element.describe().split(' ', 1)[1]}s"
        if self.kind == "record":
            return f"a {self.name or 'record'}"
        return {
            "bool": "yes or no",
            "number": "a number",
            "date": "a date",
            "string": "a quoted text",
            "symbol": "a name",
        }.get(self.kind, self.kind)

    def field(self, name: str) -> Type | None:
        for field_name, field_type in self.fields:
            if field_name == name:
                return field_type
        return None


SYSTEM_WORDS = {"icd10": "ICD-10-CM", "cpt": "CPT/HCPCS", "modifier": "modifier"}

BOOL = Type("bool")
NUMBER = Type("number")
INTEGER = Type("number", integer=True)
DATE = Type("date")
STRING = Type("string")
SYMBOL = Type("symbol")


def quantity(unit: str) -> Type:
    return Type("quantity", unit=unit)


def code(system: str) -> Type:
    return Type("code", system=system)


def enum(name: str, *symbols: str) -> Type:
    return Type("enum", symbols=tuple(symbols), name=name)


def list_of(element: Type) -> Type:
    return Type("list", element=element)


def record(name: str, **fields: Type) -> Type:
    return Type("record", fields=tuple(fields.items()), name=name)


@dataclass(frozen=True)
class Field:
    """A fact rules can read. `required` facts are always present; others may be missing."""

    path: str
    type: Type
    doc: str = ""
    required: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """An action as a sentence template: fixed words and `{param}` slots typed by `params`."""

    name: str
    template: str
    params: tuple[tuple[str, Type], ...] = ()
    phases: tuple[str, ...] = ()
    doc: str = ""
    #: Whether a rule `for the encounter` may take it (it then acts on the lines of every service).
    encounter: bool = False
    #: The fact and its values the action can act on, when not every one: `cap lesions` recodes
    #: destructions only; anywhere else the checker reports it (`action.wrong_target`).
    acts_on: tuple[str, tuple[str, ...]] | None = None

    @cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(self.template.split())

    @cached_property
    def _param_types(self) -> dict[str, Type]:
        return dict(self.params)

    def param_type(self, name: str) -> Type:
        return self._param_types[name]


SLOT = re.compile(r"^\{(\w+)\}$")
CodeValidator = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Vocabulary:
    phases: tuple[str, ...]
    fields: tuple[Field, ...]
    actions: tuple[ActionSpec, ...]
    value_sets: Mapping[str, tuple[Type, tuple[str, ...]]] = field(default_factory=dict)
    code_validators: Mapping[str, CodeValidator] = field(default_factory=dict)
    phase_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The facts (by their first name) a rule of a scope may not read: "service" (a rule run for
    #: each service) and "encounter" (`in ... for the encounter`).
    out_of_scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def _types_by_path(self) -> dict[str, Type]:
        """The declared fields by path, the first declaration winning: the checker asks for
        types thousands of times in a large rulebook."""
        types: dict[str, Type] = {}
        for declared in self.fields:
            types.setdefault(declared.path, declared.type)
        return types

    @cached_property
    def _required_paths(self) -> frozenset[str]:
        return frozenset(f.path for f in self.fields if f.required)

    def field_type(self, path: str) -> Type | None:
        types = self._types_by_path
        if path in types:
            return types[path]
        head, _, rest = path.partition(".")
        parent = types.get(head)
        while parent is not None and rest:
            name, _, rest = rest.partition(".")
            parent = parent.field(name) if parent.kind == "record" else None
        return parent

    def is_required(self, path: str) -> bool:
        return path in self._required_paths

    def field_names(self) -> list[str]:
        return [f.path for f in self.fields]

    def validate_code(self, system: str, text: str) -> str | None:
        validator = self.code_validators.get(system)
        return validator(text) if validator else None

    def to_json(self) -> dict[str, Any]:
        """What the web editor needs to highlight and complete rulebook text."""
        return {
            "phases": list(self.phases),
            "fields": [
                {"path": f.path, "type": type_json(f.type), "doc": f.doc, "required": f.required} for f in self.fields
            ],
            "actions": [
                {
                    "name": a.name,
                    "template": a.template,
                    "phases": list(a.phases),
                    "doc": a.doc,
                    "params": {n: type_json(t) for n, t in a.params},
                }
                for a in self.actions
            ],
            "valueSets": {
                name: {"type": type_json(t), "values": list(values)} for name, (t, values) in self.value_sets.items()
            },
            "units": sorted(UNITS),
            "keywords": [
                "rulebook",
                "for",
                "payer",
                "extends",
                "effective",
                "until",
                "template",
                "valueset",
                "rule",
                "in",
                "when",
                "then",
                "if",
                "else",
                "and",
                "or",
                "not",
                "any",
                "all",
                "none",
                "each",
                "missing",
                "table",
                "hit",
                "unique",
                "first",
                "priority",
                "collect",
                "criteria",
                "drug",
                "require",
                "approve",
                "reauthorize",
                "test",
                "given",
                "expect",
                "no",
                "because",
                "examples",
                "disable",
            ],
        }


#: A value of each code system, for the examples of `listing`.
EXAMPLE_CODES = {"icd10": "L57.0", "cpt": "17000", "modifier": "59"}


def example_of(type_: Type) -> str:
    """A value of the type as a rule writes it (`10 lesions`, `L57.0`, `[L57.0]`)."""
    if type_.kind == "list" and type_.element is not None:
        return f"[{example_of(type_.element)}]"
    if type_.kind == "quantity":
        return f"10 {type_.unit}"
    if type_.kind == "code":
        return EXAMPLE_CODES.get(type_.system or "", "X")
    if type_.kind == "enum":
        return type_.symbols[0] if type_.symbols else "x"
    return {
        "bool": "true",
        "number": "3" if type_.integer else "2.5",
        "date": "2026-03-02",
        "string": '"text"',
        "symbol": "AETNA",
    }.get(type_.kind, "x")


def fact_example(type_: Type, path: str) -> str:
    """A condition on the fact at `path`: a comparison, a set test of a list, a quantifier over a
    list of records."""
    element = type_.element
    if type_.kind == "list" and element is not None and element.kind == "record" and element.fields:
        name, inner = element.fields[0]
        variable = path.rsplit(".", 1)[-1].split("_")[0].removesuffix("s") or "item"
        return f"any {variable} in {path}: {variable}.{name} = {example_of(inner)}"
    if type_.kind == "list":
        return f"{path} any in {example_of(type_)}"
    return f"{path} = {example_of(type_)}"


def listing(vocabulary: Vocabulary, fact_phases: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """Every fact and action with its type, unit, an example and the phases it belongs to, for
    the authors' reference (`cutis rules vocabulary`); a fact not in `fact_phases` is read in
    every phase."""
    facts: list[dict[str, Any]] = []
    for declared in vocabulary.fields:
        type_ = declared.type
        unit = type_.unit or (type_.element.unit if type_.element is not None else None)
        facts.append(
            {
                "fact": declared.path,
                "type": _type_words(type_),
                "unit": unit,
                "example": fact_example(type_, declared.path),
                "phases": list(fact_phases.get(declared.path, vocabulary.phases)),
                "required": declared.required,
                "doc": declared.doc,
            }
        )
        element = type_.element
        if element is not None and element.kind == "record":
            facts[-1]["each"] = {name: _type_words(inner) for name, inner in element.fields}
    actions = []
    for spec in vocabulary.actions:
        example = " ".join(
            example_of(spec.param_type(match.group(1))) if (match := SLOT.match(word)) else word for word in spec.words
        )
        actions.append(
            {
                "action": spec.template,
                "example": example,
                "phases": list(spec.phases or vocabulary.phases),
                "parameters": {name: type_.describe() for name, type_ in spec.params},
                "doc": spec.doc,
            }
        )
    return {"facts": facts, "actions": actions}


def _type_words(type_: Type) -> str:
    """`Type.describe`, with a list of symbols named for its element (`a list of findings: ...`)."""
    element = type_.element
    if type_.kind == "list" and element is not None and element.kind == "enum":
        return f"a list of {element.name}s: {', '.join(element.symbols)}"
    if type_.kind == "enum":
        return f"one of {', '.join(type_.symbols)}"
    return type_.describe()


def type_json(type_: Type) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": type_.kind, "description": type_.describe()}
    if type_.unit:
        data["unit"] = type_.unit
    if type_.system:
        data["system"] = type_.system
    if type_.symbols:
        data["symbols"] = list(type_.symbols)
    if type_.element:
        data["element"] = type_json(type_.element)
    if type_.fields:
        data["fields"] = {name: type_json(t) for name, t in type_.fields}
    return data
