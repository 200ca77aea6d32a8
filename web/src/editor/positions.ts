// Diagnostics count offsets in Unicode code points (CONTRACTS.md, "Positions");
// CodeMirror counts UTF-16 code units. They differ only after an astral character.

const ASTRAL = /[\uD800-\uDBFF]/;

/** A converter from code-point offsets to UTF-16 offsets for one text. */
export function codePointOffsets(text: string): (codePoint: number) => number {
  if (!ASTRAL.test(text)) return (codePoint) => Math.min(codePoint, text.length);
  return (codePoint) => {
    let utf16 = 0;
    for (let seen = 0; seen < codePoint && utf16 < text.length; seen++) {
      const unit = text.charCodeAt(utf16);
      utf16 += unit >= 0xd800 && unit <= 0xdbff ? 2 : 1;
    }
    return Math.min(utf16, text.length);
  };
}
