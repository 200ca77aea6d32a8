"""The facts a rule sees for one service: the encounter, the service, its findings and lines.

Everything here is derived from the one declaration of each fact in `rulebooks.vocabulary.FACTS`
(`FactSchema`): the nested dictionary a rule reads (`service_facts`), the reader of one fact
(`fact_reader`) and the screen facts. A missing fact stays None (never a default that looks like
data), a missing record is None as a whole, a missing list is empty; codes are in upper case,
as the compiled code sets expect.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from rulebooks.engine.context import CodingContext, WorkLine
from rulebooks.models import Encounter, Service
from rulebooks.vocabulary import FACTS, Fact, FactReader, Record, service_record

FactPath = tuple[str, ...]
#: Builds one level of the facts (the whole, a record, `service`) for a service.
_Build = Callable[[Encounter, Service, Sequence[str]], dict[str, Any]]


class FactSchema:
    """The shapes derived from a vocabulary's fact declarations, built once per schema."""

    def __init__(self, facts: Sequence[Fact]) -> None:
        self.facts = tuple(facts)

    def service_facts(
        self, encounter: Encounter, service: Service, lines: Sequence[WorkLine] = (), findings: Sequence[str] = ()
    ) -> dict[str, Any]:
        """What a rule sees for one service: every declared fact at its path, `lines` from the work lines."""
        facts = self._build(encounter, service, findings)
        facts["lines"] = line_facts(lines)
        return facts

    def encounter_facts(self, encounter: Encounter, lines: Sequence[WorkLine]) -> dict[str, Any]:
        """What a rule `for the encounter` sees: the facts of the encounter (patient, plan, place of
        service, diagnoses...), `services` (every service with its lesion and its lines' codes) and
        `lines` (the encounter's claim lines); no `service` and no `other_services`, which the
        checker keeps such a rule from reading. An encounter without services has none to read."""
        facts = self._build_encounter(encounter, encounter.services[0], ())
        facts["services"] = [
            {
                **service_record(service),
                "lesion": service.lesion_id or service.id,
                "codes": list(dict.fromkeys(line.code for line in lines if service.id in line.service_ids)),
            }
            for service in encounter.services
        ]
        facts["lines"] = line_facts(lines)
        return facts

    def reader(self, path: FactPath) -> FactReader:
        """How to read the fact at `path` without building the facts (never `lines`).

        Why: the rule stack keys what a rule recorded on the values of the facts it reads; building
        every fact of a service for that costs more than the lookup saves."""
        return self._readers.get(path) or functools.partial(_read_through, self, path)

    def fact(self, path: str) -> Fact | None:
        """The declaration of the fact at a dotted path."""
        return self._by_path.get(path)

    @cached_property
    def _by_path(self) -> dict[str, Fact]:
        return {declared.path: declared for declared in self.facts}

    @cached_property
    def screen_facts(self) -> tuple[Fact, ...]:
        """The facts of a screen key, in declaration order."""
        return tuple(declared for declared in self.facts if declared.screen)

    @cached_property
    def _readers(self) -> dict[FactPath, FactReader]:
        return {
            tuple(declared.path.split(".")): _reader(declared) for declared in self.facts if declared.path != "lines"
        }

    @cached_property
    def _build(self) -> _Build:
        return _builder(self.facts, "")

    @cached_property
    def _build_encounter(self) -> _Build:
        """The builder of the facts of the encounter alone (no `service`, no `other_services`)."""
        of_one_service = ("service", "other_services")
        return _builder([f for f in self.facts if f.path.split(".")[0] not in of_one_service], "")


def _read_through(
    schema: FactSchema, path: FactPath, encounter: Encounter, service: Service, findings: Sequence[str]
) -> Any:
    """A path below a declared fact (none today): read from the facts themselves."""
    return fact_at(schema.service_facts(encounter, service, (), findings), path)


def _missing(encounter: Encounter, service: Service, findings: Sequence[str]) -> None:
    """A declared fact no encounter carries yet: it reads as missing."""
    return None


def _reader(declared: Fact) -> FactReader:
    """One fact's reader, from its source (inside its record, when the record is there)."""
    read = _source_reader(declared)
    if declared.upper:
        return lambda encounter, service, findings: upper_codes(read(encounter, service, findings))
    return read


def _source_reader(declared: Fact) -> FactReader:
    source, record = declared.source, declared.record
    if source is None:
        return _missing
    if record is None:
        return _attribute_reader(source) if isinstance(source, str) else source
    of_record = _attribute_reader(record.source)
    if isinstance(source, str):
        attribute = operator.attrgetter(source)
        return lambda encounter, service, findings: (
            None if (found := of_record(encounter, service, findings)) is None else attribute(found)
        )
    return lambda encounter, service, findings: (
        None if (found := of_record(encounter, service, findings)) is None else source(found, encounter)
    )


