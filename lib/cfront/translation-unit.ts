/**
 * First pass over one translation unit: finds the program's own definitions
 * (functions, named types, globals, static locals, update points) and the
 * facts later stages need. It never rewrites anything and never resolves
 * names across units; `program.ts` joins the units.
 */
import path from "node:path";
import { createHash } from "node:crypto";
import type { AstNode } from "./clang-ast.js";
import { beginOf, endOf } from "./clang-ast.js";
import { LineMap, type SourcePosition } from "./line-map.js";
import type { Diagnostic } from "../model/diagnostics.js";
import { TypeCanon } from "./types.js";

export interface TuFunction {
  node: AstNode;
  name: string;
  isStatic: boolean;
  variadic: boolean;
  signature: string;
  /** The function's type by meaning (types.ts): typedefs resolved, parameters' top-level qualifiers dropped. */
  canonicalSignature: string;
  returnsVoid: boolean;
  params: string[];
  pos: SourcePosition;
  endLine: number;
  body: AstNode;
  /** Offset where the declarator starts and where the body's `{` is. */
  begin: number;
  bodyBegin: number;
  end: number;
  fingerprint: string;
  /** Fingerprint of the body expanded with __LINE__ and __FILE__ pinned. */
  stableFingerprint: string;
  /**
   * An inline definition that is no external one (C99 6.7.4p7: every file-scope
   * declaration says `inline` and none `extern`; gnu89: `extern inline`). Stock
   * builds link only because gcc inlined every call, or another unit has the
   * external definition.
   */
  inlineOnly: boolean;
  /** The running version's name for it, when its linkage changed in place (identity.ts). */
  identity?: string;
  /** Set on a loop body extracted into a function of its own: the function it came from and the loop. */
  extracted?: { holder: TuFunction; loop: AstNode; index: number };
}

export interface TuRecord {
  node: AstNode;
  key: string;
  kind: "struct" | "union";
  spelling: string;
  pos: SourcePosition;
  /** The top-level declaration that owns the definition (the record itself or its typedef). */
  owner: AstNode;
  fields: TuField[];
  /** The layout by meaning, field names left out: two files that rename private fields by macro define one type. */
  layoutKey: string;
  openBrace: number;
  closeBrace: number; // offset of `}`
  fixed: { reason: string; pos: SourcePosition }[];
  /**
   * The trailing flexible array member (`T x[]`, GNU `T x[0]`), not among
   * `fields`: the wrapper keeps it after the data's room, so that what is
   * stored after the struct (memcached's key and data) stays where it is
   * while the data before it changes within the room.
   */
  flexible?: TuFlexible;
  /**
   * The data's fields spelled without typedefs (`{ __typeof__(int) hits; }`),
   * for the version data: a later patch defines this layout next to the new
   * version's typedefs, where `count_t` may mean another type. Absent when a
   * field's type has no name to spell (an anonymous member).
   */
  dataBody?: string;
}

export interface TuFlexible {
  name: string;
  /** The array's type (`void *[]`) and its element's (`void *`). */
  type: string;
  element: string;
  /** [begin, end) of its declaration in the text, the `;` included. */
  range: [number, number];
}

export interface TuField {
  name: string;
  /** As clang spells it, for display. */
  type: string;
  /** By meaning, for comparison (types.ts). */
  canon: string;
  line: number;
}

export interface TuGlobal {
  node: AstNode;
  name: string;
  isStatic: boolean;
  threadLocal?: boolean;
  pos: SourcePosition;
  type: string;
  canon: string;
  /** Set for static locals. */
  fn?: TuFunction;
  declStmt?: AstNode;
}

export interface TuUpdatePoint {
  call: AstNode;
  arg: AstNode;
  pos: SourcePosition;
  fn: TuFunction;
  /** The point opens an extracted loop body: after an update there, the iteration restarts in the new body. */
  restarts?: boolean;
}

