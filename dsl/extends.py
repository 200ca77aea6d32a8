"""What a rulebook inherits through `extends`: the value sets of the books it extends.

A book that `extends "National base"` may use the value sets National base defines, and those
National base inherits in turn. Its own value set of the same name shadows an inherited one;
of two books it extends, the later `extends` line wins. An inherited set means what it means in
the book that defines it: the names in its definition are that book's (lexical scope), so a
book's own `x` never changes what a parent's set built from `x` holds. Rules are not inherited
here: the stack runs each book's own rules (`rulebooks.stack`).

Which books there are is the caller's: a mapping from the name in an `extends` line to the book,
parsed (the shipped library by name today, `rulebooks.extended`; the versions a published book
pins, tomorrow). Without one nothing is inherited and `extends` lines are not checked. With one,
an `extends` naming no book, or going round in a circle, is an error at the name in the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from dsl import ast
from dsl.diagnostics import Diagnostic, did_you_mean

#: The books a rulebook may extend, by the name its `extends` line gives, parsed.
Books = Mapping[str, ast.Rulebook]


@dataclass(frozen=True, eq=False)
class SetScope:
    """The value sets one book sees: its own, over those it inherits (each by the scope of the
    book that defines it). The checker types an inherited set in its defining book's scope."""

    book: str
    own: Mapping[str, ast.ValueSet]
    inherited: Mapping[str, SetScope]

    def visible(self) -> dict[str, SetScope]:
        """Each set this book sees, by the scope of the book that defines it (its own win)."""
        return {**self.inherited, **dict.fromkeys(self.own, self)}


@dataclass(frozen=True)
class Inheritance:
    """What a book inherits: each inherited set's name with its defining book's scope; what is wrong
    with its `extends` lines; and `key`, all that the extended books decide of the book's build
    (their names, `extends` lines and value sets; spans aside), for caches of compiled books."""

    valuesets: Mapping[str, SetScope]
    diagnostics: tuple[Diagnostic, ...]
    key: tuple[Any, ...]


NOTHING = Inheritance({}, (), ())


class _Wrong(Exception):
    """An `extends` that cannot be followed: reported at the name in the book being checked."""

    def __init__(self, code: str, message: str, hint: str | None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def inherit(rulebook: ast.Rulebook, books: Books | None) -> Inheritance:
    """The value sets `rulebook` inherits from the books it extends, transitively, and the errors of
    its `extends` lines (a name no book has, a circle), each at the name in its line."""
    header = rulebook.header
    if books is None or header is None or not header.extends:
        return NOTHING
    resolver = _Resolver(books)
    inherited: dict[str, SetScope] = {}
    diagnostics: list[Diagnostic] = []
    spans = header.extends_spans or tuple(repeat(header.span, len(header.extends)))
    for parent, span in zip(header.extends, spans, strict=True):
        try:
            inherited.update(resolver.scope(parent, (header.name,)).visible())
        except _Wrong as wrong:
            diagnostics.append(Diagnostic("error", wrong.code, wrong.message, span, wrong.hint))
    key = (tuple(resolver.key), tuple((d.code, d.message) for d in diagnostics))
    return Inheritance(inherited, tuple(diagnostics), key)


class _Resolver:
    """Follows `extends` lines through the books, each book's scope made once (a book extended by
    two parents is one scope)."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.scopes: dict[str, SetScope] = {}
        self.key: list[tuple[Any, ...]] = []

    def scope(self, name: str, chain: tuple[str, ...]) -> SetScope:
        """The scope of the book `name`, reached through the books in `chain` (the first is the book
        being checked)."""
        if name in chain:
            circle = " extends ".join(f'"{book}"' for book in (*chain[chain.index(name) :], name))
            raise _Wrong(
                "stack.extends_cycle",
                f"`extends` goes round in a circle: {circle}",
                "a rulebook cannot extend itself, directly or through another: remove one of these `extends` lines",
            )
        found = self.scopes.get(name)
        if found is not None:
            return found
        book = self.books.get(name)
        if book is None:
            self.key.append(("unknown", name))
            guess = did_you_mean(name, list(self.books))
            if len(chain) == 1:
                message = f'no rulebook named "{name}" to extend'
            else:
                message = f'"{chain[-1]}" extends "{name}", and there is no rulebook of that name'
            raise _Wrong("stack.unknown_rulebook", message, f'did you mean "{guess}"?' if guess else None)
        own = {valueset.name: valueset for valueset in book.of_type(ast.ValueSet)}
        parents = book.header.extends if book.header is not None else ()
        self.key.append((name, parents, tuple(own.values())))
        inherited: dict[str, SetScope] = {}
        for parent in parents:
            inherited.update(self.scope(parent, (*chain, name)).visible())
        scope = self.scopes[name] = SetScope(name, own, inherited)
        return scope