def upper_codes(value: Any) -> Any:
    """A code, or each code of a list, in upper case (a missing one stays missing)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.upper()
    return [code.upper() for code in value]


def _attribute_reader(source: str) -> FactReader:
    """`encounter.coverage.payer` or `service.kind`: the attribute path from the encounter or the service."""
    root, _, path = source.partition(".")
    read = operator.attrgetter(path)
    if root == "encounter":
        return lambda encounter, service, findings: read(encounter)
    if root == "service":
        return lambda encounter, service, findings: read(service)
    raise ValueError(f"a fact's source starts with `encounter.` or `service.`, not {source!r}")


def _builder(facts: Sequence[Fact], prefix: str) -> _Build:
    """The builder of the facts under `prefix`.

    Its facts and optional records (`service.repair`) that are attributes are read in one call per
    root (the encounter, the service); a record is then None or its own facts; the computed facts
    are called; each group below (`patient`, `service`, `scores`) is built by its own builder.
    Why so: a rule stack builds these facts for every service it cannot answer from its memo."""
    of_encounter: list[tuple[str, str]] = []
    of_service: list[tuple[str, str]] = []
    computed: list[tuple[str, Callable[..., Any]]] = []
    records: list[tuple[str, Callable[[Any, Encounter], dict[str, Any]]]] = []
    groups: dict[str, list[Fact]] = {}
    upper = [declared.path.removeprefix(prefix) for declared in facts if declared.upper]
    for declared in facts:
        name, _, rest = declared.path.removeprefix(prefix).partition(".")
        source = declared.source
        if rest:
            groups.setdefault(name, []).append(declared)
        elif isinstance(source, str):
            root, _, path = source.partition(".")
            (of_encounter if root == "encounter" else of_service).append((name, path))
        elif source is not None:
            computed.append((name, source))
    below: list[tuple[str, _Build]] = []
    empty: list[str] = []
    for name, members in groups.items():
        record = members[0].record
        if record is not None and record.path == f"{prefix}{name}":
            root, _, path = record.source.partition(".")
            (of_encounter if root == "encounter" else of_service).append((name, path))
            records.append((name, _record_builder(record, members)))
        elif all(member.source is None for member in members):
            empty.append(name)  # `scores`, `therapy`: declared, not yet in any encounter
        else:
            below.append((name, _builder(members, f"{prefix}{name}.")))
    encounter_names, read_encounter = _attributes(of_encounter)
    service_names, read_service = _attributes(of_service)
    upper = [name for name in upper if "." not in name]
    if not (service_names or computed or records or below or empty or upper):  # `patient`: encounter attributes
        return lambda encounter, service, findings: dict(zip(encounter_names, read_encounter(encounter), strict=False))

    def build(encounter: Encounter, service: Service, findings: Sequence[str]) -> dict[str, Any]:
        level = dict(zip(encounter_names, read_encounter(encounter), strict=False))
        if service_names:
            level.update(zip(service_names, read_service(service), strict=False))
        for name, from_record in records:
            found = level[name]
            if found is not None:
                level[name] = from_record(found, encounter)
        for name, read in computed:
            level[name] = read(encounter, service, findings)
        for name, build_below in below:
            level[name] = build_below(encounter, service, findings)
        for name in empty:
            level[name] = {}
        for name in upper:
            level[name] = upper_codes(level[name])
        return level

    return build


def _record_builder(record: Record, members: Sequence[Fact]) -> Callable[[Any, Encounter], dict[str, Any]]:
    """An optional record's facts, read from the record (once it is known to be there)."""
    attributes: list[tuple[str, str]] = []
    computed: list[tuple[str, Callable[..., Any]]] = []
    for declared in members:
        name = declared.path.removeprefix(f"{record.path}.")
        if "." in name:
            raise ValueError(f"{declared.path}: a record's facts are its own attributes, not a record's")
        if isinstance(declared.source, str):
            attributes.append((name, declared.source))
        elif declared.source is not None:
            computed.append((name, declared.source))
    names, read_attributes = _attributes(attributes)
    upper = [declared.path.removeprefix(f"{record.path}.") for declared in members if declared.upper]

    def build(found: Any, encounter: Encounter) -> dict[str, Any]:
        level = dict(zip(names, read_attributes(found), strict=False))
        for name, read in computed:
            level[name] = read(found, encounter)
        for name in upper:
            level[name] = upper_codes(level[name])
        return level

    return build


def _attributes(named: Sequence[tuple[str, str]]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The names, and one getter of all their attribute paths as a tuple."""
    names = tuple(name for name, _ in named)
    paths = [path for _, path in named]
    if not paths:
        return names, lambda found: ()
    if len(paths) == 1:
        read_one = operator.attrgetter(paths[0])
        return names, lambda found: (read_one(found),)
    return names, operator.attrgetter(*paths)


DERMATOLOGY = FactSchema(FACTS)


def service_facts(
    encounter: Encounter, service: Service, lines: Sequence[WorkLine] = (), findings: Sequence[str] = ()
) -> dict[str, Any]:
    """What a rule of the dermatology vocabulary sees for one service (`FactSchema.service_facts`)."""
    return DERMATOLOGY.service_facts(encounter, service, lines, findings)


def encounter_facts(encounter: Encounter, lines: Sequence[WorkLine]) -> dict[str, Any]:
    """What a rule `for the encounter` of the dermatology vocabulary sees (`FactSchema.encounter_facts`)."""
    return DERMATOLOGY.encounter_facts(encounter, lines)


def fact_reader(path: FactPath) -> FactReader:
    """The reader of the dermatology fact at `path` (`FactSchema.reader`)."""
    return DERMATOLOGY.reader(path)


def line_facts(lines: Sequence[WorkLine]) -> list[dict[str, Any]]:
    """The `lines` fact: what a rule sees of the claim lines a service contributes to."""
    return [{"code": line.code, "units": line.units, "modifiers": list(line.modifiers)} for line in lines]


def lines_of(ctx: CodingContext, service: Service) -> list[WorkLine]:
    """The claim lines a service contributes to (a line may cover several services)."""
    return [line for line in ctx.lines if service.id in line.service_ids and line.route == "claim"]


def fact_at(facts: Mapping[str, Any], path: FactPath) -> Any:
    """The fact at a dotted path split in parts, as compiled rules read it: None from the first
    part that is missing or not a record on."""
    value: Any = facts
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            break
    return value