export interface TranslationUnit {
  source: string;
  text: Buffer;
  lines: LineMap;
  root: AstNode;
  canon: TypeCanon;
  /** Path of the unit's file relative to the working directory, made an identifier. */
  stem: string;
  functions: TuFunction[];
  records: TuRecord[];
  recordsById: Map<string, TuRecord>;
  /** FieldDecl id -> id of the record that declares it. */
  fieldOwner: Map<string, string>;
  /** Anonymous record id -> typedef name. */
  typedefOfAnon: Map<string, string>;
  globals: TuGlobal[];
  staticLocals: TuGlobal[];
  updatePoints: TuUpdatePoint[];
  /** Loop bodies extracted into functions, by the body's node. */
  extractedBodies: Map<AstNode, TuFunction>;
  parents: Map<AstNode, AstNode>;
  diagnostics: Diagnostic[];
}

/** The file's path below `sourceRoot` (the sources' common directory), made an identifier. */
export function stemOf(absoluteFile: string, sourceRoot: string): string {
  const rel = path.relative(sourceRoot, absoluteFile);
  return rel.replace(/[^A-Za-z0-9]/g, "_");
}

export function sha256(s: string | Buffer): string {
  return createHash("sha256").update(s).digest("hex");
}

/** Whitespace-normalised token text, so formatting changes give equal fingerprints. */
export function normaliseCode(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^#\s*\d+\s+"/.test(l))
    .join("\n")
    .replace(/\s+/g, " ")
    .replace(/ ?([(){}[\];,=+\-*/<>!&|^~?:.]) ?/g, "$1")
    .trim();
}

/** What the C dialect changes in the model (from the compiler flags). */
export interface Dialect {
  /** gnu89's `inline`: a plain inline definition is an external one, `extern inline` never is. */
  gnu89Inline: boolean;
}

/** The dialect the flags ask for; the last -std wins, as in gcc. */
export function dialectOf(cflags: readonly string[]): Dialect {
  const std = cflags.filter((f) => f.startsWith("-std=")).pop();
  const gnu89 = std !== undefined && /^-std=(gnu|c)(89|90)$|^-std=iso9899:(1990|199409)$/.test(std);
  return { gnu89Inline: gnu89 || cflags.includes("-fgnu89-inline") };
}

