/**
 * The binder/checker of Graft: one walk over every function body with the
 * whole program in view. It records, in look-aside tables, which program
 * functions each function calls, which named types it uses concretely (and
 * where), which functions have their address taken, and why a type cannot be
 * wrapped. It never writes onto cfront's nodes.
 */
import { mayCallBack } from "./callbacks.js";
import type { AstNode } from "../cfront/clang-ast.js";
import { beginOf, endOf } from "../cfront/clang-ast.js";
import type { Program } from "../cfront/program.js";
import { pointeeKeyOf, typeKeyOf, unameOf } from "../cfront/program.js";
import type { TranslationUnit, TuFunction } from "../cfront/translation-unit.js";
import { stripCasts } from "../cfront/translation-unit.js";
import type { SourcePosition } from "../cfront/line-map.js";
import { heldCalls, type HeldCall } from "./held-calls.js";

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
  /** Functions called here that the program does not define (the C library's, other libraries'). */
  externalCalls: Set<string>;
  /** Calls of those that may call back into the program before they return (callbacks.ts): like calls through pointers. */
  callbackCalls: UseSite[];
  /** Globals (by version-data id) this function reads or writes. */
  globalUses: Map<string, UseSite[]>;
  /** Addresses of fields of named types taken here: the pointer may be used later without a field access. */
  fieldAliases: Map<string, UseSite[]>;
  /** [begin, end) byte ranges of the loops of this function, outermost first per nest. */
  loops: [number, number][];
  /** Call sites (callee offsets) run with updates held (held-calls.ts): no update happens under them. */
  held: Map<number, HeldCall>;
}

export interface ProgramFacts {
  functions: Map<string, FunctionFacts>;
  /** Facts of main, which is not indirected but holds update points and calls. */
  mains: FunctionFacts[];
  addressTaken: Set<string>;
  /** Functions of the program started as threads: the start routine given to pthread_create, and where. */
  threadEntries: Map<string, SourcePosition>;
  fixed: Map<string, { reason: string; pos: SourcePosition }>;
  /**
   * Variadic functions whose address is stored by a static initialiser: they
   * have no stable entry, so the stored address is their first version's and
   * they can never be replaced.
   */
  pinned: Map<string, UseSite>;
  /**
   * The program's own allocation functions (git's xmalloc, redis's zmalloc):
   * every return gives a fresh block of malloc or calloc, directly or from a
   * local that holds one, or another such function's. A block of theirs made
   * into a wrapped type is stamped with its version like malloc's own.
   */
  allocators: Set<string>;
  /** Where values of each type are first copied whole (by value, or memcpy between two of them): copies would share data moved out of line. */
  copies: Map<string, { site: UseSite; what: string }>;
  /**
   * Fields whose address is kept beyond the statement that takes it (stored in
   * a global, a struct, through a pointer, returned, or given to a function
   * that may keep it), by type key: the pointer may outlive any update, so a
   * patch must keep each such field where it is (escape.ts says how).
   */
  escapingFields: Map<string, EscapingField[]>;
  /**
   * Globals (by version-data id) whose address is kept beyond the statement
   * that takes it (`static int *sink = &total;`, `char *cur = names;`), with
   * the first place that keeps it: the pointer may outlive any update, so the
   * global's storage may never move.
   */
  keptGlobals: Map<string, { site: UseSite; what: string }>;
}

/** A field's address taken at `n`, to be judged kept or not. */
interface PendingAddress { tu: TranslationUnit; n: AstNode; fields: { key: string; field: string }[]; ff: FunctionFacts | undefined }

/** A global's address (or a pointer into it) taken at `n`, to be judged kept or not. */
interface PendingGlobalAddress { tu: TranslationUnit; n: AstNode; id: string }

/** What a followed expression is: the kept pointer itself, or a pointer to memory that holds it. */
type Track = "value" | "pointsTo";

/** One field whose address is kept, with the first place that keeps it. */
export interface EscapingField {
  field: string;
  site: UseSite;
  /** The expression that keeps it, as written (`msg->msg_name = &c->request_addr`). */
  what: string;
}

