// A change's text diff (unified lines: "-" before, "+" after, " " both) drawn side by side: a run
// of removed lines faces the run of added lines that replaced it.

export interface DiffRow {
  before: string | null;
  after: string | null;
  kind: "same" | "changed" | "removed" | "added" | "gap";
}

/** " a / -b / +c / +d" gives three rows: a beside a, b beside c, nothing beside d. */
export function sideBySide(textDiff: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = (): void => {
    const count = Math.max(removed.length, added.length);
    for (let i = 0; i < count; i++) {
      const before = removed[i] ?? null;
      const after = added[i] ?? null;
      rows.push({ before, after, kind: before !== null && after !== null ? "changed" : before !== null ? "removed" : "added" });
    }
    removed = [];
    added = [];
  };
  for (const line of textDiff.replace(/\n$/, "").split("\n")) {
    if (line.startsWith("---") || line.startsWith("+++")) continue; // file headers
    if (line.startsWith("@@")) {
      flush();
      if (rows.length) rows.push({ before: null, after: null, kind: "gap" });
    } else if (line.startsWith("-")) {
      removed.push(line.slice(1));
    } else if (line.startsWith("+")) {
      added.push(line.slice(1));
    } else {
      flush();
      const text = line.startsWith(" ") ? line.slice(1) : line;
      rows.push({ before: text, after: text, kind: "same" });
    }
  }
  flush();
  return rows;
}
