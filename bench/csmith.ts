/**
 * Csmith over many seeds: every random program that builds and runs stock
 * must build updateable and print the same checksum (test/support/csmith.ts
 * says how one seed goes).
 *
 *   npx tsx bench/csmith.ts [--seeds N] [--from S] [--csmith "OPTS"] [--cflags "FLAGS"] [--keep] [--json FILE]
 *
 * --csmith and --cflags replace CSMITH_OPTIONS and CSMITH_CFLAGS (split at
 * spaces), e.g. --csmith "--no-volatiles --max-funcs 10" for larger programs.
 * Seeds S, S+1, ..., S+N-1 (default 1..100), one at a time (one gcc at a
 * time). Prints a line per seed, then the counts of each outcome, the graft
 * failures grouped by their first error message (names and numbers taken
 * out, so one bug is one group) with the seeds that show it, and the median
 * ratio of compile time updateable / stock. Exits 1 when any seed differs or
 * fails to build updateable, 2 on a bad option.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import {
  CSMITH_CFLAGS,
  CSMITH_OPTIONS,
  failureClass,
  missingCsmithTools,
  runCsmithSeed,
  type CsmithOutcome,
  type CsmithResult,
} from "../test/support/csmith.js";

interface Options {
  seeds: number;
  from: number;
  csmithOptions: readonly string[];
  cflags: readonly string[];
  keep: boolean;
  json: string | null;
}

const USAGE = 'usage: npx tsx bench/csmith.ts [--seeds N] [--from S] [--csmith "OPTS"] [--cflags "FLAGS"] [--keep] [--json FILE]';

function parseArgs(argv: string[]): Options {
  const opts: Options = { seeds: 100, from: 1, csmithOptions: CSMITH_OPTIONS, cflags: CSMITH_CFLAGS, keep: false, json: null };
  const words = (name: string, v: string | undefined): string[] => (v === undefined ? usage(`${name} wants a value`) : v.split(/\s+/).filter(Boolean));
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) usage(`${name} wants an integer >= ${min}, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--seeds") opts.seeds = int(a, argv[++i], 1);
    else if (a === "--from") opts.from = int(a, argv[++i], 0);
    else if (a === "--csmith") opts.csmithOptions = words(a, argv[++i]);
    else if (a === "--cflags") opts.cflags = words(a, argv[++i]);
    else if (a === "--keep") opts.keep = true;
    else if (a === "--json") opts.json = argv[++i] ?? usage("--json wants a file");
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else usage(`unknown option ${a}`);
  }
  return opts;
}

function usage(why: string): never {
  console.error(`bench/csmith: ${why}\n${USAGE}`);
  process.exit(2);
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join("\n");
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "-");

/** Seed ranges, compactly: 3-5, 9, 12. */
function ranges(seeds: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seeds.length; ) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j] + 1) j++;
    out.push(j > i ? `${seeds[i]}-${seeds[j]}` : String(seeds[i]));
    i = j + 1;
  }
  return out.join(", ");
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const missing = missingCsmithTools();
  if (missing.length) {
    console.error(`bench/csmith: missing ${missing.map((m) => `${m.tool} (apt-get install ${m.debianPackage})`).join(", ")}`);
    process.exit(1);
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "graft-csmith-"));
  const t0 = performance.now();
  console.log(`csmith ${opts.csmithOptions.join(" ")}; gcc ${opts.cflags.join(" ")}; seeds ${opts.from}..${opts.from + opts.seeds - 1}`);
  const results: CsmithResult[] = [];
  try {
    for (let seed = opts.from; seed < opts.from + opts.seeds; seed++) {
      const r = await runCsmithSeed(seed, work, { keep: opts.keep, csmithOptions: opts.csmithOptions, cflags: opts.cflags });
      results.push(r);
      const t = r.ms.graftBuild !== undefined ? ` (stock ${fmt(r.ms.stockBuild ?? NaN)} ms, updateable ${fmt(r.ms.graftBuild)} ms)` : "";
      const why = r.outcome === "same" ? "" : ` at ${r.step}: ${r.outcome === "graft-failed" ? failureClass(r.details) : (r.details[0] ?? "")}`;
      console.log(`seed ${seed}: ${r.outcome}${why}${t}`);
    }
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- report
  const outcomes: CsmithOutcome[] = ["same", "differs", "graft-failed", "stock-unusable"];
  const count = (o: CsmithOutcome) => results.filter((r) => r.outcome === o);
  console.log("");
  console.log(table([["outcome", "seeds", "share"], ...outcomes.map((o) => [o, String(count(o).length), `${fmt((100 * count(o).length) / results.length)}%`])]));

  const groups = new Map<string, CsmithResult[]>();
  for (const r of results.filter((x) => x.outcome === "graft-failed" || x.outcome === "differs")) {
    const k = r.outcome === "differs" ? `differs (${r.step})` : failureClass(r.details);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  if (groups.size) {
    console.log("\nFailures by first error message:");
    for (const [k, rs] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
      console.log(`\n  ${rs.length} x ${k}\n    seeds ${ranges(rs.map((r) => r.seed))}\n    e.g. seed ${rs[0].seed}:`);
      for (const l of rs[0].details.slice(0, 6)) console.log(`      ${l}`);
    }
  }

  const unusable = count("stock-unusable");
  if (unusable.length) {
    const why = new Map<string, number[]>();
    for (const r of unusable) {
      const k = `${r.step}: ${(r.details[0] ?? "").replace(/\d+ ms/, "N ms")}`;
      why.set(k, [...(why.get(k) ?? []), r.seed]);
    }
    console.log("\nStock-unusable (Csmith's, not Graft's):");
    for (const [k, seeds] of why) console.log(`  ${seeds.length} x ${k} (seeds ${ranges(seeds)})`);
  }

  const built = results.filter((r) => r.ms.graftBuild !== undefined && r.ms.stockBuild !== undefined);
  const ratios = built.map((r) => r.ms.graftBuild! / r.ms.stockBuild!);
  console.log(
    `\nCompile time, updateable / stock: median ${fmt(median(ratios), 2)}x over ${built.length} seeds ` +
      `(stock median ${fmt(median(built.map((r) => r.ms.stockBuild!)))} ms, updateable median ${fmt(median(built.map((r) => r.ms.graftBuild!)))} ms)`,
  );
  console.log(`Wall time ${fmt((performance.now() - t0) / 1000)} s${opts.keep ? `; kept ${work}` : ""}`);

  if (opts.json) {
    mkdirSync(path.dirname(path.resolve(opts.json)), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ csmithOptions: opts.csmithOptions, cflags: opts.cflags, from: opts.from, seeds: opts.seeds, results }, null, 2) + "\n");
  }
  const bad = count("differs").length + count("graft-failed").length;
  process.exit(bad ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error("bench/csmith: failed:", e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