const IO_CALLS = new Set(["read", "write", "pread", "pwrite", "send", "recv", "sendto", "recvfrom", "fread", "fwrite", "readv", "writev"]);
/** Library functions that use a pointer argument only while they run (not epoll_ctl: the kernel keeps `data.ptr`). */
const KEEPS_NOTHING = new Set([
  "memset", "memcmp", "strlen", "strnlen", "strcmp", "strncmp", "strcasecmp", "strncasecmp", "strcoll", "strspn", "strcspn", "strdup", "strndup",
  "printf", "fprintf", "sprintf", "snprintf", "vprintf", "vfprintf", "vsprintf", "vsnprintf", "dprintf", "puts", "fputs", "fputc", "putc",
  "scanf", "sscanf", "fscanf", "fgets", "getline", "read", "write", "pread", "pwrite", "readv", "writev", "recv", "send", "recvfrom", "sendto",
  "recvmsg", "sendmsg", "fread", "fwrite", "open", "openat", "stat", "fstat", "lstat", "access", "unlink", "rename", "mkdir", "chdir",
  "accept", "bind", "connect", "getsockname", "getpeername", "getsockopt", "setsockopt", "inet_ntop", "inet_pton", "inet_aton", "getaddrinfo",
  "gettimeofday", "time", "clock_gettime", "localtime_r", "gmtime_r", "strftime", "strtol", "strtoul", "strtoll", "strtoull", "strtod", "atoi", "atol",
  "qsort", "bsearch", "free", "sigaction", "sigemptyset", "sigaddset", "sigprocmask", "pipe", "socketpair", "poll", "select", "epoll_wait",
  "getrlimit", "setrlimit", "uname", "gethostname", "realpath", "crypt", "syslog", "perror",
]);
/** Library functions given a pointer and a size that do not read the bytes as data: they allocate, zero or move whole values. */
const SIZED_NOT_READ = new Set(["realloc", "reallocarray", "free", "memset", "__builtin_memset", "__builtin___memset_chk", "bzero", "explicit_bzero", "qsort", "bsearch", "lfind", "lsearch"]);
/** Library functions that return (a pointer into) an argument: the result is followed instead. */
const RETURNS_ARGUMENT = new Set(["memcpy", "memmove", "strcpy", "strncpy", "strcat", "strncat", "memchr", "strchr", "strrchr", "strstr", "strpbrk", "strtok", "strtok_r", "stpcpy", "__builtin_memcpy", "__builtin_memmove", "__builtin___memcpy_chk", "__builtin___memmove_chk", "__builtin___strcpy_chk", "__builtin___strncpy_chk"]);
const BYTE_COPIES = new Set(["memcpy", "memmove", "__builtin_memcpy", "__builtin_memmove", "__builtin___memcpy_chk", "__builtin___memmove_chk"]);

const staticFunctions = new WeakMap<TranslationUnit, Map<string, TuFunction>>();
/** The unit's static functions by name (the first of a name), built once per unit: references are resolved by the thousand. */
function staticsOf(tu: TranslationUnit): Map<string, TuFunction> {
  let m = staticFunctions.get(tu);
  if (!m) {
    m = new Map();
    for (const f of tu.functions) if (f.isStatic && !m.has(f.name)) m.set(f.name, f);
    staticFunctions.set(tu, m);
  }
  return m;
}

/** Resolves a reference to a function declaration to its program-unique name, if the program defines it. */
export function resolveFunction(program: Program, tu: TranslationUnit, name: string | undefined): string | undefined {
  if (!name || name === "main") return undefined;
  const local = staticsOf(tu).get(name);
  if (local) return unameOf(local, tu);
  return program.externByName.get(name);
}

/**
 * `libc`: the C library's functions (toolchain.ts libcExports); a call to any
 * other function the program does not define is taken to call back into it.
 */
