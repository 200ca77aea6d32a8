"""The structural check of an X12 file by pyx12 (005010X222A1 maps), through its Python API.

Its `x12valid` command exits 1 whether a file passes or fails (domain/interop.md), so cutis calls
`x12n_document` and reads the error tree it builds. pyx12 logs each error with the offending value
(possibly PHI) through the "pyx12" logger: that logger is silenced here, and messages are written
from the error codes and the map's element names, never from the values.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pyx12.params
import pyx12.x12n_document

from server.claims.x12_read import read_segments

#: IK4 data element syntax error codes (X12 999) in words.
ELEMENT_ERRORS = {
    "1": "is required and missing",
    "2": "is required here (conditional) and missing",
    "3": "is one element too many",
    "4": "is too short",
    "5": "is too long",
    "6": "has a character not allowed",
    "7": "is not one of the allowed codes",
    "8": "is not a valid date",
    "9": "is not a valid time",
    "10": "may not be used with another element present",
    "12": "repeats too often",
    "13": "has too many components",
}
#: IK3 segment syntax error codes in words.
SEGMENT_ERRORS = {
    "1": "is not a segment this transaction knows here",
    "2": "is not expected here",
    "3": "is required and missing",
    "4": "makes its loop occur more often than allowed",
    "5": "occurs more often than allowed",
    "6": "is not in the transaction set",
    "7": "is out of order",
    "8": "has data element errors",
}


def _quiet_pyx12() -> None:
    logger = logging.getLogger("pyx12")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def structural_problems(text: str) -> list[Any]:
    """pyx12's findings as located `ClaimProblem`s (check = structure)."""
    from server.claims.checks import ClaimProblem  # one type for both checks; checks imports this module

    _quiet_pyx12()
    loops = {segment.position: segment.loop for segment in read_segments(text)}
    lines: dict[int, tuple[str, str]] = {}

    def remember_loop(segment: Any, source: Any, node: Any, valid: bool) -> None:
        parent = node.get_parent() if node is not None else None
        loop = getattr(parent, "id", None)
        lines[source.get_cur_line()] = (loop if loop and loop[0].isdigit() else "", segment.get_seg_id())

    report = io.StringIO()
    pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(text), None, None, None, report, callback=remember_loop
    )
    problems: list[ClaimProblem] = []
    tree = json.loads(report.getvalue() or '{"interchanges": []}')
    for interchange in tree["interchanges"]:
        for error in interchange["errors"]:
            problems.append(ClaimProblem("structure", "ISA", "ISA", 1, None, _control_message(error)))
        for group in interchange["groups"]:
            for error in group["errors"]:
                problems.append(ClaimProblem("structure", "GS", "GS", group["cur_line"], None, _control_message(error)))
            for transaction in group["transactions"]:
                for error in transaction["errors"]:
                    position = transaction["cur_line"]
                    problems.append(ClaimProblem("structure", "ST", "SE", position, None, _control_message(error)))
                for segment in transaction["segments"]:
                    position = segment["cur_line"]
                    loop = lines.get(position, ("", ""))[0] or loops.get(position, "")
                    for error in segment["errors"]:
                        verb = SEGMENT_ERRORS.get(str(error["err_cde"]), "is not valid")
                        message = f"{segment['name']} ({segment['seg_id']}) {verb}"
                        problems.append(ClaimProblem("structure", loop, segment["seg_id"], position, None, message))
                    for element in segment["elements"]:
                        reference = f"{segment['seg_id']}{element['ele_pos']:02d}"
                        if element["subele_pos"]:
                            reference += f"-{element['subele_pos']:02d}"
                        for error in element["errors"]:
                            verb = ELEMENT_ERRORS.get(str(error["err_cde"]), "is not valid")
                            message = f"{element['name']} {verb}"
                            problems.append(
                                ClaimProblem("structure", loop, segment["seg_id"], position, reference, message)
                            )
    return problems


def _control_message(error: dict[str, Any]) -> str:
    """Envelope errors (ISA, GS, ST/SE) hold control numbers and counts only, so pyx12's words are kept."""
    return str(error["err_str"])
