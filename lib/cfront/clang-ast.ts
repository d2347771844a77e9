/**
 * Runs gcc's preprocessor and clang's typed JSON AST dump. We rewrite the
 * preprocessed text (never the raw source: inside macros the AST ranges point
 * at the macro name), so every offset here is a byte offset into the .i file.
 */
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GraftError } from "../model/diagnostics.js";
import { runTool } from "../compile/sandbox.js";


/** graft.h comes with Graft: searched after the program's own include paths. */
const RUNTIME_HEADERS = ["-idirafter", path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native/runtime/include")];

/** A node of clang's JSON AST, kept loose on purpose: we read a handful of fields. */
export interface AstNode {
  id: string;
  kind: string;
  name?: string;
  loc?: AstLoc;
  range?: { begin: AstLoc; end: AstLoc };
  type?: { qualType: string; desugaredQualType?: string };
  inner?: AstNode[];
  referencedDecl?: { id: string; kind: string; name?: string; type?: { qualType: string } };
  referencedMemberDecl?: string;
  isArrow?: boolean;
  castKind?: string;
  storageClass?: string;
  /** "static" or "dynamic" for thread-local variables. */
  tls?: string;
  tagUsed?: string;
  completeDefinition?: boolean;
  isImplicit?: boolean;
  variadic?: boolean;
  init?: string;
  opcode?: string;
  valueCategory?: string;
  ownedTagDecl?: { id: string; kind: string; name?: string };
  decl?: { id: string; kind: string; name?: string };
  argType?: { qualType: string };
  inline?: boolean;
  isBitfield?: boolean;
}

export interface AstLoc {
  offset?: number;
  tokLen?: number;
  spellingLoc?: AstLoc;
  expansionLoc?: AstLoc;
}

/** Flags that make clang 14 accept gcc 12's preprocessed output (DESIGN.md). */
export const CLANG_COMPAT_FLAGS = [
  "-D_Float32=float",
  "-D_Float64=double",
  "-D_Float32x=double",
  "-D_Float64x=long double",
  "-D_Float128=__float128",
  "-D__malloc__(...)=__malloc__",
];

export interface PreprocessedFile {
  source: string;       // the .c path as given
  iPath: string;        // where the preprocessed text was written
  text: Buffer;
  /** The same file expanded with __LINE__ and __FILE__ pinned. */
  stableText: Buffer;
}

export async function preprocess(source: string, iPath: string, cflags: string[], cwd: string): Promise<PreprocessedFile> {
  // A second expansion with __LINE__ and __FILE__ pinned: function bodies that
  // differ only there are noise (same layout of lines, so lines correspond).
  // The two are independent: both run at once.
  const stablePath = iPath.replace(/\.i$/, ".stable.i");
  const [real, stable] = await Promise.allSettled([
    runTool("gcc", ["-E", "-DGRAFT_UPDATEABLE", ...cflags, ...RUNTIME_HEADERS, source, "-o", iPath], { cwd, maxBuffer: 64 << 20 }),
    runTool("gcc", ["-E", "-DGRAFT_UPDATEABLE", "-Wno-builtin-macro-redefined", "-D__LINE__=0", '-D__FILE__=""', ...cflags, ...RUNTIME_HEADERS, source, "-o", stablePath], { cwd, maxBuffer: 64 << 20 }),
  ]);
  if (real.status === "rejected") {
    throw new GraftError(`${source}: the preprocessor failed`, [
      { code: 1001, category: "error", file: source, message: `gcc -E failed: ${stderrOf(real.reason)}` },
    ], BAD_INPUT);
  }
  if (stable.status === "rejected") throw stable.reason;
  return { source, iPath, text: await readFile(iPath), stableText: await readFile(stablePath) };
}

export async function dumpAst(pre: PreprocessedFile, cwd: string): Promise<AstNode> {
  const astPath = pre.iPath.replace(/\.i$/, "") + ".ast.json";
  try {
    await runTool("clang", ["-x", "c", "-std=gnu11", "-w", ...CLANG_COMPAT_FLAGS, "-Xclang", "-ast-dump=json", "-fsyntax-only", pre.iPath], { cwd, stdoutFile: astPath });
  } catch (e) {
    await rm(astPath, { force: true });
    throw new GraftError(`${pre.source}: clang could not parse the preprocessed file`, [
      { code: 1002, category: "error", file: pre.source, message: `clang: ${stderrOf(e)}` },
    ], BAD_INPUT);
  }
  try {
    const bytes = (await stat(astPath)).size;
    if (bytes > MAX_AST_BYTES) {
      const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
      throw new GraftError(`${pre.source}: too big to analyse`, [{
        code: 1003, category: "error", file: pre.source, line: 1,
        message: `clang's syntax tree of this unit is ${mb(bytes)}, more than the ${mb(MAX_AST_BYTES)} Graft reads (a source of ${mb(pre.text.length)} after preprocessing): split the file into smaller units`,
      }], BAD_INPUT);
    }
    return normaliseAst(JSON.parse(await readFile(astPath, "utf8")) as AstNode);
  } finally {
    await rm(astPath, { force: true });
  }
}

/** Exit code of a source that does not preprocess, parse or fit (README: bad input). */
const BAD_INPUT = 2;

/** The largest JSON AST read: one JavaScript string holds at most about 512 M characters. */
export const MAX_AST_BYTES = 500_000_000;

/**
 * clang puts the elements of an initialiser with designators under
 * `array_filler` instead of `inner`: fold them in, so every walk sees them.
 */
function normaliseAst(root: AstNode): AstNode {
  const stack: AstNode[] = [root];
  while (stack.length) {
    const n = stack.pop()! as AstNode & { array_filler?: AstNode[] };
    if (n.array_filler) {
      n.inner = [...(n.inner ?? []), ...n.array_filler.filter((c) => c && c.kind)];
      delete n.array_filler;
    }
    for (const c of n.inner ?? []) if (c && c.kind) stack.push(c);
  }
  return root;
}

/**
 * The compiler's first error, on one line, and how many more there were: a
 * diagnostic is one line (the rest, often a caret and a quote of binary
 * junk, is for the compiler's own run, which the message names).
 */
function stderrOf(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  const lines = (err.stderr || err.message || String(e)).trim().split("\n");
  const errors = lines.filter((l) => /\b(fatal )?error: /.test(l));
  const first = (errors[0] ?? lines[0] ?? "").replace(/\p{Cc}/gu, "?").slice(0, 300);
  const more = errors.length - 1;
  return more > 0 ? `${first} (and ${more} more error${more === 1 ? "" : "s"}: compile the file with gcc to see them all)` : first;
}

/** Begin offset of a node, following macro locations to where the text is. */
export function beginOf(n: AstNode): number | undefined {
  return offsetOf(n.range?.begin);
}
/** End offset (exclusive) of a node. */
export function endOf(n: AstNode): number | undefined {
  const e = n.range?.end;
  const o = offsetOf(e);
  const len = tokLenOf(e);
  return o === undefined || len === undefined ? undefined : o + len;
}
export function offsetOf(l: AstLoc | undefined): number | undefined {
  if (!l) return undefined;
  if (l.offset !== undefined) return l.offset;
  return offsetOf(l.spellingLoc ?? l.expansionLoc);
}
function tokLenOf(l: AstLoc | undefined): number | undefined {
  if (!l) return undefined;
  if (l.tokLen !== undefined) return l.tokLen;
  return tokLenOf(l.spellingLoc ?? l.expansionLoc);
}
