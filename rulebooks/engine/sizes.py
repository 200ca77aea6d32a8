"""Measurements as CPT reads them: centimetres to one decimal, rounded half up.

Why: the size bands are written in tenths (0.6-1.0 cm), so 0.55 cm is 0.6 cm, and float
sums such as 0.1 + 0.2 must not fall between two bands.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TENTH = Decimal("0.1")


def size_cm(value: float) -> float:
    """Round a measurement to one decimal, half up.

    >>> size_cm(0.55), size_cm(0.1 + 0.2), size_cm(2.449)
    (0.6, 0.3, 2.4)

    A value already in tenths (1.2, as most documented sizes are) is its own rounding: it is the
    float nearest a one-decimal number, which the Decimal round trip would give back unchanged.
    """
    if round(value, 1) == value:
        return value
    return float(Decimal(repr(value)).quantize(TENTH, rounding=ROUND_HALF_UP))


def excised_diameter_cm(lesion_size_cm: float, margin_cm: float) -> float:
    """Greatest lesion diameter + 2 x narrowest margin (derm-coding.md 4.2).

    >>> excised_diameter_cm(1.8, 0.3), excised_diameter_cm(1.2, 0.4)
    (2.4, 2.0)
    """
    return size_cm(lesion_size_cm + 2 * margin_cm)
