/**
 * Byte-offset edits on a preprocessed file. Insertions at one offset are
 * ordered by `order` (lower first); a replacement swallows every edit that
 * starts strictly inside the bytes it replaces. Edits are rendered, never
 * applied in place, so any sub-range can be rendered with its own edits (that
 * is how hoisted declarations keep the renames made inside them).
 *
 * Given the unit's line map, the whole rendering keeps the program's own line
 * numbers: after every edit that adds or removes lines, a line marker says
 * where the original text resumes, so that gcc's errors, gdb and addr2line
 * name the program's lines, never the rewritten file's.
 */
import type { LineMap } from "../cfront/line-map.js";

export interface Edit {
  start: number;
  end: number;
  text: string;
  order: number;
}

/** Orders that matter at one offset: declarations before a top-level decl, closing text of inner nodes before opening text of outer ones. */
export const Order = {
  declarations: -3_000_000,
  prototypes: -2_000_000,
  hoisted: -1_500_000,
  /** Suffix of a node at depth d: deeper nodes close first. */
  suffix: (depth: number) => -1_000_000 - depth,
  /** Prefix of a node at depth d: outer nodes open first. */
  prefix: (depth: number) => depth,
  replace: 500_000,
  after: 1_000_000,
} as const;

export class EditList {
  private readonly edits: Edit[] = [];
  private sorted = true;
  private readonly replaced = new Set<string>();

  constructor(private readonly text: Buffer, private readonly lines?: LineMap) {}

  /** A line marker saying that the next line is the one at `offset` of the original (empty without a line map). */
  marker(offset: number): string {
    if (!this.lines) return "";
    const p = this.lines.position(offset);
    if (p.file.startsWith("<")) return "";
    return `\n# ${p.line} ${JSON.stringify(p.file)}${p.system ? " 3" : ""}\n`;
  }

  insert(at: number, text: string, order: number): void {
    this.edits.push({ start: at, end: at, text, order });
    this.sorted = false;
  }

  /** Replaces [start, end); a second replacement of exactly the same bytes is ignored (shared `static` of a declaration group). */
  replace(start: number, end: number, text: string): void {
    const k = `${start}:${end}`;
    if (this.replaced.has(k)) return;
    this.replaced.add(k);
    this.edits.push({ start, end, text, order: Order.replace });
    this.sorted = false;
  }

  render(from = 0, to = this.text.length): string {
    if (!this.sorted) {
      this.edits.sort((a, b) => a.start - b.start || a.order - b.order || (b.end - b.start) - (a.end - a.start));
      this.sorted = true;
    }
    const out: string[] = [];
    let pos = from;
    const whole = from === 0 && to === this.text.length;
    const isSuffix = (o: number) => o <= Order.suffix(0) && o > Order.suffix(100_000);
    for (const e of this.edits) {
      if (e.start < from || e.start > to) continue;
      if (!whole) {
        // A sub-range owns the openings at its start and the closings at its end, nothing else there.
        if (e.start === from && e.end === e.start && e.order < 0) continue;
        if (e.start === to && !(e.end === e.start && isSuffix(e.order))) continue;
        // Replacements of the range itself or reaching past it belong to the enclosing text.
        if (e.end > to || (e.start === from && e.end === to && e.end > e.start)) continue;
      }
      if (e.start < pos) continue; // inside a replacement
      out.push(this.text.subarray(pos, e.start).toString("utf8"));
      out.push(e.text);
      // Where the lines went out of step, say where the original resumes.
      if (whole && this.lines && (e.text.includes("\n") || this.text.subarray(e.start, e.end).includes(10))) out.push(this.marker(e.end));
      pos = Math.max(pos, e.end);
    }
    if (pos < to) out.push(this.text.subarray(pos, to).toString("utf8"));
    return out.join("");
  }
}
