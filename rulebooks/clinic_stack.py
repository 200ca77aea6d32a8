"""A clinic's rule stack for one encounter, from the rulebook versions the server resolved.

CONTRACTS.md, Where rules run: the stack is the national base release the clinic adopted, then the
one payer book in effect for the encounter's payer on its date of service, then the clinic-wide
book. The server picks the versions (`server.rulebook_versions.resolve`); this module turns them
into a compiled `Stack`, in whatever process codes (the API's CPU pool, a worker, the CLI), kept
per set of version ids: a published version never changes, so neither does a stack of them.

`StackSources` are plain, picklable data: the texts travel to the CPU pool with the encounter,
and a process that has compiled the same versions before does not read them again.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass

from dsl.content_hash import content_hash
from dsl.parser import parse
from rulebooks.coding import NATIONAL_BASE
from rulebooks.extended import LIBRARY, books_of
from rulebooks.stack import LoadedRulebook, Stack, load_rulebook

#: The layers of a stack, in stack order.
LAYERS = ("base", "payer", "clinic")
#: Compiled stacks kept per process (each is a few hundred compiled rules).
MAX_STACKS = 64


@dataclass(frozen=True)
class BookSource:
    """One book of a stack: a published version (`version_id`), or a shipped template when the
    clinic has published none for the layer (`version_id` None), or a draft being tried.

    `pinned` holds the texts of the books its `extends` lines name, as the version pinned them
    (empty: the shipped library, for a template or a draft)."""

    layer: str
    name: str
    content_hash: str
    text: str
    version_id: str | None = None
    pinned: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackSources:
    """The books of one encounter's stack, base first."""

    books: tuple[BookSource, ...]

    @property
    def key(self) -> tuple[str, ...]:
        """What the compiled stack is kept by: each book's version id, or its content hash."""
        return tuple(book.version_id or f"{book.layer}:{book.content_hash}" for book in self.books)

    def with_book(self, book: BookSource) -> StackSources:
        """The same stack with `book` in its layer (a draft tried where its published version runs)."""
        kept = [other for other in self.books if other.layer != book.layer]
        kept.append(book)
        return StackSources(tuple(sorted(kept, key=lambda one: LAYERS.index(one.layer))))


@functools.lru_cache(maxsize=64)
def identity_of(text: str) -> tuple[str, str | None, str]:
    """A book's (name, payer, content hash): what names it in a stack and a coding. Parsed once
    per text and never compiled: a server asks for the shipped books' on every coding."""
    rulebook = parse(text).rulebook
    header = rulebook.header
    return (header.name if header else "unnamed", header.payer if header else None, content_hash(rulebook))


def library_base() -> BookSource:
    """The shipped national base, for a clinic that has published no base of its own."""
    text = (LIBRARY / "national-base.rules").read_text(encoding="utf-8")
    name, _, version = identity_of(text)
    return BookSource(layer="base", name=name, content_hash=version, text=text)


def compile_book(book: BookSource) -> LoadedRulebook:
    """One book compiled against what it pinned for its `extends` lines (else the library)."""
    return load_rulebook(book.text, books_of(book.pinned) if book.pinned else None)


_stacks: OrderedDict[tuple[str, ...], Stack] = OrderedDict()
_lock = threading.Lock()


def build_stack(sources: StackSources) -> Stack:
    """The compiled stack of these versions, kept per set of version ids in this process."""
    key = sources.key
    with _lock:
        found = _stacks.get(key)
        if found is not None:
            _stacks.move_to_end(key)
            return found
    stack = Stack(
        tuple(compile_book(book) for book in sources.books),
        version_ids=tuple(book.version_id for book in sources.books),
    )
    with _lock:
        _stacks[key] = stack
        while len(_stacks) > MAX_STACKS:
            _stacks.popitem(last=False)
    return stack


def layer_of(name: str, payer: str | None) -> str:
    """The layer a book belongs to by its header: a payer's, the national base, else clinic-wide."""
    return "payer" if payer else "base" if name == NATIONAL_BASE else "clinic"


__all__ = [
    "LAYERS",
    "BookSource",
    "StackSources",
    "build_stack",
    "compile_book",
    "identity_of",
    "layer_of",
    "library_base",
]
