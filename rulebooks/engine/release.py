"""What a coding names besides its rulebooks: the engine release, the vocabulary version and the
code-set releases (CONTRACTS.md, Coding).

`ENGINE_RELEASE` is a release label, raised by hand in the commit that changes what the passes
code for some encounter (the corpus snapshots show it); `recodeAsOf` reproduces a stored coding
byte for byte while it is the same, and says so when it is not. The vocabulary's version is the
hash of what rules can read and do, so a new fact or action is a new version without anyone
remembering to raise it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

from rulebooks.dated_codesets import CodeSets
from rulebooks.models import Releases

ENGINE_RELEASE = "2026.12.2"


@functools.cache
def vocabulary_version() -> str:
    """A short hash of the rule vocabulary: its phases, facts (paths and types) and actions."""
    from rulebooks.vocabulary import dermatology_vocabulary

    vocabulary = dermatology_vocabulary()
    described = repr(
        (
            vocabulary.phases,
            [(field.path, field.type, field.required) for field in vocabulary.fields],
            [
                (action.name, action.template, action.params, action.phases, action.encounter, action.acts_on)
                for action in vocabulary.actions
            ],
        )
    )
    return "vocab:" + hashlib.sha256(described.encode()).hexdigest()[:16]


def releases_for(codesets: CodeSets, date_of_service: dt.date) -> Releases:
    return Releases(
        engine=ENGINE_RELEASE, vocabulary=vocabulary_version(), code_sets=codesets.releases_for(date_of_service)
    )
