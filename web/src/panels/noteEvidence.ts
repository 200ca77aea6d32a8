// The note with each finding's evidence span highlighted: the spans come from the coding's
// documentation reasons (`values.evidence`: label, start, end, in code points of the note).
import type { StoredCoding } from "../api/types";
import { h } from "../dom";

export interface EvidenceSpan {
  label: string;
  start: number;
  end: number;
}

function isSpan(value: unknown): value is EvidenceSpan {
  const span = value as EvidenceSpan;
  return !!span && typeof span.label === "string" && Number.isInteger(span.start) && Number.isInteger(span.end);
}

/** Every evidence span the coding's reasons cite, once each, in order of position. */
export function evidenceSpans(coding: StoredCoding): EvidenceSpan[] {
  const reasons = [...coding.claimLines, ...coding.selfPayLines, ...coding.heldLines, ...coding.flags].flatMap((l) => l.reasons);
  const seen = new Map<string, EvidenceSpan>();
  for (const reason of reasons) {
    const cited = reason.values?.evidence;
    if (!Array.isArray(cited)) continue;
    for (const span of cited.filter(isSpan)) seen.set(`${span.start}:${span.end}:${span.label}`, span);
  }
  return [...seen.values()].sort((a, b) => a.start - b.start || b.end - a.end);
}

/** Non-overlapping highlights: a span overlapping the previous one joins it (labels combined). */
export function mergeSpans(spans: EvidenceSpan[], length: number): EvidenceSpan[] {
  const merged: EvidenceSpan[] = [];
  for (const span of spans) {
    const start = Math.max(0, span.start);
    const end = Math.min(length, span.end);
    if (end <= start) continue;
    const last = merged[merged.length - 1];
    if (last && start < last.end) {
      last.end = Math.max(last.end, end);
      if (!last.label.split(", ").includes(span.label)) last.label += `, ${span.label}`;
    } else merged.push({ label: span.label, start, end });
  }
  return merged;
}

export function renderNote(note: string, coding: StoredCoding | null): HTMLElement {
  const characters = Array.from(note); // the spans count code points, not UTF-16 units
  const spans = coding ? mergeSpans(evidenceSpans(coding), characters.length) : [];
  const text = h("div", { class: "note-text", id: "note-text" });
  let at = 0;
  for (const span of spans) {
    text.append(characters.slice(at, span.start).join(""));
    text.append(
      h(
        "mark",
        { class: "evidence", title: span.label, "data-label": span.label },
        characters.slice(span.start, span.end).join(""),
        h("span", { class: "visually-hidden" }, ` (evidence: ${span.label.replace(/_/g, " ")})`),
      ),
    );
    at = span.end;
  }
  text.append(characters.slice(at).join(""));
  return h(
    "section",
    { class: "result-section note-section", "aria-labelledby": "note-title" },
    h("h2", { id: "note-title" }, "Note"),
    h(
      "p",
      { class: "muted", id: "note-evidence-count" },
      spans.length
        ? `${spans.length} evidence span${spans.length === 1 ? "" : "s"} highlighted (the findings the coding's documentation reasons cite).`
        : "No evidence cited by this coding.",
    ),
    text,
  );
}
