"""Read an X12 file back into segments, each with the loop of the 837P it sits in.

The semantic checks read the file this way, never the builder's objects: what they check is what
leaves. The loop of a segment is told by its id and qualifier as 005010X222A1 lays them out; the
separators come from the ISA segment, as the standard says.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import InputInvalid

ISA_LENGTH = 106
#: Loop of an NM1 by its entity code (NM101).
NM1_LOOPS = {
    "41": "1000A",
    "40": "1000B",
    "85": "2010AA",
    "87": "2010AB",
    "IL": "2010BA",
    "PR": "2010BB",
    "QC": "2010CA",
}
NM1_CLAIM_LOOPS = {"DN": "2310A", "82": "2310B", "77": "2310C", "DQ": "2310D", "QB": "2310F"}


@dataclass(frozen=True)
class Segment:
    """One segment: its ordinal in the file (from 1), its loop and its elements (elements[0] is the id)."""

    position: int
    loop: str
    elements: tuple[str, ...]
    component_separator: str

    @property
    def id(self) -> str:
        return self.elements[0]

    def element(self, number: int) -> str:
        return self.elements[number] if number < len(self.elements) else ""

    def components(self, number: int) -> list[str]:
        return self.element(number).split(self.component_separator)


def read_segments(text: str) -> list[Segment]:
    """The file's segments with their loops; `InputInvalid` when it does not start with a whole ISA."""
    stripped = text.lstrip()
    if not stripped.startswith("ISA") or len(stripped) < ISA_LENGTH:
        raise InputInvalid.at("ISA", "not an X12 file: it must start with a 106-character ISA segment")
    element_separator, component_separator, terminator = stripped[3], stripped[104], stripped[105]
    segments: list[Segment] = []
    loop = "ISA"
    for raw in (part.strip() for part in stripped.split(terminator)):
        if not raw:
            continue
        elements = tuple(raw.split(element_separator))
        loop = _loop_of(elements, loop)
        segments.append(Segment(len(segments) + 1, loop, elements, component_separator))
    return segments


def _loop_of(elements: tuple[str, ...], current: str) -> str:
    segment_id = elements[0]
    qualifier = elements[1] if len(elements) > 1 else ""
    if segment_id in ("ISA", "IEA"):
        return "ISA"
    if segment_id in ("GS", "GE"):
        return "GS"
    if segment_id in ("ST", "SE", "BHT"):
        return "ST"
    if segment_id == "HL":
        level = elements[3] if len(elements) > 3 else ""
        return {"20": "2000A", "22": "2000B", "23": "2000C"}.get(level, current)
    if segment_id == "NM1":
        if current in ("2300", "2310A", "2310B", "2310C", "2310D", "2310F"):
            return NM1_CLAIM_LOOPS.get(qualifier, current)
        if current.startswith("24"):
            return "2420" if qualifier in ("82", "77", "DN", "DK") else current
        return NM1_LOOPS.get(qualifier, current)
    if segment_id == "CLM":
        return "2300"
    if segment_id == "LX":
        return "2400"
    return current
