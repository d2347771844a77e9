/** Rows, ratios and tables of bench/real.ts (the formatting of bench/run.ts, for the real programs). */
import { pairedRatio } from "./paired-ratio.js";

export interface Goal {
  text: string;
  ok: (ratio: number) => boolean;
}

export const SPEED_TPUT: Goal = { text: ">= 0.99", ok: (r) => r >= 0.99 };
export const SPEED_LAT: Goal = { text: "<= 1.01", ok: (r) => r <= 1.01 };
export const MEMORY: Goal = { text: "<= 1.05", ok: (r) => r <= 1.05 };
export const SIZE: Goal = { text: "<= 1.30", ok: (r) => r <= 1.3 };
export const COMPILE: Goal = { text: "<= 3.00", ok: (r) => r <= 3 };
export const PATCH_GEN: Goal = { text: "<= 2.00", ok: (r) => r <= 2 };

export interface Row {
  program: string;
  metric: string;
  unit: string;
  stock: number;
  graft: number;
  ratio: number;
  /** Paired windows: the median ratio's 95% interval (bench/paired-ratio.ts). */
  ci?: { lo: number; hi: number; pairs: number };
  /** Range of the per-window or per-round ratios. */
  range?: { min: number; max: number };
  goal?: string;
  met?: boolean;
  /** The whole interval on one side of the goal, or a single deterministic figure. */
  conclusive?: boolean;
  note?: string;
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A ratio from paired samples (both builds in one window each): the median per-window ratio and its 95% interval. */
export function pairedRow<W>(program: string, metric: string, unit: string, samples: { stock: W; graft: W }[], get: (w: W) => number | null, goal?: Goal): Row {
  const v = (w: W) => get(w) ?? NaN;
  const per = samples.map((x) => v(x.graft) / v(x.stock));
  const est = pairedRatio(per);
  const fin = per.filter((r) => Number.isFinite(r) && r > 0);
  return {
    program,
    metric,
    unit,
    stock: median(samples.map((x) => v(x.stock))),
    graft: median(samples.map((x) => v(x.graft))),
    ratio: est.ratio,
    ci: { lo: est.lo, hi: est.hi, pairs: est.pairs },
    ...(fin.length ? { range: { min: Math.min(...fin), max: Math.max(...fin) } } : {}),
    ...(goal
      ? {
          goal: goal.text,
          met: Number.isFinite(est.ratio) && goal.ok(est.ratio),
          conclusive: Number.isFinite(est.lo) && goal.ok(est.lo) === goal.ok(est.hi) && goal.ok(est.lo) === goal.ok(est.ratio),
        }
      : {}),
  };
}

/** Sequential rounds (one build after the other, order alternating): medians, and the median of the per-round ratios. */
export function roundsRow(program: string, metric: string, unit: string, rounds: { stock: number; graft: number }[], goal?: Goal, note?: string): Row {
  const per = rounds.map((r) => r.graft / r.stock).filter(Number.isFinite);
  const ratio = median(per);
  return {
    program,
    metric,
    unit,
    stock: median(rounds.map((r) => r.stock)),
    graft: median(rounds.map((r) => r.graft)),
    ratio,
    ...(per.length ? { range: { min: Math.min(...per), max: Math.max(...per) } } : {}),
    ...(goal
      ? { goal: goal.text, met: Number.isFinite(ratio) && goal.ok(ratio), conclusive: per.length >= 5 && (per.every((x) => goal.ok(x)) || per.every((x) => !goal.ok(x))) }
      : {}),
    ...(note ? { note } : {}),
  };
}

export function singleRow(program: string, metric: string, unit: string, stock: number, graft: number, goal?: Goal, note?: string): Row {
  const ratio = graft / stock;
  return {
    program,
    metric,
    unit,
    stock,
    graft,
    ratio,
    ...(goal ? { goal: goal.text, met: Number.isFinite(ratio) && goal.ok(ratio), conclusive: true } : {}),
    ...(note ? { note } : {}),
  };
}

export function fmt(x: number | undefined | null, digits = 0): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return "-";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtValue(x: number, unit: string): string {
  const a = Math.abs(x);
  if (unit === "ms" || unit === "us") return fmt(x, a < 10 ? 2 : a < 100 ? 1 : 0);
  return fmt(x, 0);
}

export function rowsTable(rows: Row[]): string[][] {
  const out = [["program / metric", "stock", "updateable", "ratio", "95% interval", "ratio range", "goal", "verdict", "conclusive"]];
  for (const r of rows) {
    out.push([
      `${r.program} ${r.metric} (${r.unit})`,
      fmtValue(r.stock, r.unit),
      fmtValue(r.graft, r.unit),
      fmt(r.ratio, 3),
      r.ci && Number.isFinite(r.ci.lo) ? `${fmt(r.ci.lo, 3)}..${fmt(r.ci.hi, 3)}` : "",
      r.range ? `${fmt(r.range.min, 3)}..${fmt(r.range.max, 3)}` : "",
      r.goal ?? "",
      r.met === undefined ? "" : r.met ? "met" : "NOT MET",
      r.conclusive === undefined ? "" : r.range === undefined && !r.ci ? "(single)" : r.conclusive ? "yes" : "no",
    ]);
  }
  return out;
}

export function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join("\n");
}

export function mdTable(rows: string[][]): string {
  const head = `| ${rows[0].join(" | ")} |`;
  const sep = `| ${rows[0].map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`;
  return [head, sep, ...rows.slice(1).map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
