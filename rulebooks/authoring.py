"""The rule-authoring API the CLI and GraphQL call: check, format, test, explain, vocabulary.

Pure functions over rulebook text (and, for explain, an encounter): no database, network or
clock. Payer and clinic rulebooks run on top of the library books they `extends`, so a test
in a payer book sees the national base too. Results are JSON-able dicts; diagnostics use the
one LSP-style format of `dsl.diagnostics`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from dsl import ast
from dsl.api import Build, build, format_text
from dsl.diagnostics import Diagnostic, did_you_mean
from dsl.runtime import Trace
from dsl.testing import GivenError, Observation, Run
from dsl.testing import run_tests as run_checked_tests
from dsl.vocabulary import listing
from rulebooks.clinic_stack import LAYERS, BookSource, StackSources, compile_book, layer_of
from rulebooks.coding import code_encounter
from rulebooks.engine.context import FeeSchedules
from rulebooks.engine.pipeline import code
from rulebooks.extended import books_of, library_rulebooks
from rulebooks.models import Coding, Encounter
from rulebooks.stack import LIBRARY, LoadedRulebook, Stack, load_rulebook
from rulebooks.vocabulary import FACT_PHASES, dermatology_vocabulary

CODED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # fixed: tests and explanations never read the clock
TEST_NPI = "1234567893"


def vocabulary() -> dict[str, Any]:
    """Fields, actions, value sets, units and keywords, for editor highlighting and completion."""
    return dermatology_vocabulary().to_json()


def vocabulary_listing() -> dict[str, Any]:
    """Every fact and action with its type, unit, example and phases (`cutis rules vocabulary`)."""
    return listing(dermatology_vocabulary(), FACT_PHASES)


def check(text: str) -> list[dict[str, Any]]:
    """Every diagnostic (errors and warnings) of a rulebook text, including references to the
    rulebooks it extends: an `extends` naming no library book or going round in a circle (with
    their value sets, which the book may use), a `disable` or a test's `because` naming a rule no
    book defines."""
    built = _build(text)
    diagnostics = list(built.diagnostics) + stack_diagnostics(built)
    diagnostics.sort(key=lambda d: (d.span.start, d.severity != "error", d.code))
    return [d.to_json() for d in diagnostics]


def stack_diagnostics(built: Build) -> list[Diagnostic]:
    """What the checker cannot see alone: rules named by id in the books this one extends.
    (An `extends` naming no book is the checker's, given the library: see `_build`.)"""
    header = built.rulebook.header
    found: list[Diagnostic] = []
    own = {item.id for item in built.rulebook.items if isinstance(item, ast.Rule | ast.Table)}
    inherited = {rule.id for book in _parents(built) for rule in book.built.program.rules}  # type: ignore[union-attr]
    for disable in built.rulebook.of_type(ast.Disable):
        if disable.rule_id not in inherited:
            guess = did_you_mean(disable.rule_id, sorted(inherited))
            found.append(
                Diagnostic(
                    "warning",
                    "stack.unknown_rule",
                    f"no rulebook this one extends has a rule `{disable.rule_id}`, so disabling it changes nothing",
                    disable.span,
                    f"did you mean `{guess}`?" if guess else None,
                )
            )
    found.extend(given_diagnostics(built.rulebook))
    if header is not None and header.extends:
        known = own | inherited
        for test in built.rulebook.of_type(ast.Test):
            for expectation in (*test.expectations, *(e for ex in test.examples for e in ex.expectations)):
                if expectation.because and expectation.because not in known:
                    guess = did_you_mean(expectation.because, sorted(known))
                    found.append(
                        Diagnostic(
                            "error",
                            "test.unknown_rule",
                            f"`{expectation.because}` is not a rule of this rulebook or of those it extends",
                            expectation.span,
                            f"did you mean `{guess}`?" if guess else None,
                        )
                    )
    return found


#: Facts of the vocabulary a test cannot give the engine, and why: worked out from other facts, or
#: carried by no encounter yet. A test giving one would run as if it had not.
NOT_GIVEN = {
    "services": "a test gives the encounter's services as `service` and `other_services`",
    "service.region": "it is worked out from `service.site`: give the site",
    "patient.risk_states": "they are worked out from `diagnoses`: give the diagnoses",
    "other_services.region": "it is worked out from each service's `site`: give the site",
    "lines": "the claim lines are the coding's own: give the services they come from",
    "scores": "no encounter carries scores yet, so the engine never sees them",
    "therapy": "no encounter carries therapies yet, so the engine never sees them",
}


def given_diagnostics(rulebook: ast.Rulebook) -> list[Diagnostic]:
    """An error for each fact a test gives that the engine's test runner would ignore."""
    found = []
    for test in rulebook.of_type(ast.Test):
        fields = [*test.given, *(f for example in test.examples for f in example.facts)]
        for path, span in _given_paths(fields, ""):
            why = next((why for key, why in NOT_GIVEN.items() if path == key or path.startswith(key + ".")), None)
            if why is not None:
                found.append(Diagnostic("error", "test.given_ignored", f"a test cannot give `{path}`: {why}", span))
    return found


def _given_paths(fields: Any, prefix: str) -> list[tuple[str, ast.Span]]:
    """The dotted path of each fact a `given` (or an examples row) sets, with where it is written."""
    paths = []
    for record_field in fields:
        path = prefix + record_field.path.dotted
        value = record_field.value
        if isinstance(value, ast.Record):
            paths.extend(_given_paths(value.fields, path + "."))
        elif isinstance(value, ast.ListExpr) and any(isinstance(item, ast.Record) for item in value.items):
            for item in value.items:
                if isinstance(item, ast.Record):
                    paths.extend(_given_paths(item.fields, path + "."))
        else:
            paths.append((path, record_field.path.span))
    return paths


def format(text: str) -> dict[str, Any]:
    """`{"text": canonical text or None, "diagnostics": [...], "changed": bool}`."""
    formatted = format_text(text)
    return {"text": formatted.text, "diagnostics": list(formatted.diagnostics), "changed": formatted.changed}


def run_tests(text: str, around: StackSources | None = None) -> dict[str, Any]:
    """The rulebook's own tests on the coding engine: pass/fail with expected vs actual, fired
    rules, observations, and AST coverage (rules, table rows, both outcomes of each condition).

    `around` is the clinic's stack with this text in its layer (the editor's and a publish's
    view); without it, the text runs on top of the library books it extends."""
    built = _build(text, around)
    if built.program is None or built.checked is None:
        return {
            "passed": False,
            "results": [],
            "coverage": None,
            "diagnostics": [d.to_json() for d in built.diagnostics],
        }
    header = built.rulebook.header
    around_stack = _stack(built, around)

    def harness(program: Any, facts: dict[str, Any], trace: Trace) -> Run:
        try:
            encounter = encounter_from_facts(facts, header)
        except ValidationError as error:
            raise GivenError(_given_problems(error)) from None
        stack = around_stack.observed(findings={"s1": facts.get("findings") or []}, trace=trace)
        coding = code(encounter, encounter_id="test", coded_at=CODED_AT, stack=stack)
        journal = stack.journal or []
        return Run(
            observations(coding, journal),
            tuple(o.rule_id for o in journal if o.status == "fired"),
            tuple(o.rule_id for o in journal if o.status == "undetermined"),
        )

    report = run_checked_tests(built.checked, built.program, harness)
    return {**report.to_json(), "diagnostics": [d.to_json() for d in built.diagnostics]}


def explain(
    text: str,
    encounter: Encounter | dict[str, Any],
    findings: dict[str, list[str]] | None = None,
    fees: FeeSchedules | None = None,
    around: StackSources | None = None,
) -> dict[str, Any]:
    """Code an encounter with this rulebook in the clinic's stack (`around`, resolved for the
    encounter with this text in its layer; without it, on top of the library books it extends):
    the Coding, and every rule that fired or was undetermined with the values it compared.

    Without `findings`, the encounter goes the production path: its note is analysed and each
    service classified (medical, cosmetic, borderline) before the rules run."""
    built = _build(text, around)
    if built.program is None:
        return {"coding": None, "trace": [], "diagnostics": [d.to_json() for d in built.diagnostics]}
    if not isinstance(encounter, Encounter):
        encounter = Encounter.model_validate(encounter)
    stack = _stack(built, around)
    if findings is None:
        coded = code_encounter(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, fees=fees, stack=stack)
        coding, stack = coded.coding, coded.stack or stack
    else:
        stack = stack.observed(findings=findings)
        coding = code(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, stack=stack, fees=fees)
    trace = [
        {
            "rule": o.rule_id,
            "label": o.label,
            "status": o.status,
            "line": o.span.line,
            "column": o.span.column,
            "values": {k: _json(v) for k, v in o.values.items()},
            "missing": list(o.missing),
            "row": o.row,
            "actions": [" ".join(a.words) for a in o.actions],
        }
        for o in stack.journal or []
    ]
    return {
        "coding": coding.model_dump(mode="json"),
        "trace": trace,
        "diagnostics": [d.to_json() for d in built.diagnostics],
    }


def _json(value: Any) -> Any:
    from rulebooks.stack import _jsonable

    return _jsonable(value)


def _build(text: str, around: StackSources | None = None) -> Build:
    """The text built as the editor sees it: on the dermatology vocabulary, with the value sets of
    the books it extends (as its layer in `around` pinned them, else the library's)."""
    pinned = _own_book(text, around)
    books = books_of(pinned.pinned) if pinned is not None and pinned.pinned else library_rulebooks()
    return build(text, dermatology_vocabulary(), books)


def _own_book(text: str, around: StackSources | None) -> BookSource | None:
    """The book of `around` that is this text (a version being published), if any."""
    return None if around is None else next((book for book in around.books if book.text == text), None)


def _stack(built: Build, around: StackSources | None) -> Stack:
    """The stack the text runs in: `around` (a clinic's stack for the encounter) with the text in
    its layer, else the library books it extends under it."""
    if around is None:
        return Stack((*_parents(built), _loaded(built)))
    draft = _loaded(built)
    header = draft.header
    layer = layer_of(draft.name, header.payer if header else None)
    books = [draft if book.layer == layer else compile_book(book) for book in around.books]
    if all(book.layer != layer for book in around.books):
        position = sum(1 for book in around.books if LAYERS.index(book.layer) < LAYERS.index(layer))
        books.insert(position, draft)
    return Stack(tuple(books))


def _loaded(built: Build) -> LoadedRulebook:
    header = built.rulebook.header
    return LoadedRulebook(header.name if header else "draft", built.version, built, header)


def _parents(built: Build) -> tuple[LoadedRulebook, ...]:
    """The library books a rulebook extends, transitively, base first."""
    header = built.rulebook.header
    if header is None or not header.extends:
        return ()
    library = _library()
    chain: list[LoadedRulebook] = []

    def add(name: str) -> None:
        if name not in library:
            return
        loaded = library[name]
        for parent in loaded.header.extends if loaded.header else ():
            add(parent)
        if all(book.version != loaded.version for book in chain):
            chain.append(loaded)

    for parent in header.extends:
        add(parent)
    return tuple(chain)


def _library() -> dict[str, LoadedRulebook]:
    """The shipped library's compiled books, by name.

    Read from disk on every call, so an edited library file counts at once, but compiled once
    per file content: the editor checks a payer book against what it extends on every keystroke.
    """
    books: dict[str, LoadedRulebook] = {}
    for path in sorted(LIBRARY.glob("*.rules")):
        loaded = _library_book(path.read_text(encoding="utf-8"))
        books[loaded.name] = loaded
    return books


@lru_cache(maxsize=64)
def _library_book(text: str) -> LoadedRulebook:
    return load_rulebook(text)


def observations(coding: Coding, journal: list[Any]) -> tuple[Observation, ...]:
    """What a test can expect of a coding, as sentences with the rules that caused them."""
    found: list[Observation] = []
    for line in coding.claim_lines:
        rules = tuple(r.rule.rule_id for r in line.reasons if r.rule)
        found.append(
            Observation(
                ("line", line.code, "units", str(line.units), *(w for m in line.modifiers for w in ("modifier", m))),
                rules,
            )
        )
    if coding.claim_lines:
        found.append(Observation(("claim", "lines")))
    for line in coding.self_pay_lines:
        rules = tuple(r.rule.rule_id for r in line.reasons if r.rule)
        found.append(
            Observation(
                (
                    "self_pay",
                    "line",
                    line.code,
                    "units",
                    str(line.units),
                    *(w for m in line.modifiers for w in ("modifier", m)),
                ),
                rules,
            )
        )
    for held in coding.held_lines:
        rules = tuple(r.rule.rule_id for r in held.reasons if r.rule)
        found.append(Observation(("held", "line", held.code), rules))
    for flag in coding.flags:
        rules = tuple(r.rule.rule_id for r in flag.reasons if r.rule)
        found.append(Observation(("flag", flag.code), rules))
    found.append(Observation(("status", coding.status)))
    for outcome in journal:
        for action in outcome.actions:
            found.append(Observation(action.words, (outcome.rule_id,)))
        if outcome.status == "undetermined":
            found.append(Observation(("undetermined", outcome.rule_id), (outcome.rule_id,)))
    return tuple(found)


def encounter_from_facts(facts: dict[str, Any], header: ast.Header | None) -> Encounter:
    """A test's `given` facts as an Encounter with one service `s1`; unstated facts stay missing."""
    service_facts = dict(facts.get("service") or {})
    service_diagnoses = [_icd(c) for c in service_facts.get("diagnoses") or []]
    diagnoses = [_icd(c) for c in facts.get("diagnoses") or []]
    for code_ in service_diagnoses:
        if code_ not in diagnoses:
            diagnoses.append(code_)
    payer = facts.get("payer") or (header.payer if header and header.payer else "TEST")
    plan_type = facts.get("plan_type") or ("medicare_ffs" if str(payer).startswith("MEDICARE") else "commercial")
    date_of_service = facts.get("date_of_service") or (
        dt.date.fromisoformat(header.effective_from) if header and header.effective_from else dt.date(2026, 6, 1)
    )
    patient = facts.get("patient") or {}
    service: dict[str, Any] = {"id": "s1", "kind": service_facts.get("kind", "other")}
    for name in (
        "technique",
        "site",
        "site_group",
        "laterality",
        "lesion_size_cm",
        "margin_cm",
        "area_sq_cm",
        "prior_auth_number",
        "patient_requested_cosmetic",
        "patient_requested_filing",
        "staff_code",
    ):
        if service_facts.get(name) is not None:
            service[name] = service_facts[name]
    if service_facts.get("count") is not None:
        service["count"] = int(service_facts["count"])
    mohs = service_facts.get("mohs")
    if isinstance(mohs, dict):
        stages = mohs.get("stages") or [{"blocks": 1}] * int(mohs.get("stage_count") or 1)
        service["mohs"] = {"tumor_id": "t1", "stages": [{"blocks": int(s.get("blocks") or 1)} for s in stages]}
    if isinstance(service_facts.get("repair"), dict):
        service["repair"] = service_facts["repair"]
    for record in ("pathology", "em", "drug"):
        if isinstance(service_facts.get(record), dict):
            service[record] = service_facts[record]
    if service_facts.get("related_to_prior") is not None:
        service["related_to_prior"] = service_facts["related_to_prior"]
    service["diagnoses"] = service_diagnoses
    others = [_other_service(f"s{n}", other, service) for n, other in enumerate(facts.get("other_services") or [], 2)]
    for other in others:
        diagnoses.extend(code_ for code_ in other["diagnoses"] if code_ not in diagnoses)
    return Encounter.model_validate(
        {
            "external_id": "test",
            "date_of_service": date_of_service,
            "provider": {"npi": TEST_NPI},
            "patient": {"id": "test-patient", "age": _int(patient.get("age")), "sex": patient.get("sex")},
            "coverage": {"payer": str(payer), "plan_type": plan_type},
            "diagnoses": diagnoses,
            "services": [service, *others],
            **({"place_of_service": facts["place_of_service"]} if facts.get("place_of_service") else {}),
            **({"global_period": prior} if (prior := _prior(facts.get("global_period"), date_of_service)) else {}),
            # `abn: required` in a test's service: an ABN the patient signed for it on the day
            "abns": [{"service_ids": ["s1"], "kind": str(abn), "signed_on": date_of_service}]
            if (abn := service_facts.get("abn"))
            else [],
        }
    )


def _prior(given: Any, date_of_service: dt.date) -> dict[str, Any] | None:
    """A test's `global_period`: the earlier procedure, its date given or `days_after` it."""
    if not isinstance(given, dict):
        return None
    prior: dict[str, Any] = {"procedure_code": given.get("procedure_code")}
    if given.get("date_of_service") is not None:
        prior["date_of_service"] = given["date_of_service"]
    elif given.get("days_after") is not None:
        prior["date_of_service"] = date_of_service - dt.timedelta(days=int(given["days_after"]))
    if given.get("global_days") is not None:
        prior["global_days"] = int(given["global_days"])
    return prior


def _other_service(service_id: str, given: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
    """One of a test's `other_services` as a service of the encounter beside `s1`.

    Its relations to `s1` are given as facts (`same_lesion: true`) and made true by sharing what
    they compare: the lesion (`s1` and it on lesion `l1`), the site, the site group."""
    other: dict[str, Any] = {"id": service_id, "kind": given.get("kind", "other")}
    for name in ("technique", "site", "site_group", "laterality", "lesion_size_cm", "staff_code"):
        if given.get(name) is not None:
            other[name] = given[name]
    if given.get("count") is not None:
        other["count"] = int(given["count"])
    other["diagnoses"] = [_icd(c) for c in given.get("diagnoses") or []]
    if given.get("same_lesion") is True:
        service.setdefault("lesion_id", "l1")
        other["lesion_id"] = service["lesion_id"]
    if given.get("same_site") is True:
        other["site"] = service.setdefault("site", other.get("site", "the same site"))
    if given.get("same_site_group") is True:
        other["site_group"] = service.setdefault("site_group", other.get("site_group", "trunk_arms_legs"))
    return other


def _given_problems(error: ValidationError) -> str:
    """What makes a test's facts no encounter, in the test's own words (`service.em.patient_status
    is required`), never the model's internals."""
    problems = []
    for problem in error.errors():
        where = [str(part) for part in problem["loc"]]
        if where[:2] == ["services", "0"]:
            where = ["service", *where[2:]]
        elif where[:1] == ["services"] and len(where) > 1 and where[1].isdigit():
            where = [f"other_services[{int(where[1]) - 1}]", *where[2:]]
        message = "is required" if problem["type"] == "missing" else problem["msg"].lower()
        problems.append(f"`{'.'.join(where)}` {message}")
    return "; ".join(problems)


def _icd(value: Any) -> str:
    """Codes in rules compare without dots; an Encounter writes ICD-10-CM with its dot."""
    text = str(value).upper()
    return text if "." in text or len(text) <= 3 else f"{text[:3]}.{text[3:]}"


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
