import "server-only";

import { notFound } from "next/navigation";

import { AppError } from "./errors";

/**
 * The numeric id in a URL segment. Anything else (`1%2F..%2F`, `-1`, `1e3`,
 * an id past the database's integer) is an id that names nothing: a 404 with
 * the reason, never a query with NaN (which the database layer answers with
 * a 500).
 */
export function parseRouteId(raw: string, what: string): number {
  const n = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n > 0x7fffffff) throw new AppError("not-found", `No ${what} has the id ${JSON.stringify(raw.slice(0, 40))}.`);
  return n;
}

/** For pages: Next's not-found page instead of a thrown error. */
export function pageRouteId(raw: string): number {
  try {
    return parseRouteId(raw, "item");
  } catch {
    notFound();
  }
}
