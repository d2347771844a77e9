/**
 * The binder/checker of Graft: one walk over every function body with the
 * whole program in view. It records, in look-aside tables, which program
 * functions each function calls, which named types it uses concretely (and
 * where), which functions have their address taken, and why a type cannot be
 * wrapped. It never writes onto cfront's nodes.
 */
import type { AstNode } from "../cfront/clang-ast.js";
import { beginOf, endOf } from "../cfront/clang-ast.js";
import type { Program } from "../cfront/program.js";
import { pointeeKeyOf, typeKeyOf, unameOf } from "../cfront/program.js";
import type { TranslationUnit, TuFunction } from "../cfront/translation-unit.js";
import { stripCasts } from "../cfront/translation-unit.js";
import type { SourcePosition } from "../cfront/line-map.js";

/** One concrete use of a type, or one call, at a byte offset of the unit. */
export interface UseSite {
  offset: number;
  pos: SourcePosition;
}

export interface FunctionFacts {
  uname: string;
  fn: TuFunction;
  tu: TranslationUnit;
  calls: Map<string, UseSite[]>;
  typeUses: Map<string, UseSite[]>;
  /** Offsets of calls through function pointers. */
  indirectCalls: UseSite[];
  /** Globals (by version-data id) this function reads or writes. */
  globalUses: Map<string, UseSite[]>;
  /** Addresses of fields of named types taken here: the pointer may be used later without a field access. */
  fieldAliases: Map<string, UseSite[]>;
  /** [begin, end) byte ranges of the loops of this function, outermost first per nest. */
  loops: [number, number][];
}

export interface ProgramFacts {
  functions: Map<string, FunctionFacts>;
  /** Facts of main, which is not indirected but holds update points and calls. */
  mains: FunctionFacts[];
  addressTaken: Set<string>;
  fixed: Map<string, { reason: string; pos: SourcePosition }>;
  /**
   * Variadic functions whose address is stored by a static initialiser: they
   * have no stable entry, so the stored address is their first version's and
   * they can never be replaced.
   */
  pinned: Map<string, UseSite>;
  /** Types a pointer into whose fields is kept in a global, a struct or a return value: it may outlive any update. */
  escapingAliases: Map<string, UseSite>;
}

const IO_CALLS = new Set(["read", "write", "pread", "pwrite", "send", "recv", "sendto", "recvfrom", "fread", "fwrite", "readv", "writev"]);
const BYTE_COPIES = new Set(["memcpy", "memmove", "__builtin_memcpy", "__builtin_memmove", "__builtin___memcpy_chk", "__builtin___memmove_chk"]);

/** Resolves a reference to a function declaration to its program-unique name, if the program defines it. */
export function resolveFunction(program: Program, tu: TranslationUnit, name: string | undefined): string | undefined {
  if (!name || name === "main") return undefined;
  const local = tu.functions.find((f) => f.name === name && f.isStatic);
  if (local) return unameOf(local, tu);
  const ext = program.functions.get(name);
  return ext && !ext.fn.isStatic ? name : undefined;
}