export function scanTranslationUnit(
  source: string, text: Buffer, root: AstNode, where: { absolute: string; sourceRoot: string }, stableText?: Buffer,
  dialect: Dialect = { gnu89Inline: false },
): TranslationUnit {
  const lines = new LineMap(text);
  const stableLines = (stableText ?? text).toString("utf8").split("\n");
  const stableMap = stableText ? new LineMap(stableText) : lines;
  /** The text of [a, b) as the stable expansion has it: found by file and line, as its macros may span other line counts. */
  const stableSlice = (a: number, b: number) => {
    const pa = lines.position(a), pb = lines.position(Math.max(a, b - 1));
    const r = pa.file === pb.file ? stableMap.physicalRange(pa.file, pa.line, pb.line) : undefined;
    return r ? stableLines.slice(r[0], r[1] + 1).join("\n") : slice(a, b);
  };
  const tu: TranslationUnit = {
    source, text, lines, root, canon: new TypeCanon(root, lines, text), stem: stemOf(where.absolute, where.sourceRoot),
    functions: [], records: [], recordsById: new Map(), fieldOwner: new Map(), typedefOfAnon: new Map(),
    globals: [], staticLocals: [], updatePoints: [], extractedBodies: new Map(), parents: new Map(), diagnostics: [],
  };
  const slice = (a: number, b: number) => text.subarray(a, b).toString("utf8");
  const posOf = (n: AstNode): SourcePosition => lines.position(beginOf(n) ?? 0);
  const isOwn = (n: AstNode) => isProgramDecl(lines, n);

  // Parent links, for "is this reference the callee of a call" questions.
  const link = (n: AstNode) => {
    for (const c of n.inner ?? []) { tu.parents.set(c, n); link(c); }
  };
  link(root);

  const top = root.inner ?? [];
  /** The unit's declarations of each function, by name (a unit may declare one many times). */
  const declsByName = new Map<string, AstNode[]>();
  for (const t of top) if (t.kind === "FunctionDecl" && t.name) {
    const l = declsByName.get(t.name);
    if (l) l.push(t); else declsByName.set(t.name, [t]);
  }
  for (const d of top) {
    if (d.kind === "TypedefDecl" && d.name) {
      const owned = d.inner?.[0]?.ownedTagDecl;
      if (owned && !owned.name) tu.typedefOfAnon.set(owned.id, d.name);
    }
  }

  for (const d of top) {
    if (!isOwn(d) || d.isImplicit) continue;
    if (d.kind === "FunctionDecl") collectFunction(d);
    else if (d.kind === "RecordDecl") collectRecord(d, ownerOf(d));
    else if (d.kind === "VarDecl" && d.storageClass !== "extern") {
      tu.globals.push({ node: d, name: d.name ?? "", isStatic: d.storageClass === "static", ...(d.tls ? { threadLocal: true } : {}), pos: posOf(d), type: d.type?.qualType ?? "", canon: tu.canon.canonical(d.type?.qualType ?? "") });
    }
  }
  extractLoops();
  return tu;

  /**
   * What a function means beyond its text: the typedefs and enums its types
   * reach by name and the values of the enumerators it uses. A typedef that
   * becomes `long long`, or a renumbered enum, changes the compiled code
   * without changing one character of the body.
   */
  function meaningOf(n: AstNode): string {
    const deps = new Set<string>();
    const visit = (x: AstNode) => {
      for (const t of [x.type?.qualType, x.argType?.qualType]) if (t) for (const d of tu.canon.dependencies(t)) deps.add(d);
      const ref = x.referencedDecl;
      if (ref?.kind === "EnumConstantDecl") deps.add(`${ref.name}=${tu.canon.enumValues.get(ref.id) ?? "?"}`);
      for (const c of x.inner ?? []) if (c && c.kind) visit(c);
    };
    visit(n);
    return deps.size ? "\0" + [...deps].sort().join("\0") : "";
  }

  /**
   * Loop extraction: the body of the innermost loop around each update point
   * becomes a function of its own, called through its slot, so that the next
   * iteration runs the newest body while the function holding the loop (main,
   * typically) keeps running.
   */
  function extractLoops() {
    const counts = new Map<TuFunction, number>();
    for (const p of tu.updatePoints) {
      let loop: AstNode | undefined;
      for (let n = tu.parents.get(p.call); n && n !== p.fn.body; n = tu.parents.get(n)) {
        // `do { ... } while (0)` is a macro's statement wrapper (GRAFT_UPDATE_POINT's own), not a loop.
        const once = n.kind === "DoStmt" && n.inner?.[1]?.kind === "IntegerLiteral" && (n.inner[1] as { value?: string }).value === "0";
        if ((n.kind === "WhileStmt" || n.kind === "ForStmt" || n.kind === "DoStmt") && !once) { loop = n; break; }
      }
      if (!loop) continue;
      const inner = loop.inner ?? [];
      const body = loop.kind === "DoStmt" ? inner[0] : inner[inner.length - 1];
      if (body?.kind !== "CompoundStmt") {
        tu.diagnostics.push({ code: 1020, category: "warning", file: p.pos.file, line: p.pos.line, message: "the loop around this update point has no braces: it is not extracted, so changes to it need a restart" });
        continue;
      }
      // Declarations whose initialisers have no side effects change nothing if the iteration runs again, so they may come first.
      const hasEffects = (n: AstNode): boolean =>
        n.kind === "CallExpr" || n.kind === "CompoundAssignOperator" || n.kind === "StmtExpr" ||
        (n.kind === "BinaryOperator" && n.opcode === "=") || (n.kind === "UnaryOperator" && /\+\+|--/.test(n.opcode ?? "")) ||
        (n.inner ?? []).some(hasEffects);
      const first = body.inner?.find((c) => !(c.kind === "DeclStmt" && (c.inner ?? []).every((v) => v.kind === "VarDecl" && !hasEffects(v))));
      const callAt = beginOf(p.call) ?? -1;
      // The point restarts the iteration only when nothing of the body runs before it.
      p.restarts = !!first && (beginOf(first) ?? 0) <= callAt && callAt < (endOf(first) ?? 0);
      const existing = tu.extractedBodies.get(body);
      if (existing) { p.fn = existing; continue; }
      const holder = p.fn;
      const k = (counts.get(holder) ?? 0) + 1;
      counts.set(holder, k);
      const b = beginOf(body)!, e = endOf(body)!;
      const fn: TuFunction = {
        node: body, name: `${holder.name}__loop${k}`, isStatic: true, variadic: false, inlineOnly: false,
        signature: "int (void *)", canonicalSignature: "int(void*)", returnsVoid: false, params: ["__graft_env"], pos: posOf(body),
        endLine: lines.position(e - 1).line, body, begin: b, bodyBegin: b, end: e,
        fingerprint: sha256(normaliseCode(slice(b, e)) + meaningOf(body)),
        stableFingerprint: sha256(normaliseCode(stableSlice(b, e)) + meaningOf(body)),
        extracted: { holder, loop, index: k },
      };
      tu.functions.push(fn);
      tu.extractedBodies.set(body, fn);
      p.fn = fn;
    }
    // The holder's fingerprint must not change when only an extracted body does.
    for (const holder of counts.keys()) {
      let text = slice(holder.bodyBegin, holder.end);
      for (const [body] of tu.extractedBodies) text = text.replace(slice(beginOf(body)!, endOf(body)!), "{ /* extracted */ }");
      holder.fingerprint = sha256(normaliseCode(holder.canonicalSignature + " " + text) + meaningOf(holder.body));
      // A holder is never replaced (main): no __LINE__-noise distinction is needed for it.
      holder.stableFingerprint = holder.fingerprint;
    }
  }

  /** The top-level declaration whose text holds the record's definition: `typedef struct {...} t;` starts before the struct. */
  function ownerOf(r: AstNode): AstNode {
    const rb = beginOf(r)!, re = endOf(r)!;
    let best = r;
    for (const d of top) {
      const db = beginOf(d), de = endOf(d);
      if (db !== undefined && de !== undefined && db <= rb && de >= re && db < beginOf(best)!) best = d;
    }
    return best;
  }

  function collectFunction(d: AstNode) {
    const body = d.inner?.find((c) => c.kind === "CompoundStmt");
    if (!body || !d.name) return;
    const begin = beginOf(d)!, bodyBegin = beginOf(body)!, end = endOf(d)!;
    const fnType = d.type?.qualType ?? "";
    const variadic = !!d.variadic || /\.\.\.\)$/.test(fnType);
    const parms = (d.inner ?? []).filter((c) => c.kind === "ParmVarDecl");
    const canonicalSignature = tu.canon.signature(fnType, parms.map((p) => p.type?.qualType ?? ""), variadic);
    const meaning = meaningOf(d);
    const decls = declsByName.get(d.name) ?? [];
    const inlineOnly = d.storageClass !== "static" && (dialect.gnu89Inline
      ? !!d.inline && d.storageClass === "extern"
      : decls.every((t) => !!t.inline && t.storageClass !== "extern"));
    const fn: TuFunction = {
      node: d, name: d.name, isStatic: d.storageClass === "static", variadic, inlineOnly,
      signature: fnType, canonicalSignature, returnsVoid: /^void\s*\(/.test(fnType),
      params: parms.map((p) => p.name ?? ""),
      pos: posOf(d), endLine: lines.position(end - 1).line, body, begin, bodyBegin, end,
      fingerprint: sha256(normaliseCode(canonicalSignature + " " + slice(bodyBegin, end)) + meaning),
      stableFingerprint: sha256(normaliseCode(canonicalSignature + " " + stableSlice(begin, end)) + meaning),
    };
    tu.functions.push(fn);
    walkFunction(body, fn);
  }

  function walkFunction(n: AstNode, fn: TuFunction) {
    for (const c of n.inner ?? []) {
      if (c.kind === "DeclStmt") {
        for (const v of c.inner ?? []) {
          if (v.kind === "VarDecl" && v.storageClass === "static") {
            tu.staticLocals.push({ node: v, name: v.name ?? "", isStatic: true, ...(v.tls ? { threadLocal: true } : {}), pos: posOf(v), type: v.type?.qualType ?? "", canon: tu.canon.canonical(v.type?.qualType ?? ""), fn, declStmt: c });
          }
        }
      }
      if (c.kind === "CallExpr") {
        const callee = stripCasts(c.inner?.[0]);
        if (callee?.kind === "DeclRefExpr" && callee.referencedDecl?.name === "grt_update_point" && c.inner?.[1]) {
          tu.updatePoints.push({ call: c, arg: c.inner[1], pos: posOf(c), fn });
        }
      }
      walkFunction(c, fn);
    }
  }

  function collectRecord(r: AstNode, owner: AstNode) {
    if (!r.completeDefinition) return;
    const kind = r.tagUsed === "union" ? "union" : "struct";
    const tdName = tu.typedefOfAnon.get(r.id);
    const key = r.name ?? tdName;
    const pos = posOf(r);
    const fields: TuField[] = [];
    const fixed: { reason: string; pos: SourcePosition }[] = [];
    let flexible: TuFlexible | undefined;
    const decls: string[] = [];
    let spellable = true;
    const members = (r.inner ?? []).filter((f) => f.kind === "FieldDecl");
    for (const f of r.inner ?? []) {
      if (f.kind === "FieldDecl") {
        const canon = tu.canon.canonical(f.type?.qualType ?? "");
        tu.fieldOwner.set(f.id, r.id);
        // `T x[0]` (GNU) is spelled `T x[]` in the canonical type: both are flexible array members.
        if (/\[\]$/.test(canon) && f === members[members.length - 1] && f.name) {
          const type = f.type?.qualType ?? "";
          const fb = beginOf(f)!, semi = text.indexOf(";", endOf(f)!);
          flexible = { name: f.name, type, element: type.replace(/\s*\[[^\]]*\]/, "").trim(), range: [fb, semi + 1] };
          continue;
        }
        fields.push({ name: f.name ?? "", type: f.type?.qualType ?? "", canon, line: posOf(f).line });
        const spelled = f.type?.desugaredQualType && !/\((unnamed|anonymous)/.test(f.type.desugaredQualType) ? f.type.desugaredQualType : f.type?.qualType ?? "";
        const width = f.isBitfield ? (f.inner?.[0] as { value?: string } | undefined)?.value : undefined;
        if (!f.name || /\((unnamed|anonymous)/.test(spelled) || (f.isBitfield && width === undefined)) spellable = false;
        decls.push(`__typeof__(${spelled}) ${f.name}${width !== undefined ? ` : ${width}` : ""};`);
      } else if (f.kind === "RecordDecl") {
        fixed.push({ reason: "defines another struct or union inside its body", pos: posOf(f) });
      } else if (/Attr$/.test(f.kind) && /Packed|Aligned/.test(f.kind)) {
        fixed.push({ reason: "has a layout attribute (packed or aligned)", pos });
      }
    }
    if (!key) return; // anonymous and not typedef'd: nothing can name it, so nothing to patch
    if (kind === "union") fixed.push({ reason: "unions are not wrapped (their members share storage with the version field's room)", pos });
    const b = beginOf(r)!;
    const openBrace = text.indexOf("{", b);
    const closeBrace = endOf(r)! - 1;
    const spelling = r.name ? `${kind} ${r.name}` : tdName!;
    const layoutKey = tu.canon.recordKey(r, { names: false });
    // A declaration that declares the flexible member with others (`int n, x[];`) cannot lose it alone.
    if (flexible && text.subarray(flexible.range[0], flexible.range[1]).toString().includes(",")) {
      fixed.push({ reason: `declares its flexible array member '${flexible.name}' together with other fields`, pos });
    }
    const rec: TuRecord = {
      node: r, key, kind, spelling, pos, owner, fields, layoutKey, openBrace, closeBrace, fixed,
      ...(flexible ? { flexible } : {}), ...(spellable && decls.length ? { dataBody: `{ ${decls.join(" ")} }` } : {}),
    };
    tu.records.push(rec);
    tu.recordsById.set(r.id, rec);
  }

}


/**
 * Whether a declaration is the program's: decided by where its name is, not
 * where its first token is. gcc marks tokens that a system header's macro
 * expands to (stdbool.h's `bool` -> `_Bool`) as system-header text in the
 * middle of the program's own declaration.
 */
export function isProgramDecl(lines: LineMap, n: AstNode): boolean {
  const at = nameOffset(n) ?? beginOf(n);
  if (at === undefined) return false;
  const p = lines.position(at);
  return !p.system && !p.file.startsWith("<");
}

/** Offset of a declaration's name (clang's `loc`), when it has one. */
export function nameOffset(n: AstNode): number | undefined {
  const l = n.loc;
  return l?.offset ?? l?.spellingLoc?.offset ?? l?.expansionLoc?.offset;
}

/** Strips implicit casts and parentheses. */
export function stripCasts(n: AstNode | undefined): AstNode | undefined {
  while (n && (n.kind === "ImplicitCastExpr" || n.kind === "ParenExpr")) n = n.inner?.[0];
  return n;
}
