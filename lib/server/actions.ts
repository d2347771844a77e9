import "server-only";
import type { z } from "zod";
import { AppError, toSafeError, type ActionResult } from "./errors";

/** Validates FormData-derived input with a zod schema, returning field errors the form can show. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new AppError("invalid", first ? `${first.path.join(".") || "input"}: ${first.message}` : undefined);
  }
  return r.data;
}

/** Runs a server action's body and maps any failure to a safe `{ ok: false, code, error }`. */
export async function runAction<T>(body: () => Promise<T>): Promise<ActionResult<T>> {
  try {
    return { ok: true, data: await body() };
  } catch (e) {
    // redirect() and notFound() work by throwing: let them through.
    if (e && typeof e === "object" && "digest" in e && typeof (e as { digest: unknown }).digest === "string" && (e as { digest: string }).digest.startsWith("NEXT_")) throw e;
    const { code, error } = toSafeError(e);
    return { ok: false, code, error };
  }
}
