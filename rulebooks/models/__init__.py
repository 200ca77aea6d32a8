"""Contract models shared by every part: the Encounter (input) and the Coding (output)."""

from rulebooks.models.coding import (
    ClaimLine,
    Coding,
    Flag,
    HeldLine,
    Reason,
    Releases,
    RulebookRef,
    RuleRef,
    SourceSpan,
)
from rulebooks.models.encounter import Encounter, Service

__all__ = [
    "ClaimLine",
    "Coding",
    "Encounter",
    "Flag",
    "HeldLine",
    "Reason",
    "Releases",
    "RuleRef",
    "RulebookRef",
    "Service",
    "SourceSpan",
]
