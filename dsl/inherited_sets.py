"""Types a value set inherited through `extends` in the scope of the book that defines it.

`dsl.extends` finds which book defines each inherited set and what that book sees; here the
checker of the book using it asks a typer of that book's scope (one per book) for the set's
value as a set of what the use needs. So the names in an inherited definition are its own
book's (lexical scope), and a set that cannot stand where it is used is one error at the use,
naming the book it comes from, rather than errors at spans of another book's text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dsl import ast
from dsl.diagnostics import Diagnostic

if TYPE_CHECKING:
    from dsl.extends import SetScope
    from dsl.typecheck import Typer
    from dsl.vocabulary import Type, Vocabulary


class InheritedSets:
    """Needs from its host (`Typer`): vocabulary, inherited, constants, references, error() and the
    caches below."""

    if TYPE_CHECKING:
        vocabulary: Vocabulary
        inherited: Mapping[str, SetScope]
        constants: dict[int, Any]
        references: dict[int, tuple]
        _set_cache: dict[tuple[str, Type], Any]
        _scopes: dict[int, tuple[Typer, list[Diagnostic]]]
        _inherited_errors: dict[tuple[str, Type], Diagnostic | None]
        _probes: list[ast.Path]
        error: Callable[..., None]

    def scope_of(self, name: str) -> tuple[Typer, list[Diagnostic]]:
        """A typer of the scope of the book that defines the inherited set `name` (made once per
        book), with the diagnostics it reports there."""
        from dsl.typecheck import Typer  # the host's module, which imports this one

        scope = self.inherited[name]
        found = self._scopes.get(id(scope))
        if found is None:
            problems: list[Diagnostic] = []
            typer = Typer(self.vocabulary, dict(scope.own), problems.append, inherited=scope.inherited)
            found = self._scopes[id(scope)] = (typer, problems)
        return found

    def probe(self, name: str) -> ast.Path:
        probe = ast.Path((name,))
        self._probes.append(probe)
        return probe

    def inherited_set(self, expr: ast.Path, expected: Type) -> None:
        """An inherited set where a set of `expected` is needed: its value as the book defining it
        makes it; when it cannot stand there, one error at this use."""
        from dsl.typecheck import Scope  # the host's module, which imports this one

        name = expr.parts[0]
        self.references[id(expr)] = ("valueset", name)
        key = (name, expected)
        if key not in self._set_cache:
            typer, problems = self.scope_of(name)
            probe, before = self.probe(name), len(problems)
            typer.coerce_set(probe, expected, Scope())
            errors = [d for d in problems[before:] if d.severity == "error"]
            self._inherited_errors[key] = errors[0] if errors else None
            self._set_cache[key] = None if errors else typer.constants.get(id(probe))
        error = self._inherited_errors[key]
        if error is not None:
            book = self.inherited[name].book
            self.error(
                "type.inherited_set",
                f'value set `{name}` (from "{book}") cannot stand for {expected.describe()} here: {error.message}',
                expr.span,
                error.hint,
            )
        self.constants[id(expr)] = self._set_cache[key]
