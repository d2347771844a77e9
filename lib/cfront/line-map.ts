/**
 * Maps byte offsets of a gcc-preprocessed file back to the file and line
 * they came from, using the `# LINE "FILE" FLAGS` markers gcc writes. Flag 3
 * marks a system header: declarations from there are not the program's.
 */
export interface SourcePosition {
  file: string;
  line: number;
  system: boolean;
}

interface Segment {
  offset: number; // first byte after the marker line
  file: string;
  line: number;
  system: boolean;
}

export class LineMap {
  private readonly segments: Segment[] = [];
  private readonly lineStarts: number[] = [];

  constructor(text: Buffer) {
    let pos = 0;
    this.lineStarts.push(0);
    for (let i = 0; i < text.length; i++) if (text[i] === 10) this.lineStarts.push(i + 1);
    for (const start of this.lineStarts) {
      if (text[start] !== 35 /* # */) continue;
      const nl = text.indexOf(10, start);
      const lineText = text.subarray(start, nl < 0 ? text.length : nl).toString("utf8");
      const m = /^# (\d+) "((?:[^"\\]|\\.)*)"((?: \d+)*)/.exec(lineText);
      if (!m) continue;
      const flags = m[3].trim().split(/\s+/);
      this.segments.push({
        offset: nl < 0 ? text.length : nl + 1,
        file: m[2].replace(/\\(.)/g, "$1"),
        line: Number(m[1]),
        system: flags.includes("3"),
      });
      pos = start;
    }
    void pos;
  }

  /** Which physical line of the .i holds this offset (0-based). */
  physicalLine(offset: number): number {
    let lo = 0, hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The physical lines (0-based, inclusive) that hold lines [from, to] of
   * `file`: how a function found in one expansion of a file is found in
   * another, whose macros expanded to other line counts.
   */
  physicalRange(file: string, from: number, to: number): [number, number] | undefined {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i];
      if (seg.file !== file) continue;
      const first = this.physicalLine(seg.offset);
      // The segment ends at the line before the next marker.
      const last = i + 1 < this.segments.length ? this.physicalLine(this.segments[i + 1].offset) - 2 : this.lineStarts.length - 1;
      const a = Math.max(first, first + (from - seg.line)), b = Math.min(last, first + (to - seg.line));
      if (a <= b) { lo = Math.min(lo, a); hi = Math.max(hi, b); }
    }
    return lo <= hi ? [lo, hi] : undefined;
  }

  position(offset: number): SourcePosition {
    let lo = 0, hi = this.segments.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid].offset <= offset) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found < 0) return { file: "<unknown>", line: 0, system: true };
    const seg = this.segments[found];
    const line = seg.line + this.physicalLine(offset) - this.physicalLine(seg.offset);
    return { file: seg.file, line, system: seg.system };
  }
}
