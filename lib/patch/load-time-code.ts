/**
 * Program functions that would run when the patch is loaded: a constructor
 * runs in dlopen, in the live process, before the runtime has checked the
 * patch or bound its references to the executable (native/runtime/imports.c),
 * and would re-run set-up that the running program did long ago. A
 * destructor would run at exit in whatever version is live then.
 */
import type { Program } from "../cfront/program.js";
import type { Diagnostic } from "../model/diagnostics.js";
import type { PatchPlan } from "./diff-versions.js";

const LOAD_TIME = new Set(["ConstructorAttr", "DestructorAttr"]);

export function loadTimeRefusals(plan: PatchPlan, program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const f of plan.functions.values()) {
    if (!f.include) continue;
    const def = program.functions.get(f.uname);
    const attr = def?.fn.node.inner?.find((n) => LOAD_TIME.has(n.kind));
    if (!def || !attr) continue;
    const what = attr.kind === "ConstructorAttr" ? "constructor" : "destructor";
    out.push({ code: 4016, category: "error", file: def.fn.pos.file, line: def.fn.pos.line,
      message: `${f.name}() is a ${what} (__attribute__((${what}))) and would be in the patch: loading the patch would run it in the live process. Keep it unchanged, and put what the new version must set up at the update in graft_patch_init()` });
  }
  return out;
}
