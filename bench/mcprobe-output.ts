/** The one line bench/mcprobe.c prints: "ops=<n> errors=<n> p50_us=<x> p90_us=<x> p99_us=<x> max_us=<x>". */
export interface ProbeResult {
  ops: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** Fields missing from the output (the probe died) come back NaN. */
export function parseProbe(output: string): ProbeResult {
  const n = (k: string) => Number(new RegExp(`${k}=([\\d.]+)`).exec(output)?.[1] ?? NaN);
  return { ops: n("ops"), errors: n("errors"), p50Us: n("p50_us"), p99Us: n("p99_us"), maxUs: n("max_us") };
}
