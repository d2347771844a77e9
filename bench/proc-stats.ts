/** What /proc says about a running server: its memory, and the CPU time all its threads have run. */
import { readdirSync, readFileSync } from "node:fs";

export interface MemoryStatus {
  vmRssKb: number;
  vmHwmKb: number;
}

export function procStatus(pid: number): MemoryStatus {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { vmRssKb: kb("VmRSS"), vmHwmKb: kb("VmHWM") };
}

/** CPU time the process has run, all threads, in ns (schedstat's sum_exec_runtime; finer than utime's ticks). */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      /* the thread ended */
    }
  }
  return total;
}