export function collectFacts(program: Program, libc: ReadonlySet<string>): ProgramFacts {
  const facts: ProgramFacts = { functions: new Map(), mains: [], addressTaken: new Set(), threadEntries: new Map(), fixed: new Map(), escapingFields: new Map(), pinned: new Map(), allocators: new Set(), copies: new Map(), keptGlobals: new Map() };
  /** References to each declaration, by function: built once per function that a pointer is followed into. */
  const refIndex = new Map<TuFunction, Map<string, AstNode[]>>();
  const pendingAddresses: PendingAddress[] = [];
  const pendingGlobalAddresses: PendingGlobalAddress[] = [];
  /** Blocks that a call of the program returns and the caller makes into a type: judged once allocators are known. */
  const handedOut: { tu: TranslationUnit; call: AstNode; key: string }[] = [];
  /** Library functions whose address the program takes: a call through a pointer may reach them. */
  const libraryAddressTaken = new Set<string>();
  /** Every direct call of each program function, by uname: built once, when a return is first followed. */
  let callIndex: Map<string, { call: AstNode; tu: TranslationUnit }[]> | undefined;
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
      const ff: FunctionFacts = { uname: fn.name === "main" ? "main" : unameOf(fn, tu), fn, tu, calls: new Map(), typeUses: new Map(), indirectCalls: [], externalCalls: new Set(), callbackCalls: [], loops: [], globalUses: new Map(), fieldAliases: new Map(), held: new Map() };
      if (fn.name === "main") facts.mains.push(ff); else facts.functions.set(ff.uname, ff);
      walk(fn.body, ff);
    }
    for (const g of tu.globals) walk(g.node, undefined);

    /** Keys of pointer arguments converted to bytes (`void *`, `char *`) whose size the same call is given. */
    function rawBytes(call: AstNode, keys: (string | undefined)[]): string[] {
      const args = call.inner?.slice(1) ?? [];
      const sized = new Set<string>();
      const visit = (e: AstNode) => {
        if (e.kind === "UnaryExprOrTypeTraitExpr" && (e as { name?: string }).name === "sizeof") {
          const k = typeKeyOf(tu, e.argType, program) ?? typeKeyOf(tu, e.inner?.[0]?.type, program);
          if (k) sized.add(k);
        }
        for (const c of e.inner ?? []) if (c) visit(c);
      };
      for (const a of args) visit(a);
      return keys.filter((k, i): k is string => {
        if (!k || !sized.has(k)) return false;
        const param = (args[i]?.type?.qualType ?? "").replace(/\b(const|volatile|restrict)\b/g, "").replace(/\s+/g, "");
        return /^(void|char|unsignedchar|signedchar|uint8_t)\*$/.test(param);
      });
    }

    /** `n` takes the address of a global, or of a part of one (`&g`, `&g.f`, `&g[i]`, `g` decayed): judged once every unit is walked. */
    function globalAddress(n: AstNode, operand: AstNode | undefined) {
      let e = stripCasts(operand);
      while (e && ((e.kind === "MemberExpr" && !e.isArrow) || e.kind === "ArraySubscriptExpr")) e = stripCasts(e.inner?.[0]);
      const id = e?.kind === "DeclRefExpr" && e.referencedDecl?.kind === "VarDecl" ? globalIds.get(e.referencedDecl.id) : undefined;
      if (id) pendingGlobalAddresses.push({ tu, n, id });
    }

    /** `n` converts what a call returns to a pointer to a named type: a block the callee hands out, or a value it finds. */
    function blockFromCall(n: AstNode) {
      if (n.castKind !== "BitCast") return;
      const call = stripCasts(n.inner?.[0]);
      const key = call?.kind === "CallExpr" ? pointeeKeyOf(tu, n.type, program) : undefined;
      if (key) handedOut.push({ tu, call: call!, key });
    }

    function copied(key: string | undefined, n: AstNode) {
      if (key && !facts.copies.has(key)) facts.copies.set(key, { site: site(n), what: statementText(tu, n) });
    }

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
          if (!uname) {
            if (n.referencedDecl.name && n.referencedDecl.name !== "main" && !isCallee(tu, n)) libraryAddressTaken.add(n.referencedDecl.name);
            else if (ff && n.referencedDecl.name && isCallee(tu, n)) {
              ff.externalCalls.add(n.referencedDecl.name);
              if (mayCallBack(n.referencedDecl.name, libc)) ff.callbackCalls.push(site(n));
            }
            break;
          }
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
            if (name === "pthread_create") {
              // The start routine, as a name or its address (`&worker`), possibly cast.
              let start = stripCasts(n.inner?.[3]);
              if (start?.kind === "UnaryOperator" && start.opcode === "&") start = stripCasts(start.inner?.[0]);
              const u = start?.kind === "DeclRefExpr" && start.referencedDecl?.kind === "FunctionDecl" ? resolveFunction(program, tu, start.referencedDecl.name) : undefined;
              if (u && !facts.threadEntries.has(u)) facts.threadEntries.set(u, pos(n));
            }
            if (IO_CALLS.has(name)) {
              for (const key of keys) fix(key, `is sent through ${name}() as raw bytes`, pos(n));
            } else if (BYTE_COPIES.has(name) && keys[0] !== keys[1]) {
              // Copying between two values of one type copies the version with the data; anything else is raw bytes.
              for (const key of keys.slice(0, 2)) fix(key, `is copied with ${name}() from or to other bytes (raw bytes)`, pos(n));
            } else if (BYTE_COPIES.has(name) && keys[0]) {
              copied(keys[0], n);
            } else if (name === "free") {
              // Freeing a value is a use: out-of-line data must be freed with it.
              use(ff, keys[0], n);
            } else if (!SIZED_NOT_READ.has(name)) {
              // A pointer to a value given with its size (`memcmp(a, b, sizeof *a)`, `hash(&k, sizeof k)`) is read as
              // bytes: the version word and the room would be read too.
              for (const key of rawBytes(n, keys)) fix(key, `is read as raw bytes by ${name}() (given a pointer to it and its size)`, pos(n));
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
          if (n.opcode === "&") {
            fieldAddress(n, n.inner?.[0], ff);
            globalAddress(n, n.inner?.[0]);
          }
          break;
        case "ImplicitCastExpr":
          blockFromCall(n);
          // A whole struct read by value: a copy (`struct job j = *p;`, `*q = j;`, an argument, a return).
          if (n.castKind === "LValueToRValue") copied(typeKeyOf(tu, n.type, program), n);
          // An array field decays to a pointer into the struct (`char *name = s->name;`), an array global to one into its storage.
          if (n.castKind === "ArrayToPointerDecay" && tu.parents.get(n)?.kind !== "ArraySubscriptExpr") {
            if (stripCasts(n.inner?.[0])?.kind === "MemberExpr") fieldAddress(n, n.inner?.[0], ff);
            globalAddress(n, n.inner?.[0]);
          }
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
          blockFromCall(n);
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
    // Judged once every unit is walked: where a pointer may go depends on every address taken.
    if (fields.length) pendingAddresses.push({ tu, n, fields, ff });
  }

  function judgeFieldAddress({ tu, n, fields, ff }: PendingAddress) {
    const kept = escapes(tu, n, new Set());
    const where: UseSite = { offset: beginOf(n) ?? 0, pos: tu.lines.position(beginOf(n) ?? 0) };
    // A decayed array used on the spot (an argument, an operand) is no alias; `&f` and a stored one are.
    const held = n.kind === "UnaryOperator" || ["VarDecl", "BinaryOperator"].includes(parentPast(tu, n)?.kind ?? "");
    for (const { key, field } of fields) {
      // A kept address pins its field (escapingFields), which covers its every use; a local one makes the type used while its function runs.
      if (ff && held && !kept) ff.fieldAliases.set(key, [...(ff.fieldAliases.get(key) ?? []), where]);
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
   * Whether the pointer computed by `n` is kept beyond the statement. A value
   * is followed through the places it goes: a local or parameter that holds
   * it (its every use), a local struct's field (the struct's every use), a
   * pointer to such memory (what is read through it), a call of the
   * program's (the parameter, in the callee). It is kept when it reaches a
   * global, a static, the heap or any memory through a pointer, a return, or
   * a function that is not the program's and may keep it.
   *
   * `mode` says what `n` is: "value", the pointer itself; "pointsTo", a
   * pointer to memory that holds it.
   */
  function escapes(tu: TranslationUnit, n: AstNode, seen: Set<string>, mode: Track = "value"): boolean {
    let child = n;
    let p = tu.parents.get(n);
    while (p && (p.kind === "ImplicitCastExpr" || p.kind === "CStyleCastExpr" || p.kind === "ParenExpr")) { child = p; p = tu.parents.get(p); }
    if (!p) return false;
    switch (p.kind) {
      case "ReturnStmt":
        return returnEscapes(tu, p, seen, mode);
      case "InitListExpr": {
        let q: AstNode | undefined = p;
        while (q && q.kind === "InitListExpr") q = tu.parents.get(q);
        const fn = q?.kind === "VarDecl" && q.storageClass !== "static" ? enclosingFunction(tu, q) : undefined;
        return !fn || mode !== "value" || varEscapes(tu, fn, q!.id, "struct", seen);
      }
      case "VarDecl": {
        const fn = enclosingFunction(tu, p);
        if (p.storageClass === "static" || !fn) return true;
        return varEscapes(tu, fn, p.id, mode, seen);
      }
      case "BinaryOperator": {
        // Pointer arithmetic gives another pointer into the same memory.
        if ((p.opcode === "+" || p.opcode === "-") && (p.type?.qualType ?? "").includes("*")) return escapes(tu, p, seen, mode);
        if (p.opcode === "," && p.inner?.[1] === child) return escapes(tu, p, seen, mode);
        if (p.opcode !== "=" || p.inner?.[1] !== child) return false;
        return storedIn(tu, p, p.inner?.[0], mode, seen);
      }
      case "ConditionalOperator":
        return p.inner?.[0] !== child && escapes(tu, p, seen, mode);
      case "MemberExpr": {
        // Read through the pointer: only memory that holds the value gives it back.
        if (mode !== "pointsTo" || !p.isArrow) return false;
        return memberEscapes(tu, p, seen);
      }
      case "UnaryOperator":
        if (p.opcode === "*" && mode === "pointsTo") return memberEscapes(tu, p, seen);
        return false;
      case "CallExpr": {
        if (p.inner?.[0] === child) return false;
        const callee = stripCasts(p.inner?.[0]);
        const name = callee?.kind === "DeclRefExpr" && callee.referencedDecl?.kind === "FunctionDecl" ? callee.referencedDecl.name ?? "" : "";
        const index = (p.inner ?? []).indexOf(child) - 1;
        if (BYTE_COPIES.has(name)) return mode === "pointsTo" && index === 1 ? true : escapes(tu, p, seen, mode); // the copy holds it too
        if (RETURNS_ARGUMENT.has(name)) return escapes(tu, p, seen, mode);
        if (KEEPS_NOTHING.has(name)) return false;
        if (!name) {
          // Through a pointer: any function of the program whose address is taken, unless a library function's is too.
          if (libraryAddressTaken.size) return true;
          return [...facts.addressTaken].some((u) => paramEscapes(program.functions.get(u), index, mode, seen));
        }
        const uname = resolveFunction(program, tu, name);
        if (!uname) return true; // a library function that may keep it (libevent's event_set)
        return paramEscapes(program.functions.get(uname), index, mode, seen);
      }
      default:
        return false;
    }
  }

  /** A returned value goes wherever each call of the function puts it; a function called through a pointer may be called by anything. */
  function returnEscapes(tu: TranslationUnit, ret: AstNode, seen: Set<string>, mode: Track): boolean {
    const fn = enclosingFunction(tu, ret);
    const uname = fn && fn.name !== "main" ? unameOf(fn, tu) : undefined;
    if (!uname || facts.addressTaken.has(uname)) return true;
    const key = `return:${uname}:${mode}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return (callsOf().get(uname) ?? []).some(({ call, tu: at }) => escapes(at, call, seen, mode));
  }

  function callsOf(): Map<string, { call: AstNode; tu: TranslationUnit }[]> {
    if (callIndex) return callIndex;
    const index = new Map<string, { call: AstNode; tu: TranslationUnit }[]>();
    for (const tu of program.units) {
      const visit = (n: AstNode) => {
        if (n.kind === "CallExpr") {
          const callee = stripCasts(n.inner?.[0]);
          const u = callee?.kind === "DeclRefExpr" && callee.referencedDecl?.kind === "FunctionDecl" ? resolveFunction(program, tu, callee.referencedDecl.name) : undefined;
          if (u) index.set(u, [...(index.get(u) ?? []), { call: n, tu }]);
        }
        for (const c of n.inner ?? []) if (c) visit(c);
      };
      for (const fn of tu.functions) if (!fn.extracted) visit(fn.body);
      for (const g of tu.globals) visit(g.node);
    }
    return (callIndex = index);
  }

  /** Fixpoint over the program's functions: an allocator's calls are allocations too. */
  function findAllocators() {
    const isAllocation = (tu: TranslationUnit, e: AstNode | undefined): boolean => {
      const call = stripCasts(e);
      const callee = call?.kind === "CallExpr" ? stripCasts(call.inner?.[0]) : undefined;
      const name = callee?.kind === "DeclRefExpr" && callee.referencedDecl?.kind === "FunctionDecl" ? callee.referencedDecl.name ?? "" : "";
      if (name === "malloc" || name === "calloc") return true;
      const u = resolveFunction(program, tu, name);
      return !!u && facts.allocators.has(u);
    };
    const returnsFresh = (tu: TranslationUnit, fn: TuFunction): boolean => {
      const returns = returnsOf(fn.body);
      return returns.length > 0 && returns.every((r) => {
        const v = stripCasts(r.inner?.[0]);
        if (isAllocation(tu, v)) return true;
        if (v?.kind !== "DeclRefExpr" || v.referencedDecl?.kind !== "VarDecl") return false;
        // A local set once, from an allocation, and never assigned again.
        const decl = findDecl(fn.body, v.referencedDecl.id);
        if (!decl || decl.storageClass === "static" || !isAllocation(tu, decl.inner?.[0])) return false;
        return refsTo(fn, v.referencedDecl.id).every((ref) => {
          const p = tu.parents.get(ref);
          return !(p?.kind === "BinaryOperator" && p.opcode === "=" && p.inner?.[0] === ref) && !(p?.kind === "UnaryOperator" && p.opcode === "&");
        });
      });
    };
    for (let grew = true; grew;) {
      grew = false;
      for (const [u, { fn, tu }] of program.functions) {
        if (facts.allocators.has(u) || !/\*\s*\(/.test(fn.signature) || facts.addressTaken.has(u)) continue;
        if (returnsFresh(tu, fn)) { facts.allocators.add(u); grew = true; }
      }
    }
  }

  /**
   * Whether an argument of `call` is computed from `sizeof` of the type `key`:
   * written there (`pool_get(sizeof *e)`), or in what a local argument is set
   * to, or in what a function of the program returns (memcached's
   * `slabs_alloc(ntotal)`, `ntotal = item_make_header(...)`, which returns
   * `sizeof(item) + ...`).
   */
  function sizedFor(tu: TranslationUnit, call: AstNode, key: string): boolean {
    const seen = new Set<string>();
    const fnOf = (n: AstNode) => { let q = tu.parents.get(n); while (q && q.kind !== "FunctionDecl") q = tu.parents.get(q); return q; };
    const visit = (u: TranslationUnit, e: AstNode | undefined, within: AstNode | undefined): boolean => {
      if (!e) return false;
      if (e.kind === "UnaryExprOrTypeTraitExpr" && (e as { name?: string }).name === "sizeof")
        return (typeKeyOf(u, e.argType, program) ?? typeKeyOf(u, e.inner?.[0]?.type, program)) === key;
      if (e.kind === "DeclRefExpr" && e.referencedDecl?.kind === "VarDecl" && within && !seen.has(e.referencedDecl.id)) {
        seen.add(e.referencedDecl.id);
        const id = e.referencedDecl.id;
        const sources: AstNode[] = [];
        const collect = (n: AstNode) => {
          if (n.kind === "VarDecl" && n.id === id && n.inner?.[0]) sources.push(n.inner[0]);
          if (n.kind === "BinaryOperator" && n.opcode === "=" && stripCasts(n.inner?.[0])?.kind === "DeclRefExpr"
            && stripCasts(n.inner?.[0])?.referencedDecl?.id === id && n.inner?.[1]) sources.push(n.inner[1]);
          for (const c of n.inner ?? []) if (c) collect(c);
        };
        collect(within);
        return sources.some((x) => visit(u, x, within));
      }
      if (e.kind === "CallExpr") {
        const callee = stripCasts(e.inner?.[0]);
        const f = callee?.kind === "DeclRefExpr" && callee.referencedDecl?.kind === "FunctionDecl" ? program.functions.get(resolveFunction(program, u, callee.referencedDecl.name) ?? "") : undefined;
        if (f && !seen.has(`fn:${f.fn.name}`)) {
          seen.add(`fn:${f.fn.name}`);
          if (returnsOf(f.fn.body).some((r) => visit(f.tu, r.inner?.[0], f.fn.body))) return true;
        }
      }
      return (e.inner ?? []).some((c) => visit(u, c, within));
    };
    const within = fnOf(call);
    return (call.inner ?? []).slice(1).some((a) => visit(tu, a, within));
  }

  /** The return statements of a function body. */
  function returnsOf(body: AstNode): AstNode[] {
    const out: AstNode[] = [];
    const visit = (n: AstNode) => { if (n.kind === "ReturnStmt") out.push(n); for (const c of n.inner ?? []) if (c) visit(c); };
    visit(body);
    return out;
  }

  function findDecl(n: AstNode, id: string): AstNode | undefined {
    if (n.kind === "VarDecl" && n.id === id) return n;
    for (const c of n.inner ?? []) {
      const d = c && findDecl(c, id);
      if (d) return d;
    }
    return undefined;
  }

  function paramEscapes(def: { fn: TuFunction; tu: TranslationUnit } | undefined, index: number, mode: Track, seen: Set<string>): boolean {
    if (!def) return true;
    const param = (def.fn.node.inner ?? []).filter((c) => c.kind === "ParmVarDecl")[index];
    return !param ? def.fn.variadic : varEscapes(def.tu, def.fn, param.id, mode, seen);
  }

  /** `lhs = <tracked>`: into a variable, a local struct's field, or anywhere else (kept). */
  function storedIn(tu: TranslationUnit, at: AstNode, lhsNode: AstNode | undefined, mode: Track, seen: Set<string>): boolean {
    const lhs = stripCasts(lhsNode);
    const fn = enclosingFunction(tu, at);
    if (!fn) return true;
    if (lhs?.kind === "DeclRefExpr" && (lhs.referencedDecl?.kind === "VarDecl" || lhs.referencedDecl?.kind === "ParmVarDecl")) {
      const global = tu.root.inner?.some((d) => d.id === lhs.referencedDecl?.id) === true || isStaticLocal(tu, lhs.referencedDecl.id);
      return global || varEscapes(tu, fn, lhs.referencedDecl.id, mode, seen);
    }
    // `req.path = ...` for a local struct req: req's uses decide.
    let base = lhs;
    while (base?.kind === "MemberExpr" && !base.isArrow) base = stripCasts(base.inner?.[0]);
    if (mode === "value" && base !== lhs && base?.kind === "DeclRefExpr" && base.referencedDecl?.kind === "VarDecl"
      && !tu.root.inner?.some((d) => d.id === base!.referencedDecl?.id) && !isStaticLocal(tu, base.referencedDecl.id)) {
      return varEscapes(tu, fn, base.referencedDecl.id, "struct", seen);
    }
    return true; // a field through a pointer, an array element, *p, a global's field
  }

  /** A member (or `*p`) of memory that holds the value: reading it gives the value back; its address points to it. */
  function memberEscapes(tu: TranslationUnit, m: AstNode, seen: Set<string>): boolean {
    let top = m;
    for (let q = tu.parents.get(top); q?.kind === "MemberExpr" && !q.isArrow; q = tu.parents.get(top)) top = q;
    const q = tu.parents.get(top);
    if (q?.kind === "ImplicitCastExpr" && q.castKind === "LValueToRValue") return isPointerLike(q) && escapes(tu, q, seen, "value");
    if (q?.kind === "UnaryOperator" && q.opcode === "&") return escapes(tu, q, seen, "pointsTo");
    if (q?.kind === "ImplicitCastExpr" && q.castKind === "ArrayToPointerDecay") return escapes(tu, q, seen, "pointsTo");
    return false;
  }

  /**
   * Whether a variable (by declaration id) of `fn` lets the value out, at any
   * of its uses: "value" and "pointsTo" as for escapes(); "struct", a local
   * struct one of whose fields holds the value.
   */
  function varEscapes(tu: TranslationUnit, fn: TuFunction, declId: string, mode: Track | "struct", seen: Set<string>): boolean {
    const key = `${declId}:${mode}`;
    if (seen.has(key)) return false; // already being followed: its other uses decide
    seen.add(key);
    return refsTo(fn, declId).some((r) => {
      const parent = tu.parents.get(r);
      if (mode === "struct") {
        if (parent?.kind === "MemberExpr" && !parent.isArrow) return memberEscapes(tu, parent, seen);
        if (parent?.kind === "UnaryOperator" && parent.opcode === "&") return escapes(tu, parent, seen, "pointsTo");
        // The whole struct copied or passed by value: its copy is not followed.
        return parent?.kind === "ImplicitCastExpr" && parent.castKind === "LValueToRValue";
      }
      if (parent?.kind === "ImplicitCastExpr" && parent.castKind === "LValueToRValue") return escapes(tu, parent, seen, mode);
      // The variable's own address: what is read through it is the value.
      if (parent?.kind === "UnaryOperator" && parent.opcode === "&") return mode === "pointsTo" || escapes(tu, parent, seen, "pointsTo");
      return false;
    });
  }

  function isPointerLike(n: AstNode): boolean {
    const t = n.type?.qualType ?? "";
    return t.includes("*") || t.includes("[") || !/^(const\s+)?(unsigned\s+|signed\s+)?(char|short|int|long|long long|float|double|_Bool|bool|size_t|ssize_t|u?int\d+_t)$/.test(t.trim());
  }

  function isStaticLocal(tu: TranslationUnit, declId: string): boolean {
    return tu.staticLocals.some((g) => g.node.id === declId);
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

  for (const p of pendingAddresses) judgeFieldAddress(p);
  for (const { tu, n, id } of pendingGlobalAddresses) {
    if (facts.keptGlobals.has(id) || !escapes(tu, n, new Set())) continue;
    facts.keptGlobals.set(id, { site: { offset: beginOf(n) ?? 0, pos: tu.lines.position(beginOf(n) ?? 0) }, what: statementText(tu, n) });
  }
  findAllocators();
  // A block of the program's own pool or slab is as big as the program asked for, or as the pool's blocks are: a
  // wrapper (version field, room) is bigger than what the program planned, unless the call is given the type's size.
  for (const { tu, call, key } of handedOut) {
    const callee = stripCasts(call.inner?.[0]);
    const u = callee?.kind === "DeclRefExpr" && callee.referencedDecl?.kind === "FunctionDecl" ? resolveFunction(program, tu, callee.referencedDecl.name) : undefined;
    if (!u || facts.allocators.has(u) || facts.fixed.has(key) || sizedFor(tu, call, key)) continue;
    fix(key, `is made from the block ${callee!.referencedDecl!.name}() returns, which is not given its size (${statementText(tu, call)}): a wrapper with room might not fit`, tu.lines.position(beginOf(call) ?? 0));
  }

  for (const [tu, calls] of heldCalls(program)) {
    const main = facts.mains.find((m) => m.tu === tu);
    for (const c of calls) main?.held.set(c.offset, c);
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
