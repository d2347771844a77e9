/**
 * The updateable rewrite of one preprocessed translation unit. One walk over
 * the AST registers edits; the passes it performs, in the order their text
 * must appear at one offset:
 *   1. type wrapping: data struct before the owning declaration, wrapper body
 *      in place, the con check after it;
 *   2. function indirection: slot (and stub) declarations before the first use,
 *      slot definition after each definition, calls through the slot;
 *   3. statics: static globals and static locals get program-unique global names;
 *   4. update points get their ids;
 *   5. field accesses go through con; initialisers and locals of wrapped types
 *      get their version; allocation sites stamp fresh blocks.
 * The same rewrite makes patches (`mode: "patch"`), with the differences in
 * the hooks of RewriteContext.
 */
import { rangeTable, sectionAttribute } from "./function-sections.js";
import type { AstNode } from "../cfront/clang-ast.js";
import { beginOf, endOf } from "../cfront/clang-ast.js";
import type { Program } from "../cfront/program.js";
import { pointeeKeyOf, typeKeyOf, unameOf } from "../cfront/program.js";
import type { TranslationUnit, TuFunction, TuGlobal } from "../cfront/translation-unit.js";
import { isProgramDecl, stripCasts } from "../cfront/translation-unit.js";
import type { Diagnostic } from "../model/diagnostics.js";
import { isCallee, resolveFunction, type ProgramFacts } from "../analysis/facts.js";
import { EditList, Order } from "./edits.js";

export interface WrappedType {
  key: string;
  spelling: string;
  /** Version the rewritten code is compiled for. */
  version: number;
  /** Bytes of spare room expression for the union: C expression. */
  roomExpr: string;
  outOfLine: boolean;
  /** First version whose data is out of line (it stays out of line after). */
  oolSince?: number;
}

export type FunctionPlan =
  | { kind: "keep" }                          // compile: the definition stays, its slot is defined here
  | { kind: "impl"; symbol: string }          // patch: new implementation, renamed to a global symbol
  | { kind: "copy" }                          // patch: a direct function's body, static, for the patch's own calls
  | { kind: "drop" };                         // patch: unchanged, not part of the patch

export interface RewriteContext {
  mode: "compile" | "patch";
  program: Program;
  facts: ProgramFacts;
  wrapped: Map<string, WrappedType>;
  pointIds: Map<AstNode, number>;
  /** Symbol of a global's or static local's storage. */
  globalSymbol(tu: TranslationUnit, g: TuGlobal): string;
  planFunction(tu: TranslationUnit, fn: TuFunction, uname: string): FunctionPlan;
  /** Symbol behind an `extern` declaration of a program global, when it is not the name itself (patch: moved or retyped storage). */
  externSymbol?(name: string): string | undefined;
  /** Whether a global defined in this unit is storage of an older version (patch: becomes extern). */
  isExistingGlobal(tu: TranslationUnit, g: TuGlobal): boolean;
  /** Functions called directly, without a slot (direct-calls.ts). */
  isDirect(uname: string): boolean;
  /** Functions a waiting thread may be in (blocked-sites.ts): they get an entry in the table of function bounds. */
  isWaitCandidate(uname: string): boolean;
  /** Slots the executable does not have yet (functions new in a patch): defined by the patch. */
  isNewFunction(uname: string): boolean;
  /** Version stamp for data created by this code. */
  dataName(key: string): string;
  /** The body `{ ... }` of the data struct, when Graft lays it out itself (a kept field's place, diff-versions.ts); else the source's. */
  dataBody?(key: string): string | undefined;
}

export interface RewrittenUnit {
  text: string;
  diagnostics: Diagnostic[];
  /** Locals each extracted loop body reaches in its holder, "name: type", by uname. */
  envFields: Map<string, string[]>;
  /** The functions whose code the unit puts in sections of their own (function-sections.ts): the link's script names them. */
  sectioned: string[];
}

