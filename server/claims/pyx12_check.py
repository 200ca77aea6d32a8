"""The structural check of an X12 file by pyx12 (005010X222A1 maps), through its Python API.

Its `x12valid` command exits 1 whether a file passes or fails (domain/interop.md), so cutis calls
`x12n_document` and reads the error tree it builds. pyx12 logs each error with the offending value
(possibly PHI) through the "pyx12" logger: that logger is silenced here, and messages are written
from the error codes and the map's element names, never from the values.
"""

from __future__ import annotations

import functools
import io
import json
import logging
from typing import Any

import pyx12.errh_json
import pyx12.error_handler
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.x12file
from pyx12.map_if._segment import apply_segment_errors
from pyx12.map_walker import apply_walk_errors, walk_tree

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
    refused: list[tuple[int, str]] = []

    def remember_loop(segment: Any, source: Any, node: Any, valid: bool) -> None:
        parent = node.get_parent() if node is not None else None
        loop = getattr(parent, "id", None)
        lines[source.get_cur_line()] = (loop if loop and loop[0].isdigit() else "", segment.get_seg_id())
        if not valid:
            refused.append((source.get_cur_line(), segment.get_seg_id()))

    report = _walk(text, remember_loop)
    problems: list[ClaimProblem] = []
    tree = json.loads(report or '{"interchanges": []}')
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
    located = {problem.position for problem in problems}
    for position, segment_id in refused:  # pyx12 said invalid without saying why: still located
        if position not in located:
            loop = lines.get(position, ("", ""))[0] or loops.get(position, "")
            message = f"{segment_id} does not fit 005010X222A1 (too many elements or components?)"
            problems.append(ClaimProblem("structure", loop, segment_id, position, None, message))
    return problems


def _control_message(error: dict[str, Any]) -> str:
    """Envelope errors (ISA, GS, ST/SE) hold control numbers and counts only, so pyx12's words are kept."""
    return str(error["err_str"])


@functools.cache
def _map(map_file: str) -> Any:
    """A pyx12 map, parsed once per process (parsing is 90% of a validation); the walk never changes a map."""
    return pyx12.map_if.load_map_file(map_file, pyx12.params.params())


@functools.cache
def _map_index() -> Any:
    return pyx12.map_index.map_index()


def _walk(text: str, callback: Any) -> str:
    """pyx12's `x12n_document` walk for 5010 files, with the maps kept: its JSON error tree.

    The same steps as pyx12 4.0's `x12n_document` (ISA, GS, ST/SE, GE, IEA and every other segment
    through the walker and the error handler); what differs is that the control and transaction maps
    are loaded once, not per file. A test checks that both give the same findings on the fixtures.
    """
    errh = pyx12.error_handler.err_handler()
    try:
        src = pyx12.x12file.X12Reader(io.StringIO(text))
    except pyx12.errors.X12Error:
        return '{"interchanges": [{"errors": [{"err_cde": "", "err_str": "not an X12 file"}], "groups": []}]}'
    control_map = _map("x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml")
    node = control_map.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    icvn: str | None = None
    cur_map: Any = None
    for seg in src:
        orig_node = node
        seg_id = seg.get_seg_id()
        if seg_id == "ISA":
            node = control_map.getnodebypath("/ISA_LOOP/ISA")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
        elif seg_id == "GS":
            node = control_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        else:
            node, _pop, _push, walk_errors = walker.walk_errors(
                node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id()
            )
            apply_walk_errors(errh, walk_errors)
        if node is None:
            node = orig_node
        else:
            if seg_id == "ISA":
                errh.add_isa_loop(seg, src)
                icvn = seg.get_value("ISA12")
                errh.handle_errors(src.pop_errors())
            elif seg_id == "IEA":
                errh.handle_errors(src.pop_errors())
                errh.close_isa_loop(node, seg, src)
            elif seg_id == "GS":
                map_file = _map_index().get_filename(icvn, seg.get_value("GS08"), seg.get_value("GS01"))
                if map_file is None:
                    return _not_supported(seg.get_value("GS08"))
                cur_map = _map(map_file)
                src.check_837_lx = cur_map.id == "837"
                node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                errh.add_gs_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "GE":
                errh.handle_errors(src.pop_errors())
                errh.close_gs_loop(node, seg, src)
            elif seg_id == "ST":
                errh.add_st_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "SE":
                errh.handle_errors(src.pop_errors())
                errh.close_st_loop(node, seg, src)
            else:
                errh.add_seg(node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id())
                errh.handle_errors(src.pop_errors())
            try:
                valid = apply_segment_errors(node, seg, errh)
            except IndexError:  # pyx12 4.0 fails on a composite with more components than the map's
                valid = False
        callback(seg, src, node, valid)
    src.cleanup()
    errh.handle_errors(src.pop_errors())
    report = io.StringIO()
    errh.accept(pyx12.errh_json.errh_json_visitor(report))
    src.close()
    return report.getvalue()


def _not_supported(version: str | None) -> str:
    message = f"no pyx12 map for the implementation {version!r} (an 837P is 005010X222A1)"
    return json.dumps({"interchanges": [{"errors": [{"err_cde": "", "err_str": message}], "groups": []}]})
