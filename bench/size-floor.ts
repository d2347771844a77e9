/**
 * The least any updateable build with the shared runtime can weigh: the stock
 * program's own objects, not rewritten at all, linked with libgraft.so.1 and
 * the few definitions the runtime reads from every program (its name, version
 * digest, trusted keys), plus one use of the update point's flag and entry.
 * For a program a few pages long, the pages this alone adds are most of what
 * the size ratio can show.
 */
import { spawnSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import path from "node:path";

import { LIBGRAFT_SO } from "../lib/compile/toolchain.js";

const FLOOR_C = `/* bench/size-floor.ts: what every updateable program links, and nothing else. */
extern int grt_pending;
void grt_update_point_restart(unsigned id);
void __graft_floor_touch(void) { if (__atomic_load_n(&grt_pending, __ATOMIC_RELAXED)) grt_update_point_restart(1); }
const char grt_program_name[] = "floor";
const char grt_version_digest[] = "${"0".repeat(64)}";
const char grt_trusted_keys[] = "";
const int grt_insecure_unsigned = 0;
`;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
}

/** Bytes of the stripped executable: `stockObjects` + libgraft.so.1, linked as graft compile links (RUNPATH $ORIGIN). */
export function runtimeOnlyStrippedSize(stockObjects: string[], cflags: string[], work: string, name: string): number {
  const src = path.join(work, `${name}-floor.c`);
  const obj = path.join(work, `${name}-floor.o`);
  const exe = path.join(work, `${name}-floor`);
  writeFileSync(src, FLOOR_C);
  run("gcc", [...cflags, "-c", src, "-o", obj]);
  run("gcc", ["-o", exe, ...stockObjects, obj, LIBGRAFT_SO, "-Wl,-rpath,$ORIGIN", `-Wl,--undefined=__graft_floor_touch`]);
  run("strip", ["--strip-all", "-o", `${exe}.stripped`, exe]);
  return statSync(`${exe}.stripped`).size;
}
