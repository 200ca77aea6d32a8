"""The books a rulebook's `extends` line may name: the shipped library, by rulebook name.

The rule language asks for them as a mapping from name to parsed book (`dsl.extends.Books`) when
it checks a book, so a payer book may use the value sets of the library books it extends. The
library is read from disk on every call, so an edited library file counts at once, and parsed
once per file content. A published version pins the texts of the books it extends (`books_of`,
the same mapping from those texts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

from dsl import ast
from dsl.parser import parse

LIBRARY = Path(__file__).parent / "library"


class LibraryBooks(Mapping[str, ast.Rulebook]):
    """The library's books by name, parsed (a book that does not parse is left out: loading it
    says why). Equal and hashed by identity: one object per library content (`library_rulebooks`),
    so compiled books can be cached by it."""

    def __init__(self, books: dict[str, ast.Rulebook]) -> None:
        self._books = books

    def __getitem__(self, name: str) -> ast.Rulebook:
        return self._books[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._books)

    def __len__(self) -> int:
        return len(self._books)

    __eq__ = object.__eq__
    __hash__ = object.__hash__


def library_rulebooks() -> LibraryBooks:
    """The shipped library's books by rulebook name, as an `extends` line names them."""
    return _library_books(tuple(path.read_text(encoding="utf-8") for path in sorted(LIBRARY.glob("*.rules"))))


def books_of(texts: tuple[str, ...]) -> LibraryBooks:
    """Books by name from their texts: what a published version pinned for its `extends` lines."""
    return _library_books(texts)


@lru_cache(maxsize=64)
def _library_books(texts: tuple[str, ...]) -> LibraryBooks:
    books: dict[str, ast.Rulebook] = {}
    for text in texts:
        parsed = parse(text)
        header = parsed.rulebook.header
        if parsed.ok and header is not None:
            books.setdefault(header.name, parsed.rulebook)
    return LibraryBooks(books)