export function rewriteUnit(tu: TranslationUnit, ctx: RewriteContext, prelude: string): RewrittenUnit {
  const edits = new EditList(tu.text, tu.lines);
  /** Text moved from `origin` to elsewhere: it starts on a line of its own, marked with where it came from. */
  const moved = (origin: number, s: string) => `${edits.marker(origin) || "\n"}${s}\n`;
  const envFields = new Map<string, string[]>();
  const diags: Diagnostic[] = [];
  const text = tu.text;
  const slice = (a: number, b: number) => text.subarray(a, b).toString("utf8");
  const err = (n: AstNode | number, code: number, message: string) => {
    const p = tu.lines.position(typeof n === "number" ? n : beginOf(n) ?? 0);
    diags.push({ code, category: "error", file: p.file, line: p.line, message });
  };
  const top = tu.root.inner ?? [];
  const isOwn = (n: AstNode) => isProgramDecl(tu.lines, n);
  /** Offset just after the `;` that ends the declaration group containing `end`. */
  const afterSemicolon = (end: number) => {
    const i = text.indexOf(";", end);
    return i < 0 ? end : i + 1;
  };
  /** The `static` keyword inside [a, b), as an offset, if any. */
  const staticKeyword = (a: number, b: number) => {
    const m = /\bstatic\b/.exec(slice(a, b));
    return m ? a + Buffer.byteLength(slice(a, b).slice(0, m.index)) : -1;
  };
  const nameRange = (n: AstNode): [number, number] => {
    const o = n.loc?.offset ?? n.loc?.spellingLoc?.offset ?? 0;
    return [o, o + (n.loc?.tokLen ?? n.loc?.spellingLoc?.tokLen ?? 0)];
  };

  // After gcc's opening markers (the source's name, then its working directory), so that debuggers resolve the
  // program's own files against its own directory; the prelude names itself, and the next marker takes over again.
  const opening = /^# 0 "[^"\n]*"\n(?:# 1 "[^"\n]*\/\/"\n)?/.exec(text.subarray(0, 4096).toString("utf8"));
  edits.insert(opening ? Buffer.byteLength(opening[0]) : 0, `# 1 "<graft-prelude>"\n${prelude}`, Order.declarations - 1);
  // Text built from rendered sub-ranges must wait until every edit inside them is known.
  const deferred: (() => void)[] = [];

  // ---- 1. type wrapping -------------------------------------------------
  for (const rec of tu.records) {
    const w = ctx.wrapped.get(rec.key);
    if (!w) continue;
    const data = ctx.dataName(rec.key);
    const body = ctx.dataBody?.(rec.key);
    const flex = rec.flexible;
    // The data is the fields before a flexible array member; the member itself stays in the wrapper, after the room.
    const sourceBody = () => flex
      ? `${edits.render(rec.openBrace, flex.range[0])} ${edits.render(flex.range[1], rec.closeBrace + 1)}`
      : edits.render(rec.openBrace, rec.closeBrace + 1);
    deferred.push(() => edits.insert(beginOf(rec.owner)!, moved(rec.openBrace, `struct ${data} ${body ?? sourceBody()};`), Order.declarations));
    // Out of line, the data no longer sits in the union: the wrapper keeps its size, the room holds a pointer.
    const inline = w.outOfLine ? "" : `struct ${data} __graft_d; `;
    edits.replace(rec.openBrace, rec.closeBrace + 1,
      `{ unsigned __graft_ver; union { ${inline}unsigned char __graft_room[${w.roomExpr}]; void *__graft_ool; } __graft_u;` +
      `${flex ? ` __typeof__(${flex.element}) ${flex.name}[];` : ""} }`);
    const reach = w.outOfLine ? `(struct ${data} *)p->__graft_u.__graft_ool` : `(struct ${data} *)(void *)&p->__graft_u`;
    // Code compiled for a type's first layout needs no check: no older data exists, and it never meets newer data,
    // because a patch that changes the type replaces every function that uses it and is applied only where no
    // frame of the old code touches the type again (docs/safety.md). Checks are in patch code, for changed types.
    const check = w.version === 0 ? "" :
      ` if (__builtin_expect(p->__graft_ver != ${w.version}u, 0)) grt_con_slow(&__graft_type_${rec.key}, (unsigned *)&p->__graft_ver, ${w.version}u);`;
    edits.insert(afterSemicolon(endOf(rec.owner)!),
      `\nextern grt_type __graft_type_${rec.key};\n` +
      `static inline __attribute__((always_inline, unused)) struct ${data} *__graft_con_${rec.key}(const ${rec.spelling} *p) {` +
      `${check} return ${reach}; }\n` +
      // Out-of-line data belongs to its wrapper: freeing the wrapper frees it (values older than oolSince hold none).
      (w.outOfLine ? `static inline __attribute__((unused)) void __graft_free_${rec.key}(${rec.spelling} *p) {` +
        ` if (p && p->__graft_ver >= ${w.oolSince ?? w.version}u && p->__graft_ver <= ${w.version}u) free(p->__graft_u.__graft_ool); free(p); }\n` : ""),
      Order.after);
  }

  // ---- 2. function indirection: declarations ----------------------------
  const slot = (u: string) => `__graft_fp_${u}`;
  const stub = (u: string) => `__graft_stub_${u}`;
  const hasStub = (u: string) => ctx.facts.addressTaken.has(u) && !ctx.program.functions.get(u)?.fn.variadic;
  const declared = new Set<string>();
  /** Where each slot's declaration goes: a use before it needs its own (declareImplicit). */
  const declaredAt = new Map<string, number>();
  const definedHere = new Map<string, TuFunction>();
  for (const fn of tu.functions) if (fn.name !== "main") definedHere.set(fn.name, fn);

  function slotDeclarations(name: string, u: string): string {
    let s = `extern __typeof__(${name}) *${slot(u)};`;
    // Stubs are global even for static functions: patches must reach the stable entry.
    if (hasStub(u)) s += ` extern __typeof__(${name}) ${stub(u)};`;
    return s + "\n";
  }

  // By node: a unit may hold tens of thousands of functions and globals, each looked up once.
  const fnOfNode = new Map(tu.functions.map((f) => [f.node, f]));
  const globalOfNode = new Map(tu.globals.map((g) => [g.node, g]));
  for (const d of top) {
    if (d.kind !== "FunctionDecl" || !d.name || !isOwn(d) && !definedHere.has(d.name)) continue;
    const u = resolveFunction(ctx.program, tu, d.name);
    if (!u || declared.has(u) || ctx.isDirect(u)) continue;
    declared.add(u);
    declaredAt.set(u, beginOf(d) ?? 0);
    const isDef = d.inner?.some((c) => c.kind === "CompoundStmt");
    if (isDef) {
      const fn = fnOfNode.get(d)!;
      edits.insert(fn.begin, `${moved(fn.begin, `${slice(fn.begin, fn.bodyBegin).trim()};`)}${slotDeclarations(d.name, u)}`, Order.prototypes);
    } else {
      edits.insert(afterSemicolon(endOf(d)!), `\n${slotDeclarations(d.name, u)}`, Order.after);
    }
  }

  // ---- 2b. definitions: slot and stub after each function ----------------
  /** The stable entry of an address-taken function: the definition's own declarator, renamed, forwarding through the slot. */
  function stubDefinition(fn: TuFunction, u: string): string {
    if (!hasStub(u)) return "";
    const [a, b] = nameRange(fn.node);
    const head = oneLine(slice(fn.begin, a)).replace(/\b(static|inline)\b/g, "") + stub(u) + oneLine(slice(b, fn.bodyBegin));
    return `${head.trim()} { ${fn.returnsVoid ? "" : "return "}${slot(u)}(${fn.params.join(", ")}); }\n`;
  }

  /** The functions whose code this unit emits, each in its own section (function-sections.ts). */
  const sectioned: string[] = [];
  const inOwnSection = (fn: TuFunction, u: string) => {
    edits.insert(fn.begin, sectionAttribute(u), Order.replace - 2);
    sectioned.push(u);
  };
  for (const fn of tu.functions) {
    if (fn.extracted) continue;
    if (fn.name === "main") {
      // main is never replaced: only the executable's counts (a patch's copy would make it look replaced).
      if (ctx.mode === "compile") inOwnSection(fn, "main");
      continue;
    }
    const u = unameOf(fn, tu);
    // Another unit's definition is the program's: this inline one stays as it is, for gcc to inline.
    if (ctx.program.functions.get(u)?.fn !== fn) {
      inOwnSection(fn, u);
      continue;
    }
    const plan = ctx.planFunction(tu, fn, u);
    if (plan.kind === "drop") {
      edits.replace(fn.begin, fn.end, `/* ${fn.name}: unchanged, lives in the running program */`);
      continue;
    }
    inOwnSection(fn, u);
    if (plan.kind === "copy" || ctx.isDirect(u)) continue; // called directly: no slot
    if (plan.kind === "impl") {
      const [a, b] = nameRange(fn.node);
      edits.replace(a, b, plan.symbol);
      const st = staticKeyword(fn.begin, a);
      if (st >= 0) edits.replace(st, st + 6, "");
      if (ctx.isNewFunction(u)) edits.insert(fn.end, `\n__typeof__(${plan.symbol}) *${slot(u)} = ${plan.symbol};\n${stubDefinition(fn, u)}`, Order.after);
      // The implementation is looked up by name in the patch: without `static`, an `inline` one would be an inline definition only (no symbol).
      dropInlineKeyword(fn);
      continue;
    }
    edits.insert(fn.end, `\n__typeof__(${fn.name}) *${slot(u)} = ${fn.name};\n${stubDefinition(fn, u)}`, Order.after);
    dropInlineDefinition(fn);
  }

  /**
   * An inline-only definition (translation-unit.ts) that stands for the
   * program's function is made its external definition: called through its
   * slot, it needs its body out of line. `extern inline` (gnu89) becomes
   * `extern`, C99's `inline` an ordinary definition: the same code.
   */
  function dropInlineDefinition(fn: TuFunction) {
    if (fn.inlineOnly) dropInlineKeyword(fn);
  }

  function dropInlineKeyword(fn: TuFunction) {
    const [a] = nameRange(fn.node);
    const head = slice(fn.begin, a);
    const m = /\b(inline|__inline__|__inline)\b/.exec(head);
    if (!m) return;
    const at = fn.begin + Buffer.byteLength(head.slice(0, m.index));
    edits.replace(at, at + m[1].length, "");
  }

  // ---- 3. statics --------------------------------------------------------
  const renamed = new Map<string, string>(); // VarDecl id -> symbol
  const externAt = new Set<number>();
  for (const g of tu.globals) {
    const sym = ctx.globalSymbol(tu, g);
    if (sym === g.name && !ctx.isExistingGlobal(tu, g)) continue;
    renamed.set(g.node.id, sym);
    const [a, b] = nameRange(g.node);
    const st = staticKeyword(beginOf(g.node)!, a);
    if (st >= 0) edits.replace(st, st + 6, "");
    edits.replace(a, b, sym);
    if (ctx.isExistingGlobal(tu, g)) {
      // Patch: the storage is the running program's; drop the initialiser, keep a declaration.
      const init = g.node.init ? g.node.inner?.[g.node.inner.length - 1] : undefined;
      if (init) {
        const eq = text.lastIndexOf(0x3d /* = */, beginOf(init)!);
        edits.replace(eq, endOf(g.node)!, "");
        // `T x[] = {...}` declared without its initialiser is incomplete: keep the size, for sizeof in the patch's code.
        const dims = /^\s*\[\s*\]/.exec(slice(b, eq));
        const n = /\[(\d+)\]/.exec(g.node.type?.qualType ?? "");
        if (dims && n) edits.replace(b, b + Buffer.byteLength(dims[0]), `[${n[1]}]`);
      }
      // Declarators of one group (`static double a, b;`) share the group's start: one `extern` for the group.
      if (!externAt.has(beginOf(g.node)!)) edits.insert(beginOf(g.node)!, "extern ", Order.replace - 1);
      externAt.add(beginOf(g.node)!);
    }
  }
  for (const d of top) {
    if (d.kind !== "VarDecl" || d.storageClass !== "extern" || !d.name || !isOwn(d)) continue;
    const sym = ctx.externSymbol?.(d.name);
    if (!sym || sym === d.name) continue;
    renamed.set(d.id, sym);
    const [a, b] = nameRange(d);
    edits.replace(a, b, sym);
  }
  for (const g of tu.staticLocals) {
    const ds = g.declStmt!;
    if ((ds.inner ?? []).length !== 1) {
      err(g.node, 3001, `static local '${g.name}' shares its declaration with other variables: declare it on its own line`);
      continue;
    }
    const sym = ctx.globalSymbol(tu, g);
    renamed.set(g.node.id, sym);
    const [a, b] = nameRange(g.node);
    const st = staticKeyword(beginOf(g.node)!, a);
    if (st >= 0) edits.replace(st, st + 6, "");
    edits.replace(a, b, sym);
    const initNode = g.node.init ? g.node.inner?.[g.node.inner.length - 1] : undefined;
    const declEnd = initNode ? beginOf(initNode)! : endOf(g.node)!;
    deferred.push(() => {
      const declarator = completeArray(oneLine(edits.render(beginOf(g.node)!, declEnd)).replace(/=\s*$/, "").trim(), g.node.type?.qualType);
      const init = initNode ? ` = ${edits.render(beginOf(initNode)!, endOf(initNode)!)}` : "";
      // Existing storage is only declared: at file scope too, for extracted loop bodies that use it.
      const at = beginOf(g.node)!;
      if (ctx.mode === "compile" || !ctx.isExistingGlobal(tu, g)) edits.insert(g.fn!.begin, moved(at, `${declarator}${init};`), Order.hoisted);
      else edits.insert(g.fn!.begin, moved(at, `extern ${declarator};`), Order.hoisted);
      edits.replace(beginOf(ds)!, endOf(ds)!, `extern ${declarator};`);
    });
  }

  // ---- 3b. main's held calls (analysis/held-calls.ts) ---------------------
  for (const ff of ctx.facts.mains) if (ff.tu === tu) for (const h of ff.held.values()) {
    edits.insert(beginOf(h.stmt)!, "grt_hold++; ", Order.prefix(0));
    edits.insert(afterSemicolon(endOf(h.stmt)!), " grt_hold--;", Order.suffix(0));
  }

  // ---- 4, 5. walk the bodies --------------------------------------------
  /** Inside an extracted loop body: loops and switches opened since, and the holder's locals it reaches. */
  interface Extraction { fn: TuFunction; loops: number; switches: number; env: Map<string, { name: string; type: string }>; outer: Map<string, { name: string; type: string }> }
  const outerLocals = (fn: TuFunction) => {
    const body = fn.body, holder = fn.extracted!.holder;
    const out = new Map<string, { name: string; type: string }>();
    const [bb, be] = [beginOf(body)!, endOf(body)!];
    const visit = (n: AstNode) => {
      if ((n.kind === "VarDecl" || n.kind === "ParmVarDecl") && n.storageClass !== "static" && n.storageClass !== "extern") {
        const o = beginOf(n) ?? 0;
        if (o < bb || o >= be) out.set(n.id, { name: n.name ?? "", type: n.type?.qualType ?? "" });
      }
      for (const c of n.inner ?? []) visit(c);
    };
    visit(holder.node);
    return out;
  };
  /**
   * `konst`: inside the initialiser of static storage, where C wants a constant
   * expression: no accessor calls and no slot loads there, only addresses.
   */
  const walk = (n: AstNode, depth: number, parent: AstNode | undefined, ex?: Extraction, konst = false) => {
    const pseudo = tu.extractedBodies.get(n);
    if (pseudo && !ex) {
      const inner: Extraction = { fn: pseudo, loops: 0, switches: 0, env: new Map(), outer: outerLocals(pseudo) };
      for (const c of n.inner ?? []) walk(c, depth + 1, n, inner);
      extractLoop(pseudo, inner);
      return;
    }
    if (ex) {
      const b = beginOf(n), e = endOf(n);
      if (n.kind === "BreakStmt" && ex.loops === 0 && ex.switches === 0 && b !== undefined) edits.replace(b, e!, "return 1");
      if (n.kind === "ContinueStmt" && ex.loops === 0 && b !== undefined) edits.replace(b, e!, "return 2");
      if (n.kind === "ReturnStmt" && b !== undefined) {
        const value = n.inner?.[0];
        if (value) {
          edits.replace(b, beginOf(value)!, "return (*__graft_env->__graft_ret = (");
          edits.insert(endOf(value)!, "), 3)", Order.suffix(0));
        } else edits.replace(b, e!, "return 3");
      }
      if (n.kind === "GotoStmt") err(n, 3006, "a goto inside the loop that holds an update point: the loop body cannot be extracted into a function; use break or continue");
      if (n.kind === "DeclRefExpr" && n.referencedDecl && ex.outer.has(n.referencedDecl.id) && b !== undefined) {
        const v = ex.outer.get(n.referencedDecl.id)!;
        ex.env.set(n.referencedDecl.id, v);
        edits.replace(b, e!, `(*__graft_env->${v.name})`);
      }
      if (n.kind === "WhileStmt" || n.kind === "ForStmt" || n.kind === "DoStmt") {
        ex = { ...ex, loops: ex.loops + 1 };
      } else if (n.kind === "SwitchStmt") ex = { ...ex, switches: ex.switches + 1 };
    }
    switch (n.kind) {
      case "DeclRefExpr": {
        const ref = n.referencedDecl;
        const b = beginOf(n), e = endOf(n);
        if (b === undefined || e === undefined || !ref) break;
        if (ref.kind === "FunctionDecl") {
          const u = resolveFunction(ctx.program, tu, ref.name);
          if (!u || ctx.isDirect(u)) break;
          if (!declared.has(u) || declaredAt.get(u)! > b) declareImplicit(u);
          if (isCallee(tu, n)) edits.replace(b, e, slot(u));
          else if (hasStub(u)) edits.replace(b, e, stub(u));
          // A variadic function has no stable entry (its arguments cannot be forwarded): in a constant the address
          // stays its first version's, and the analysis pins the function (facts.pinnedAddresses).
          else if (!konst) edits.replace(b, e, `(*${slot(u)})`);
        } else if (ref.kind === "VarDecl" && renamed.has(ref.id)) {
          edits.replace(b, e, renamed.get(ref.id)!);
        }
        break;
      }
      case "CallExpr": {
        const callee = stripCasts(n.inner?.[0]);
        if (callee?.kind === "DeclRefExpr" && callee.referencedDecl?.name === "free" && n.inner?.length === 2) {
          const key = pointeeKeyOf(tu, stripCasts(n.inner[1])?.type, ctx.program);
          const w = key && ctx.wrapped.get(key);
          if (w && w.outOfLine) edits.replace(beginOf(callee)!, endOf(callee)!, `__graft_free_${key}`);
        }
        const p = tu.updatePoints.find((x) => x.call === n);
        const id = p && ctx.pointIds.get(n);
        if (p && id !== undefined) {
          // At the head of an extracted loop body, an update restarts the iteration in the new body.
          if (p.restarts && ex) edits.replace(beginOf(n)!, endOf(n)!, `if (grt_update_point_restart(${id}u)) return 4`);
          else edits.replace(beginOf(p.arg)!, endOf(p.arg)!, `${id}u`);
        }
        break;
      }
      case "MemberExpr": {
        const owner = n.referencedMemberDecl ? tu.fieldOwner.get(n.referencedMemberDecl) : undefined;
        const rec = owner ? tu.recordsById.get(owner) : undefined;
        const w = rec && ctx.wrapped.get(rec.key);
        const base = n.inner?.[0];
        if (!w || !base) break;
        if (rec.flexible?.name === n.name) break; // the wrapper's own member: reached as written
        const bb = beginOf(base), be = endOf(base);
        if (bb === undefined || be === undefined) break;
        if (konst) {
          // `&g.b` in a static initialiser: the field's place in the wrapper, a constant, as no accessor call is one.
          if (w.outOfLine || w.version !== 0) {
            err(n, 3008, `a static initialiser takes the address of a field of ${w.spelling}, whose layout ${w.outOfLine ? "has moved out of line" : "this patch changes"}: set the pointer in code instead`);
            break;
          }
          const op = n.isArrow ? text.indexOf("->", be) + 2 : text.indexOf(".", be) + 1;
          edits.insert(op, "__graft_u.__graft_d.", Order.prefix(depth));
          break;
        }
        if (n.isArrow) {
          edits.insert(bb, `__graft_con_${w.key}(`, Order.prefix(depth));
          edits.insert(be, `)`, Order.suffix(depth));
        } else {
          if (stripCasts(base)?.valueCategory === "prvalue") {
            err(n, 3002, `member access on a ${w.spelling} value that is not stored anywhere (a call's result?): assign it to a variable first`);
            break;
          }
          const nameAt = n.loc?.offset ?? n.loc?.spellingLoc?.offset ?? be;
          const dot = text.lastIndexOf(".", nameAt);
          edits.insert(bb, `__graft_con_${w.key}(&(`, Order.prefix(depth));
          edits.insert(be, `))`, Order.suffix(depth));
          if (dot >= be) edits.replace(dot, dot + 1, "->");
        }
        break;
      }
      case "InitListExpr": {
        const key = typeKeyOf(tu, n.type, ctx.program);
        const w = key && ctx.wrapped.get(key);
        const b = beginOf(n), e = endOf(n);
        if (!w || b === undefined || e === undefined) break;
        if (text[b] !== 0x7b /* { */) {
          if (slice(b, e).trim() !== "0") err(n, 3003, `initialiser of ${w.spelling} leaves out its braces: write them out`);
          break;
        }
        if (w.outOfLine) {
          err(n, 3005, `initialiser of ${w.spelling}, whose data has moved out of line: assign its fields instead`);
          break;
        }
        edits.insert(b, `{ ${w.version}u, { `, Order.prefix(depth));
        edits.insert(e, ` } }`, Order.suffix(depth));
        break;
      }
      case "DeclStmt": {
        if (parent?.kind !== "CompoundStmt") break;
        const stamps: string[] = [];
        for (const v of n.inner ?? []) {
          if (v.kind !== "VarDecl" || v.init || v.storageClass === "static" || v.storageClass === "extern") continue;
          const t = v.type?.qualType ?? "";
          const arr = /^(.*?)\s*\[\d+\]$/.exec(t);
          const key = typeKeyOf(tu, { qualType: arr ? arr[1] : t, desugaredQualType: v.type?.desugaredQualType?.replace(/\s*\[\d+\]$/, "") }, ctx.program);
          const w = key && ctx.wrapped.get(key);
          if (!w) continue;
          const name = renamed.get(v.id) ?? v.name;
          // Out-of-line data starts as zeroed version 0 and is brought forward (and allocated) on first use.
          if (w.outOfLine) stamps.push(`__builtin_memset(&${name}, 0, sizeof ${name});`);
          else stamps.push(arr
            ? `for (unsigned long __graft_i = 0; __graft_i < sizeof ${name} / sizeof ${name}[0]; __graft_i++) ${name}[__graft_i].__graft_ver = ${w.version}u;`
            : `${name}.__graft_ver = ${w.version}u;`);
        }
        if (stamps.length) edits.insert(endOf(n)!, ` ${stamps.join(" ")}`, Order.after);
        break;
      }
      case "ImplicitCastExpr":
      case "CStyleCastExpr": {
        if (n.castKind !== "BitCast") break;
        const key = pointeeKeyOf(tu, n.type, ctx.program);
        const w = key && ctx.wrapped.get(key);
        const call = stripCasts(n.inner?.[0]);
        if (!w || call?.kind !== "CallExpr") break;
        const callee = stripCasts(call.inner?.[0]);
        const fname = callee?.kind === "DeclRefExpr" ? callee.referencedDecl?.name : undefined;
        const own = fname ? resolveFunction(ctx.program, tu, fname) : undefined;
        if (own && ctx.facts.allocators.has(own)) {
          // The program's allocator: its block is malloc's or calloc's, stamped whole like theirs (zeroed when out of line: version 0, no data yet).
          edits.insert(beginOf(call)!, w.outOfLine ? "__graft_zero_block(" : "__graft_stamp_block(", Order.prefix(depth + 1));
          edits.insert(endOf(call)!, w.outOfLine ? ")" : `, sizeof(${w.spelling}), ${w.version}u)`, Order.suffix(depth + 1));
          break;
        }
        if (fname !== "malloc" && fname !== "calloc" && fname !== "realloc") {
          // Any other block handed out as a T (a pool, a slab): at T's first version nothing checks it later.
          const constTarget = /^\s*const\b/.test(n.type?.qualType ?? "");
          if (w.version === 0 && !w.outOfLine && !konst && !constTarget) {
            edits.insert(beginOf(call)!, "__graft_first_block(", Order.prefix(depth + 1));
            edits.insert(endOf(call)!, `, &__graft_type_${w.key})`, Order.suffix(depth + 1));
          }
          break;
        }
        if (w.outOfLine && fname !== "calloc") {
          // Zeroed blocks are version 0; the first access allocates the out-of-line data.
          edits.replace(beginOf(callee!)!, endOf(callee!)!, `__graft_${fname}0`);
          break;
        }
        edits.replace(beginOf(callee!)!, endOf(callee!)!, `__graft_${fname}`);
        edits.insert(endOf(call)! - 1, `, sizeof(${w.spelling}), ${w.outOfLine ? 0 : w.version}u`, Order.suffix(depth + 1));
        break;
      }
    }
    const staticInit = n.kind === "VarDecl" && (n.storageClass === "static" || depth === 0);
    for (const c of n.inner ?? []) walk(c, depth + 1, n, ex, konst || staticInit);
  };

  /** Emits the extracted loop body as its own function, and calls it from the loop. */
  function extractLoop(fn: TuFunction, ex: Extraction) {
    const u = unameOf(fn, tu);
    const holder = fn.extracted!.holder;
    const ret = holder.returnsVoid ? undefined : holder.signature.slice(0, holder.signature.indexOf("(")).trim();
    const envType = `struct __graft_env_${u}`;
    const fields = [...ex.env.values()];
    for (const f of fields) if (/\(unnamed|\(anonymous|\[\*\]/.test(f.type)) err(fn.node, 3007, `the loop body uses local '${f.name}' of a type that has no name at file scope (${f.type}): it cannot be passed to the extracted loop`);
    envFields.set(u, fields.map((f) => `${f.name}: ${f.type}`));
    const envDef = `${envType} { ${fields.map((f) => `__typeof__(${f.type}) *${f.name};`).join(" ")}${ret ? ` __typeof__(${ret}) *__graft_ret;` : ""} char __graft_unused; };\n`;
    const b = beginOf(fn.body)!, e = endOf(fn.body)!;
    const plan = ctx.planFunction(tu, fn, u);
    deferred.push(() => {
      let def = `${envDef}extern int (*${slot(u)})(${envType} *);\n`;
      if (plan.kind !== "drop") {
        const name = plan.kind === "impl" ? plan.symbol : u;
        const storage = plan.kind === "impl" ? "" : "static ";
        sectioned.push(u);
        def += `${storage}int ${name}(${envType} *__graft_env);\n` +
          moved(b, `${sectionAttribute(u)}${storage}int ${name}(${envType} *__graft_env) ${edits.render(b, e - 1)} (void)__graft_env; return 0; }`);
        if (plan.kind === "keep" || ctx.isNewFunction(u)) def += `int (*${slot(u)})(${envType} *) = ${name};\n`;
      }
      edits.insert(holder.begin, def, Order.hoisted + 1);
    });
    const init = [...fields.map((f) => `&${f.name}`), ...(ret ? ["&__graft_ret"] : []), "0"].join(", ");
    edits.replace(b, e,
      // 4: an update happened at the head of the body: run this same iteration again, in the new body.
      `{ ${ret ? `__typeof__(${ret}) __graft_ret; ` : ""}${envType} __graft_e = { ${init} }; int __graft_r; do __graft_r = ${slot(u)}(&__graft_e); while (__graft_r == 4);` +
      ` if (__graft_r == 1) break; if (__graft_r == 2) continue; if (__graft_r == 3) return${ret ? " __graft_ret" : ""}; }`);
  }
  /**
   * A call to a function this unit never declares (C89's implicit declaration,
   * `int f()`: memcached 1.2.2 calls thread.c's mt_assoc_move_next_bucket so)
   * has no slot declaration from section 2, and the renamed call would declare
   * the slot itself implicitly, as a function: the call would jump into the
   * pointer. The slot is declared with the implicit type, before the
   * declaration that holds the call.
   */
  let topDecl: AstNode | undefined;
  function declareImplicit(u: string) {
    const at = topDecl && beginOf(topDecl);
    if (at === undefined) return;
    declared.add(u);
    declaredAt.set(u, at);
    edits.insert(at, `extern int (*${slot(u)})();\n`, Order.prototypes);
  }
  for (const d of top) {
    if (!isOwn(d) && !(d.kind === "FunctionDecl" && d.name && definedHere.get(d.name)?.node === d)) continue;
    // The initialiser of storage the running program already has is dropped: nothing inside it is rewritten.
    const g = d.kind === "VarDecl" ? globalOfNode.get(d) : undefined;
    if (g && ctx.isExistingGlobal(tu, g)) continue;
    topDecl = d;
    walk(d, 0, undefined);
  }

  for (const f of deferred) f();
  edits.insert(text.length, rangeTable(sectioned.filter((u) => ctx.isWaitCandidate(u)), (u) => u === "main" || ctx.facts.threadEntries.has(u)), Order.after + 1);
  return { text: edits.render(), diagnostics: diags, envFields, sectioned };
}

/** Text on one line: gcc's line markers inside it (a system macro's tokens) become spaces, so that it may be put mid-line. */
function oneLine(s: string): string {
  return s.replace(/\n# \d+ "(?:[^"\\]|\\.)*"[^\n]*\n/g, " ").replace(/^# \d+ "(?:[^"\\]|\\.)*"[^\n]*\n/, "");
}

/** `T x[]` completed with the size clang inferred from the initialiser: an `extern` redeclaration without one is incomplete. */
function completeArray(declarator: string, qualType: string | undefined): string {
  const n = /\[(\d+)\]/.exec(qualType ?? "");
  return n ? declarator.replace(/\[\s*\]/, `[${n[1]}]`) : declarator;
}
