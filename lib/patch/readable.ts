/**
 * PATCHDIR/patch.c: the patch as a person reads it. The units that are
 * compiled hold every system header; this view keeps only the program's own
 * text and what Graft generated, then the descriptor.
 */
import type { PatchManifest } from "../model/patch-manifest.js";

export function ownText(unit: string): string {
  const out: string[] = [];
  let keep = true;
  for (const line of unit.split("\n")) {
    const m = /^# \d+ "([^"]*)"((?: \d+)*)/.exec(line);
    if (m) { keep = !m[2].split(" ").includes("3") && !m[1].startsWith("<") && !m[1].startsWith("/usr/"); continue; }
    if (keep && line.trim()) out.push(line);
  }
  return out.join("\n");
}

export function readableView(units: string[], descriptor: string, m: PatchManifest): string {
  const head = `/*
 * Patch for ${m.program}, sequence ${m.sequence}
 *   base   ${m.base}
 *   target ${m.target}
${m.functions.filter((f) => f.status !== "same").map((f) => ` *   ${f.status} function: ${f.name}`).join("\n")}
${m.types.filter((t) => t.status !== "same").map((t) => ` *   ${t.status} type: ${t.spelling}`).join("\n")}
 *
 * This is a readable view; the compiled units are in build/.
 */
`;
  return head + units.map((u, i) => `\n/* ======== unit ${i} ======== */\n${ownText(u)}\n`).join("") + `\n/* ======== descriptor ======== */\n${descriptor}`;
}
