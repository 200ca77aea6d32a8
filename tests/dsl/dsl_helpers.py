"""A small domain-free vocabulary for the dsl tests: the language must not need dermatology."""

from __future__ import annotations

from dsl.api import build
from dsl.vocabulary import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    SYMBOL,
    ActionSpec,
    Field,
    Vocabulary,
    code,
    enum,
    list_of,
    quantity,
    record,
)

ITEM = record("item", code=code("cpt"), units=NUMBER)
TOY = Vocabulary(
    phases=("decide", "adjust"),
    fields=(
        Field("region", SYMBOL, required=True),
        Field("day", DATE, required=True),
        Field("customer.tier", enum("tier", "bronze", "silver", "gold"), required=True),
        Field("customer.age", quantity("years")),
        Field("customer.vip", BOOL),
        Field("order.count", quantity("lesions")),
        Field("order.weight", quantity("cm")),
        Field("order.note", STRING),
        Field("order.codes", list_of(code("icd10")), required=True),
        Field("order.procedure", code("cpt")),
        Field("items", list_of(ITEM), required=True),
    ),
    actions=(
        ActionSpec("mark", "mark {label}", (("label", SYMBOL),), ("decide", "adjust")),
        ActionSpec("grade", "grade {tier}", (("tier", enum("tier", "bronze", "silver", "gold")),), ("decide",)),
        ActionSpec("limit", "limit to {count}", (("count", quantity("lesions")),), ("adjust",)),
        ActionSpec("say", "say {message}", (("message", STRING),), ("decide", "adjust")),
    ),
)


def built(text: str):
    return build(text, TOY)


def codes(text: str) -> list[str]:
    return [d.code for d in built(text).diagnostics]
