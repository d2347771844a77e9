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

export interface TuFunction {
  node: AstNode;
  name: string;
  isStatic: boolean;
  variadic: boolean;
  signature: string;
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
  fields: { name: string; type: string; line: number }[];
  openBrace: number;
  closeBrace: number; // offset of `}`
  fixed: { reason: string; pos: SourcePosition }[];
}

export interface TuGlobal {
  node: AstNode;
  name: string;
  isStatic: boolean;
  pos: SourcePosition;
  type: string;
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

export function scanTranslationUnit(source: string, text: Buffer, root: AstNode, where: { absolute: string; sourceRoot: string }, stableText?: Buffer): TranslationUnit {
  const lines = new LineMap(text);
  const stableLines = (stableText ?? text).toString("utf8").split("\n");
  const physLine = (offset: number) => lines.physicalLine(offset);
  const tu: TranslationUnit = {
    source, text, lines, root, stem: stemOf(where.absolute, where.sourceRoot),
    functions: [], records: [], recordsById: new Map(), fieldOwner: new Map(), typedefOfAnon: new Map(),
    globals: [], staticLocals: [], updatePoints: [], extractedBodies: new Map(), parents: new Map(), diagnostics: [],
  };
  const slice = (a: number, b: number) => text.subarray(a, b).toString("utf8");
  const posOf = (n: AstNode): SourcePosition => lines.position(beginOf(n) ?? 0);
  const isOwn = (n: AstNode) => {
    const b = beginOf(n);
    if (b === undefined) return false;
    const p = lines.position(b);
    return !p.system && !p.file.startsWith("<");
  };

  // Parent links, for "is this reference the callee of a call" questions.
  const link = (n: AstNode) => {
    for (const c of n.inner ?? []) { tu.parents.set(c, n); link(c); }
  };
  link(root);

  const top = root.inner ?? [];
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
      tu.globals.push({ node: d, name: d.name ?? "", isStatic: d.storageClass === "static", pos: posOf(d), type: d.type?.qualType ?? "" });
    }
  }
  extractLoops();
  return tu;

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
        node: body, name: `${holder.name}__loop${k}`, isStatic: true, variadic: false,
        signature: "int (void *)", returnsVoid: false, params: ["__graft_env"], pos: posOf(body),
        endLine: lines.position(e - 1).line, body, begin: b, bodyBegin: b, end: e,
        fingerprint: sha256(normaliseCode(slice(b, e))),
        stableFingerprint: sha256(normaliseCode(stableLines.slice(physLine(b), physLine(e) + 1).join("\n"))),
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
      holder.fingerprint = sha256(normaliseCode(holder.signature + " " + text));
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
    const fn: TuFunction = {
      node: d, name: d.name, isStatic: d.storageClass === "static", variadic: !!d.variadic || /\.\.\.\)$/.test(fnType),
      signature: fnType, returnsVoid: /^void\s*\(/.test(fnType),
      params: (d.inner ?? []).filter((c) => c.kind === "ParmVarDecl").map((p) => p.name ?? ""),
      pos: posOf(d), endLine: lines.position(end - 1).line, body, begin, bodyBegin, end,
      fingerprint: sha256(normaliseCode(fnType + " " + slice(bodyBegin, end))),
      stableFingerprint: sha256(normaliseCode(fnType + " " + stableLines.slice(physLine(begin), physLine(end) + 1).join("\n"))),
    };
    tu.functions.push(fn);
    walkFunction(body, fn);
  }

  function walkFunction(n: AstNode, fn: TuFunction) {
    for (const c of n.inner ?? []) {
      if (c.kind === "DeclStmt") {
        for (const v of c.inner ?? []) {
          if (v.kind === "VarDecl" && v.storageClass === "static") {
            tu.staticLocals.push({ node: v, name: v.name ?? "", isStatic: true, pos: posOf(v), type: v.type?.qualType ?? "", fn, declStmt: c });
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
    const fields: { name: string; type: string; line: number }[] = [];
    const fixed: { reason: string; pos: SourcePosition }[] = [];
    for (const f of r.inner ?? []) {
      if (f.kind === "FieldDecl") {
        fields.push({ name: f.name ?? "", type: f.type?.qualType ?? "", line: posOf(f).line });
        tu.fieldOwner.set(f.id, r.id);
        if (/\[\]$/.test(f.type?.qualType ?? "")) fixed.push({ reason: `has a flexible array member '${f.name}': a variable-size object cannot grow in place`, pos: posOf(f) });
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
    const rec: TuRecord = { node: r, key, kind, spelling, pos, owner, fields, openBrace, closeBrace, fixed };
    tu.records.push(rec);
    tu.recordsById.set(r.id, rec);
  }

}


/** Strips implicit casts and parentheses. */
export function stripCasts(n: AstNode | undefined): AstNode | undefined {
  while (n && (n.kind === "ImplicitCastExpr" || n.kind === "ParenExpr")) n = n.inner?.[0];
  return n;
}