export function collectFacts(program: Program): ProgramFacts {
  const facts: ProgramFacts = { functions: new Map(), mains: [], addressTaken: new Set(), fixed: new Map(), escapingAliases: new Map(), pinned: new Map() };
  const fix = (key: string | undefined, reason: string, pos: SourcePosition) => {
    if (key && !facts.fixed.has(key)) facts.fixed.set(key, { reason, pos });
  };

  for (const [key, defs] of program.types) {
    for (const { rec } of defs) for (const f of rec.fixed) fix(key, f.reason, f.pos);
    // By layout, not text: two files may rename private fields by macro (vsftpd's str.c), which is one type.
    const layouts = new Set(defs.map((d) => d.rec.layoutKey));
    if (layouts.size > 1) fix(key, `is defined with different layouts in two files (${defs[0].rec.pos.file} and ${defs.find((d) => d.rec.layoutKey !== defs[0].rec.layoutKey)!.rec.pos.file})`, defs[0].rec.pos);
  }

  for (const tu of program.units) {
    const pos = (n: AstNode) => tu.lines.position(beginOf(n) ?? 0);
    const site = (n: AstNode): UseSite => ({ offset: beginOf(n) ?? 0, pos: pos(n) });
    // Declarations of program globals in this unit, by AST id -> version-data id.
    const globalIds = new Map<string, string>();
    for (const d of tu.root.inner ?? []) {
      if (d.kind === "VarDecl" && d.name && d.storageClass !== "static") globalIds.set(d.id, d.name);
    }
    for (const g of tu.globals) globalIds.set(g.node.id, g.isStatic ? `__graft_s_${tu.stem}__${g.name}` : g.name);
    for (const g of tu.staticLocals) globalIds.set(g.node.id, `__graft_sl_${tu.stem}__${g.fn!.name}__${g.name}`);
    const add = (m: Map<string, UseSite[]>, k: string, s: UseSite) => m.set(k, [...(m.get(k) ?? []), s]);

    for (const fn of tu.functions) {
      const ff: FunctionFacts = { uname: fn.name === "main" ? "main" : unameOf(fn, tu), fn, tu, calls: new Map(), typeUses: new Map(), indirectCalls: [], loops: [], globalUses: new Map(), fieldAliases: new Map() };
      if (fn.name === "main") facts.mains.push(ff); else facts.functions.set(ff.uname, ff);
      walk(fn.body, ff);
    }
    for (const g of tu.globals) walk(g.node, undefined);

    function use(ff: FunctionFacts | undefined, key: string | undefined, n: AstNode) {
      if (!ff || !key) return;
      const list = ff.typeUses.get(key) ?? [];
      list.push(site(n));
      ff.typeUses.set(key, list);
    }

    function walk(n: AstNode, ff: FunctionFacts | undefined) {
      const extracted = tu.extractedBodies.get(n);
      if (ff && extracted && extracted !== ff.fn) {
        // The holder calls its extracted loop body, through the slot, where the body was.
        const u = unameOf(extracted, tu);
        ff.calls.set(u, [...(ff.calls.get(u) ?? []), site(n)]);
        return;
      }
      switch (n.kind) {
        case "DeclRefExpr": {
          if (n.referencedDecl?.kind === "VarDecl" && ff && globalIds.has(n.referencedDecl.id)) add(ff.globalUses, globalIds.get(n.referencedDecl.id)!, site(n));
          if (n.referencedDecl?.kind !== "FunctionDecl") break;
          const uname = resolveFunction(program, tu, n.referencedDecl.name);
          if (!uname) break;
          if (isCallee(tu, n)) {
            if (ff) {
              const list = ff.calls.get(uname) ?? [];
              list.push(site(n));
              ff.calls.set(uname, list);
            }
          } else {
            facts.addressTaken.add(uname);
            if (program.functions.get(uname)?.fn.variadic && inStaticInitialiser(tu, n) && !facts.pinned.has(uname)) facts.pinned.set(uname, site(n));
          }
          break;
        }
        case "CallExpr": {
          const callee = stripCasts(n.inner?.[0]);
          // A call through a pointer variable is a DeclRefExpr too, but not to a function.
          if (callee?.kind !== "DeclRefExpr" || callee.referencedDecl?.kind !== "FunctionDecl") ff?.indirectCalls.push(site(n));
          else {
            const name = callee.referencedDecl?.name ?? "";
            const keys = (n.inner?.slice(1) ?? []).map((a) => {
              const arg = stripCasts(a);
              if (!arg) return undefined;
              return pointeeKeyOf(tu, arg.type, program) ??
                (arg.kind === "UnaryOperator" && arg.opcode === "&" ? typeKeyOf(tu, arg.inner?.[0]?.type, program) : undefined);
            });
            if (IO_CALLS.has(name)) {
              for (const key of keys) fix(key, `is sent through ${name}() as raw bytes`, pos(n));
            } else if (BYTE_COPIES.has(name) && keys[0] !== keys[1]) {
              // Copying between two values of one type copies the version with the data; anything else is raw bytes.
              for (const key of keys.slice(0, 2)) fix(key, `is copied with ${name}() from or to other bytes (raw bytes)`, pos(n));
            } else if (name === "free") {
              // Freeing a value is a use: out-of-line data must be freed with it.
              use(ff, keys[0], n);
            }
          }
          break;
        }
        case "MemberExpr": {
          const owner = n.referencedMemberDecl ? tu.fieldOwner.get(n.referencedMemberDecl) : undefined;
          const rec = owner ? tu.recordsById.get(owner) : undefined;
          use(ff, rec?.key, n);
          break;
        }
        case "UnaryOperator": {
          if (n.opcode !== "&") break;
          const m = stripCasts(n.inner?.[0]);
          if (m?.kind !== "MemberExpr") break;
          const owner = m.referencedMemberDecl ? tu.fieldOwner.get(m.referencedMemberDecl) : undefined;
          const key = owner ? tu.recordsById.get(owner)?.key : undefined;
          if (!key) break;
          if (ff) add(ff.fieldAliases, key, site(n));
          if (escapes(n) && !facts.escapingAliases.has(key)) facts.escapingAliases.set(key, site(n));
          break;
        }
        case "InitListExpr":
        case "CompoundLiteralExpr":
          use(ff, typeKeyOf(tu, n.type, program), n);
          break;
        case "UnaryExprOrTypeTraitExpr":
          use(ff, typeKeyOf(tu, n.argType, program) ?? typeKeyOf(tu, n.inner?.[0]?.type, program), n);
          break;
        case "VarDecl":
          use(ff, typeKeyOf(tu, n.type, program), n);
          break;
        case "OffsetOfExpr": {
          // Line markers of the expansion may sit between the macro's parts: drop them first.
          const text = tu.text.subarray(beginOf(n) ?? 0, endOf(n) ?? 0).toString().replace(/^#.*$/gm, " ");
          const m = /offsetof\s*\(\s*((?:struct|union)\s+\w+|\w+)/.exec(text);
          if (m) fix(typeKeyOf(tu, { qualType: m[1] }, program), "is used with offsetof (its layout is relied on)", pos(n));
          break;
        }
        case "CStyleCastExpr": {
          const to = n.type?.qualType ?? "";
          // The operand as converted (an array has decayed to a pointer), not as written.
          const operand = n.inner?.[0];
          const from = operand?.type?.qualType ?? "";
          const toKey = pointeeKeyOf(tu, n.type, program);
          const fromKey = pointeeKeyOf(tu, operand?.type, program) ?? pointeeKeyOf(tu, stripCasts(operand)?.type, program);
          const isVoidPtr = (t: string) => /^(const\s+)?void\s*\*$/.test(t.trim());
          if (toKey && fromKey !== toKey && from.includes("*") && !isVoidPtr(from)) fix(toKey, `is made by a cast from '${from}' (raw bytes)`, pos(n));
          if (fromKey && toKey !== fromKey && to.includes("*") && !isVoidPtr(to)) fix(fromKey, `is cast to '${to}' and read as raw bytes`, pos(n));
          break;
        }
        case "WhileStmt":
        case "ForStmt":
        case "DoStmt":
          if (ff) ff.loops.push([beginOf(n) ?? 0, endOf(n) ?? 0]);
          break;
      }
      for (const c of n.inner ?? []) walk(c, ff);
    }
  }

  /**
   * Whether the address computed by `n` is kept beyond the statement: stored
   * into a global, a struct field or through a pointer, or returned. Kept in a
   * local or passed to a call, it lives only while its function runs.
   */
  function escapes(n: AstNode): boolean {
    const tu = program.units.find((u) => u.parents.has(n))!;
    let child = n;
    let p = tu.parents.get(n);
    while (p && (p.kind === "ImplicitCastExpr" || p.kind === "CStyleCastExpr" || p.kind === "ParenExpr")) { child = p; p = tu.parents.get(p); }
    if (!p) return false;
    if (p.kind === "ReturnStmt") return true;
    if (p.kind === "VarDecl") return p.storageClass === "static" || !tu.functions.some((f) => (beginOf(f.body) ?? 0) <= (beginOf(p) ?? 0) && (beginOf(p) ?? 0) < f.end);
    if ((p.kind === "BinaryOperator" && p.opcode === "=") && p.inner?.[1] === child) {
      const lhs = stripCasts(p.inner?.[0]);
      if (lhs?.kind === "DeclRefExpr") return lhs.referencedDecl?.kind === "VarDecl" && tu.root.inner?.some((d) => d.id === lhs.referencedDecl?.id) === true;
      return true; // a field, an array element or *p
    }
    return p.kind === "InitListExpr";
  }

  // A type held by value inside a fixed type is fixed too: its bytes are part of that layout.
  let grew = true;
  while (grew) {
    grew = false;
    for (const [key, defs] of program.types) {
      if (!facts.fixed.has(key)) continue;
      for (const f of defs[0].rec.fields) {
        const inner = typeKeyOf(defs[0].tu, { qualType: f.type.replace(/\[[^\]]*\]/g, "").trim() }, program);
        if (inner && !facts.fixed.has(inner)) {
          facts.fixed.set(inner, { reason: `is held by value in ${defs[0].rec.spelling}, which is fixed`, pos: defs[0].rec.pos });
          grew = true;
        }
      }
    }
  }
  return facts;
}

/** Whether a node is inside the initialiser of static storage (a file-scope or static local variable): a constant expression. */
export function inStaticInitialiser(tu: TranslationUnit, n: AstNode): boolean {
  for (let p = tu.parents.get(n); p; p = tu.parents.get(p)) {
    if (p.kind === "FunctionDecl") return false;
    if (p.kind === "VarDecl") return p.storageClass === "static" || (tu.root.inner ?? []).includes(p);
  }
  return false;
}

/** True when a DeclRefExpr is the callee of a call (through the implicit function-to-pointer decay). */
export function isCallee(tu: TranslationUnit, ref: AstNode): boolean {
  let child = ref;
  let p = tu.parents.get(ref);
  while (p && (p.kind === "ImplicitCastExpr" || p.kind === "ParenExpr")) { child = p; p = tu.parents.get(p); }
  return !!p && p.kind === "CallExpr" && p.inner?.[0] === child;
}
