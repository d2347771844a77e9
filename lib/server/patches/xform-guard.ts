import "server-only";

/**
 * Edited transformer code is compiled on the server: it must not be able to
 * pull server files into the build or run anything at compile time. This
 * scanner refuses preprocessor directives (other than the generator's own
 * lines, kept verbatim), `asm`, `_Pragma`, `__has_include`, digraph and
 * trigraph spellings of `#`, and any stray `#`, outside comments and string
 * literals. Splices (backslash-newline) are followed as the compiler does.
 */
export interface GuardProblem {
  line: number;
  column: number;
  message: string;
}

const FORBIDDEN_WORDS = ["asm", "__asm", "__asm__", "_Pragma", "__has_include", "__has_include_next", "__has_embed", "__builtin_include"];

/** Returns the source with comments and literals blanked (newlines kept), and which lines contain a splice. */
function codeOnly(src: string): { code: string; splicedLines: Set<number> } {
  const out: string[] = [];
  const spliced = new Set<number>();
  let state: "code" | "line" | "block" | "str" | "chr" = "code";
  let line = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "\\" && (n === "\n" || (n === "\r" && src[i + 2] === "\n"))) {
      spliced.add(line);
      const len = n === "\n" ? 2 : 3;
      out.push(" ".repeat(len - 1), "\n");
      i += len - 1;
      line++;
      continue;
    }
    if (c === "\n") {
      if (state === "line") state = "code";
      if (state === "str" || state === "chr") state = "code"; // unterminated literal: gcc errors anyway
      out.push("\n");
      line++;
      continue;
    }
    switch (state) {
      case "code":
        if (c === "/" && n === "/") {
          state = "line";
          out.push("  ");
          i++;
        } else if (c === "/" && n === "*") {
          state = "block";
          out.push("  ");
          i++;
        } else if (c === '"') {
          state = "str";
          out.push(" ");
        } else if (c === "'") {
          state = "chr";
          out.push(" ");
        } else out.push(c);
        break;
      case "line":
        out.push(" ");
        break;
      case "block":
        if (c === "*" && n === "/") {
          state = "code";
          out.push("  ");
          i++;
        } else out.push(" ");
        break;
      case "str":
      case "chr":
        if (c === "\\" && n !== undefined && n !== "\n") {
          out.push("  ");
          i++;
        } else if ((state === "str" && c === '"') || (state === "chr" && c === "'")) {
          state = "code";
          out.push(" ");
        } else out.push(" ");
        break;
    }
  }
  return { code: out.join(""), splicedLines: spliced };
}

/** The directive lines of the generated file, which an edit may keep as they are. */
function directiveLines(src: string): Set<string> {
  const { code } = codeOnly(src);
  const srcLines = src.split("\n");
  const set = new Set<string>();
  code.split("\n").forEach((l, i) => {
    if (/^\s*(#|%:)/.test(l)) set.add(srcLines[i].trim());
  });
  return set;
}

export function checkTransformerSafety(edited: string, generated: string): GuardProblem[] {
  const problems: GuardProblem[] = [];
  if (edited.length > 512 * 1024) return [{ line: 1, column: 1, message: "the transformer source is larger than 512 KiB" }];
  if (edited.includes("\0")) problems.push({ line: 1, column: 1, message: "the transformer source contains a NUL byte" });
  const allowed = directiveLines(generated);
  const { code, splicedLines } = codeOnly(edited);
  const srcLines = edited.split("\n");
  const codeLines = code.split("\n");
  // Trigraphs are looked for in the raw text: ??/ is a backslash, ??= a '#'.
  srcLines.forEach((l, i) => {
    const t = /\?\?[=(/)'<!>-]/.exec(l);
    if (t) problems.push({ line: i + 1, column: t.index + 1, message: `trigraph "${t[0]}" is not allowed in transformer code` });
  });
  codeLines.forEach((l, i) => {
    const lineNo = i + 1;
    const directive = /^\s*(#|%:)/.exec(l);
    if (directive) {
      const ok = allowed.has(srcLines[i].trim()) && !splicedLines.has(lineNo);
      if (!ok) {
        const word = /^\s*(?:#|%:)\s*(\w*)/.exec(l)?.[1] ?? "";
        problems.push({
          line: lineNo,
          column: directive[0].length - directive[1].length + 1,
          message: word === "include" || word === "include_next" || word === "embed"
            ? `#${word} is not allowed in transformer code (it could pull server files into the build)`
            : `preprocessor directive${word ? ` #${word}` : ""} is not allowed in transformer code`,
        });
      }
      return;
    }
    for (const m of l.matchAll(/#|%:/g)) problems.push({ line: lineNo, column: (m.index ?? 0) + 1, message: `"${m[0]}" is not allowed in transformer code` });
    for (const m of l.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) {
      if (FORBIDDEN_WORDS.includes(m[0])) problems.push({ line: lineNo, column: (m.index ?? 0) + 1, message: `"${m[0]}" is not allowed in transformer code` });
    }
  });
  return problems;
}
