/**
 * Runs gcc's preprocessor and clang's typed JSON AST dump. We rewrite the
 * preprocessed text (never the raw source: inside macros the AST ranges point
 * at the macro name), so every offset here is a byte offset into the .i file.
 */
import { createReadStream } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { getHeapStatistics } from "node:v8";
import streamJson from "stream-json";
import pickFilter from "stream-json/filters/Pick.js";
import streamArrayStreamer from "stream-json/streamers/StreamArray.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GraftError } from "../model/diagnostics.js";
import { runTool } from "../compile/sandbox.js";

const { parser } = streamJson;
const { pick } = pickFilter;
const { streamArray } = streamArrayStreamer;


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
    checkMemoryFor(bytes, pre);
    const root = bytes <= STRING_PARSE_MAX ? (JSON.parse(await readFile(astPath, "utf8")) as AstNode) : await streamAst(astPath);
    return normaliseAst(root);
  } finally {
    await rm(astPath, { force: true });
  }
}

/**
 * One JavaScript string holds at most about 512 M characters: a tree bigger
 * than this is read as a stream of its top-level declarations (stream-json),
 * which is slower than JSON.parse but limited only by memory.
 */
export const STRING_PARSE_MAX = 256_000_000;

/** Bytes of heap a tree takes per byte of its JSON (measured: 1.55 on clang 14's trees), with room for the passes after. */
const HEAP_PER_AST_BYTE = 2;

/** A tree that will not fit in the heap this process may grow to is refused before it is read, with what to do. */
function checkMemoryFor(bytes: number, pre: PreprocessedFile): void {
  const room = getHeapStatistics().heap_size_limit - process.memoryUsage().heapUsed;
  const need = bytes * HEAP_PER_AST_BYTE;
  if (need <= room) return;
  const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
  throw new GraftError(`${pre.source}: too big to analyse`, [{
    code: 1003, category: "error", file: pre.source, line: 1,
    message: `clang's syntax tree of this unit is ${mb(bytes)} (a source of ${mb(pre.text.length)} after preprocessing); reading it needs about ${mb(need)} of memory, and ${mb(room)} is free in Graft's heap: split the file into smaller units, or give Node a larger heap (NODE_OPTIONS=--max-old-space-size=${Math.ceil((need + 512e6) / 1048576)})`,
  }], BAD_INPUT);
}

/** The translation unit with its top-level declarations read one at a time from the file. */
export async function streamAst(file: string): Promise<AstNode> {
  const inner: AstNode[] = [];
  await pipeline(createReadStream(file), parser(), pick({ filter: "inner" }), streamArray(), new Writable({
    objectMode: true,
    write(item: { value: AstNode }, _enc, done) {
      inner.push(item.value);
      done();
    },
  }));
  return { id: "0", kind: "TranslationUnitDecl", inner };
}

/** Exit code of a source that does not preprocess, parse or fit (README: bad input). */
const BAD_INPUT = 2;

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
