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
  /**
   * Fields whose address is kept beyond the statement that takes it (stored in
   * a global, a struct, through a pointer, returned, or given to a function
   * that may keep it), by type key: the pointer may outlive any update, so a
   * patch must keep each such field where it is (escape.ts says how).
   */
  escapingFields: Map<string, EscapingField[]>;
}

/** One field whose address is kept, with the first place that keeps it. */
export interface EscapingField {
  field: string;
  site: UseSite;
  /** The expression that keeps it, as written (`msg->msg_name = &c->request_addr`). */
  what: string;
}

const IO_CALLS = new Set(["read", "write", "pread", "pwrite", "send", "recv", "sendto", "recvfrom", "fread", "fwrite", "readv", "writev"]);
/** Library functions that use a pointer argument only while they run. */
const KEEPS_NOTHING = new Set([
  "memset", "memcmp", "strlen", "strnlen", "strcmp", "strncmp", "strcasecmp", "strncasecmp", "strcoll", "strspn", "strcspn", "strdup", "strndup",
  "printf", "fprintf", "sprintf", "snprintf", "vprintf", "vfprintf", "vsprintf", "vsnprintf", "dprintf", "puts", "fputs", "fputc", "putc",
  "scanf", "sscanf", "fscanf", "fgets", "getline", "read", "write", "pread", "pwrite", "readv", "writev", "recv", "send", "recvfrom", "sendto",
  "recvmsg", "sendmsg", "fread", "fwrite", "open", "openat", "stat", "fstat", "lstat", "access", "unlink", "rename", "mkdir", "chdir",
  "accept", "bind", "connect", "getsockname", "getpeername", "getsockopt", "setsockopt", "inet_ntop", "inet_pton", "inet_aton", "getaddrinfo",
  "gettimeofday", "time", "clock_gettime", "localtime_r", "gmtime_r", "strftime", "strtol", "strtoul", "strtoll", "strtoull", "strtod", "atoi", "atol",
  "qsort", "bsearch", "free", "sigaction", "sigemptyset", "sigaddset", "sigprocmask", "pipe", "socketpair", "poll", "select", "epoll_ctl", "epoll_wait",
  "getrlimit", "setrlimit", "uname", "gethostname", "realpath", "crypt", "syslog", "perror",
]);
/** Library functions that return (a pointer into) an argument: the result is followed instead. */
const RETURNS_ARGUMENT = new Set(["memcpy", "memmove", "strcpy", "strncpy", "strcat", "strncat", "memchr", "strchr", "strrchr", "strstr", "strpbrk", "strtok", "strtok_r", "stpcpy", "__builtin_memcpy", "__builtin_memmove", "__builtin___memcpy_chk", "__builtin___memmove_chk", "__builtin___strcpy_chk", "__builtin___strncpy_chk"]);
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
  const facts: ProgramFacts = { functions: new Map(), mains: [], addressTaken: new Set(), fixed: new Map(), escapingFields: new Map(), pinned: new Map() };
  /** References to each declaration, by function: built once per function that a pointer is followed into. */
  const refIndex = new Map<TuFunction, Map<string, AstNode[]>>();
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
        case "UnaryOperator":
          if (n.opcode === "&") fieldAddress(n, n.inner?.[0], ff);
          break;
        case "ImplicitCastExpr":
          // An array field decays to a pointer into the struct (`char *name = s->name;`).
          if (n.castKind === "ArrayToPointerDecay" && stripCasts(n.inner?.[0])?.kind === "MemberExpr" && tu.parents.get(n)?.kind !== "ArraySubscriptExpr") fieldAddress(n, n.inner?.[0], ff);
          break;
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

  /** The address `n` of the field(s) in `operand` is taken: a local alias, or one that is kept. */
  function fieldAddress(n: AstNode, operand: AstNode | undefined, ff: FunctionFacts | undefined) {
    const tu = unitOf(n);
    const fields = fieldsUnder(tu, operand);
    if (!fields.length) return;
    const kept = escapes(tu, n, new Set());
    const where: UseSite = { offset: beginOf(n) ?? 0, pos: tu.lines.position(beginOf(n) ?? 0) };
    // A decayed array used on the spot (an argument, an operand) is no alias; `&f` and a stored one are.
    const held = n.kind === "UnaryOperator" || kept || ["VarDecl", "BinaryOperator"].includes(parentPast(tu, n)?.kind ?? "");
    for (const { key, field } of fields) {
      if (ff && held) ff.fieldAliases.set(key, [...(ff.fieldAliases.get(key) ?? []), where]);
      if (!kept) continue;
      const list = facts.escapingFields.get(key) ?? [];
      if (!list.some((e) => e.field === field)) list.push({ field, site: where, what: statementText(tu, n) });
      facts.escapingFields.set(key, list);
    }
  }

  function parentPast(tu: TranslationUnit, n: AstNode): AstNode | undefined {
    let p = tu.parents.get(n);
    while (p && (p.kind === "ImplicitCastExpr" || p.kind === "CStyleCastExpr" || p.kind === "ParenExpr")) p = tu.parents.get(p);
    return p;
  }

  function unitOf(n: AstNode): TranslationUnit {
    return program.units.find((u) => u.parents.has(n))!;
  }

  /**
   * Whether the pointer computed by `n` is kept beyond the statement: stored
   * into a global, a static, a struct field, an array element or through a
   * pointer; returned; put in an initialiser list; or given to a function that
   * may keep it. A local that holds it is followed: if the local is kept, so
   * is the pointer.
   */
  function escapes(tu: TranslationUnit, n: AstNode, seen: Set<string>): boolean {
    let child = n;
    let p = tu.parents.get(n);
    while (p && (p.kind === "ImplicitCastExpr" || p.kind === "CStyleCastExpr" || p.kind === "ParenExpr")) { child = p; p = tu.parents.get(p); }
    if (!p) return false;
    switch (p.kind) {
      case "ReturnStmt":
      case "InitListExpr":
        return true;
      case "VarDecl": {
        const fn = enclosingFunction(tu, p);
        if (p.storageClass === "static" || !fn) return true;
        return localEscapes(tu, fn, p.id, seen);
      }
      case "BinaryOperator": {
        // Pointer arithmetic gives another pointer into the same field.
        if ((p.opcode === "+" || p.opcode === "-") && (p.type?.qualType ?? "").includes("*")) return escapes(tu, p, seen);
        if (p.opcode === "," && p.inner?.[1] === child) return escapes(tu, p, seen);
        if (p.opcode !== "=" || p.inner?.[1] !== child) return false;
        const lhs = stripCasts(p.inner?.[0]);
        if (lhs?.kind === "DeclRefExpr" && lhs.referencedDecl?.kind === "VarDecl") {
          const fn = enclosingFunction(tu, p);
          const global = tu.root.inner?.some((d) => d.id === lhs.referencedDecl?.id) === true;
          return global || !fn || localEscapes(tu, fn, lhs.referencedDecl.id, seen);
        }
        if (lhs?.kind === "DeclRefExpr" && lhs.referencedDecl?.kind === "ParmVarDecl") {
          const fn = enclosingFunction(tu, p);
          return !fn || localEscapes(tu, fn, lhs.referencedDecl.id, seen);
        }
        return true; // a field, an array element or *p
      }
      case "ConditionalOperator":
        return p.inner?.[0] !== child && escapes(tu, p, seen);
      case "UnaryOperator":
        return p.opcode === "&"; // the holder's own address: anything may reach the pointer through it
      case "CompoundAssignOperator":
        return false;
      case "CallExpr": {
        if (p.inner?.[0] === child) return false;
        const callee = stripCasts(p.inner?.[0]);
        const name = callee?.kind === "DeclRefExpr" && callee.referencedDecl?.kind === "FunctionDecl" ? callee.referencedDecl.name ?? "" : "";
        if (RETURNS_ARGUMENT.has(name)) return escapes(tu, p, seen);
        if (KEEPS_NOTHING.has(name)) return false;
        const uname = resolveFunction(program, tu, name);
        const def = uname ? program.functions.get(uname) : undefined;
        if (!def) return true; // called through a pointer, or a library function that may keep it (libevent's event_set)
        const index = (p.inner ?? []).indexOf(child) - 1;
        const param = (def.fn.node.inner ?? []).filter((c) => c.kind === "ParmVarDecl")[index];
        return !param || localEscapes(def.tu, def.fn, param.id, seen);
      }
      default:
        return false;
    }
  }

  /** Whether a local or parameter (by declaration id) of `fn` is ever kept beyond its function, at any of its uses. */
  function localEscapes(tu: TranslationUnit, fn: TuFunction, declId: string, seen: Set<string>): boolean {
    if (seen.has(declId)) return false; // already being followed: its other uses decide
    seen.add(declId);
    return refsTo(fn, declId).some((r) => {
      // `p->f` or `*p` reads through it, `p + 1` is another pointer to follow.
      const parent = tu.parents.get(r);
      if (parent?.kind === "ImplicitCastExpr" && parent.castKind === "LValueToRValue") return escapes(tu, parent, seen);
      return parent?.kind === "UnaryOperator" && parent.opcode === "&";
    });
  }

  function refsTo(fn: TuFunction, declId: string): AstNode[] {
    let index = refIndex.get(fn);
    if (!index) {
      index = new Map();
      const visit = (n: AstNode) => {
        if (n.kind === "DeclRefExpr" && n.referencedDecl) index!.set(n.referencedDecl.id, [...(index!.get(n.referencedDecl.id) ?? []), n]);
        for (const c of n.inner ?? []) if (c) visit(c);
      };
      visit(fn.body);
      refIndex.set(fn, index);
    }
    return index.get(declId) ?? [];
  }

  function enclosingFunction(tu: TranslationUnit, n: AstNode): TuFunction | undefined {
    const at = beginOf(n) ?? -1;
    return tu.functions.find((f) => !f.extracted && (beginOf(f.body) ?? 0) <= at && at < f.end);
  }

  /** The (type, field) pairs an lvalue's address points into: `c->a.b` is in conn's `a` and in a's `b`. */
  function fieldsUnder(tu: TranslationUnit, e: AstNode | undefined): { key: string; field: string }[] {
    const out: { key: string; field: string }[] = [];
    for (let cur = stripCasts(e); cur;) {
      if (cur.kind === "MemberExpr") {
        const owner = cur.referencedMemberDecl ? tu.fieldOwner.get(cur.referencedMemberDecl) : undefined;
        const key = owner ? tu.recordsById.get(owner)?.key : undefined;
        if (key && cur.name) out.push({ key, field: cur.name });
        if (cur.isArrow) break;
        cur = stripCasts(cur.inner?.[0]);
      } else if (cur.kind === "ArraySubscriptExpr") {
        const base = cur.inner?.[0];
        if (base?.kind !== "ImplicitCastExpr" || base.castKind !== "ArrayToPointerDecay") break;
        cur = stripCasts(base.inner?.[0]);
      } else break;
    }
    return out;
  }

  function statementText(tu: TranslationUnit, n: AstNode): string {
    let s = n;
    for (let p = tu.parents.get(s); p && !/Stmt$|^VarDecl$/.test(p.kind) && p.kind !== "CompoundStmt"; p = tu.parents.get(p)) s = p;
    const stmt = tu.parents.get(s)?.kind === "VarDecl" ? tu.parents.get(s)! : s;
    return tu.text.subarray(beginOf(stmt) ?? 0, endOf(stmt) ?? 0).toString("utf8").replace(/^#.*$/gm, " ").replace(/\s+/g, " ").trim().slice(0, 120);
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
