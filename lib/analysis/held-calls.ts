/**
 * Calls that main makes before its loop to a function holding an update point
 * (memcached's `clock_handler(0, 0, 0)`, priming a timer callback): main is
 * never replaced, so an update inside such a call would leave the rest of
 * main, the whole program's life, running old code. Instead these calls run
 * with updates held (the runtime's grt_hold: every point reached meanwhile is
 * unsafe), and the safety analysis leaves them out of the point's callers.
 *
 * Held are the top-level call statements of main whose callee holds a point
 * outside any loop (a handler that returns, not a function that runs the
 * program's loop: holding that would hold every update for good).
 */
import type { AstNode } from "../cfront/clang-ast.js";
import { beginOf } from "../cfront/clang-ast.js";
import type { Program } from "../cfront/program.js";
import type { TranslationUnit, TuFunction } from "../cfront/translation-unit.js";
import { stripCasts } from "../cfront/translation-unit.js";
import { resolveFunction } from "./facts.js";

export interface HeldCall {
  /** The statement run with updates held. */
  stmt: AstNode;
  /** Offset of the callee's name: the call site as the facts record it. */
  offset: number;
  callee: string;
}

/** The held calls of each main, by unit. */
export function heldCalls(program: Program): Map<TranslationUnit, HeldCall[]> {
  const out = new Map<TranslationUnit, HeldCall[]>();
  const handlers = new Set<string>();
  for (const tu of program.units) for (const p of tu.updatePoints) {
    const holder = p.fn.extracted ? undefined : p.fn;
    if (holder && holder.name !== "main" && !inLoop(tu, p.call, holder)) {
      const u = [...program.functions.values()].find((f) => f.fn === holder)?.uname;
      if (u) handlers.add(u);
    }
  }
  if (!handlers.size) return out;
  for (const tu of program.units) {
    const main = tu.functions.find((f) => f.name === "main" && !f.extracted);
    if (!main) continue;
    const list: HeldCall[] = [];
    for (const stmt of main.body.inner ?? []) {
      const call = callOf(stmt);
      const ref = call && stripCasts(call.inner?.[0]);
      if (ref?.kind !== "DeclRefExpr" || ref.referencedDecl?.kind !== "FunctionDecl") continue;
      const callee = resolveFunction(program, tu, ref.referencedDecl.name);
      if (callee && handlers.has(callee)) list.push({ stmt, offset: beginOf(ref) ?? 0, callee });
    }
    if (list.length) out.set(tu, list);
  }
  return out;
}

/** The call a statement is: `f(...);`, `(void)f(...);` or `x = f(...);`. */
function callOf(stmt: AstNode): AstNode | undefined {
  let e = stripCasts(stmt);
  if (e?.kind === "BinaryOperator" && e.opcode === "=") e = stripCasts(e.inner?.[1]);
  return e?.kind === "CallExpr" ? e : undefined;
}

function inLoop(tu: TranslationUnit, n: AstNode, fn: TuFunction): boolean {
  for (let p = tu.parents.get(n); p && p !== fn.body; p = tu.parents.get(p)) {
    const once = p.kind === "DoStmt" && p.inner?.[1]?.kind === "IntegerLiteral" && (p.inner[1] as { value?: string }).value === "0";
    if ((p.kind === "WhileStmt" || p.kind === "ForStmt" || p.kind === "DoStmt") && !once) return true;
  }
  return false;
}
