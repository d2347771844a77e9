/**
 * How many compiler processes run at once, and a map that keeps to it. One
 * more than the cores: while the compilers use the cores, Node's own thread
 * prepares the next job (spawning is synchronous) instead of leaving a core idle.
 */
import { availableParallelism } from "node:os";

export const COMPILER_JOBS = availableParallelism() + 1;

/**
 * `fn` over `items`, at most `limit` at a time, results in the items' order.
 * The first failure stops new jobs from starting and is what the promise
 * rejects with (jobs already running finish first, so no compiler is left
 * writing into a directory that is about to be removed).
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  async function lane(): Promise<void> {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}
