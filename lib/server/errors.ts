import "server-only";

/**
 * The dashboard's one table of error codes. Each code has an HTTP status and a
 * message safe to show; `AppError` carries one code (and optionally a more
 * specific, still safe, message). Anything else that escapes is reported as
 * "internal" without its details.
 */
export const ERROR_CODES = {
  unauthenticated: { status: 401, message: "Sign in first." },
  "bad-credentials": { status: 401, message: "Wrong email or password." },
  forbidden: { status: 403, message: "Your role does not allow this." },
  "own-patch": { status: 403, message: "You cannot approve a patch you wrote." },
  "not-found": { status: 404, message: "Not found." },
  invalid: { status: 400, message: "The request is not valid." },
  conflict: { status: 409, message: "This conflicts with the current state." },
  "not-approved": { status: 409, message: "Only an approved revision can be built into a bundle." },
  "bad-archive": { status: 422, message: "The upload was refused." },
  "too-large": { status: 413, message: "The upload is too large." },
  "unsafe-code": { status: 422, message: "The transformer code was refused." },
  internal: { status: 500, message: "Something went wrong on the server." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERROR_CODES[code].message);
    this.name = "AppError";
    this.code = code;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** The outcome of a server action, returned across the wire instead of throwing. */
export type ActionResult<T = undefined> = { ok: true; data: T } | { ok: false; code: ErrorCode; error: string; fieldErrors?: Record<string, string[]> };

/** Maps anything thrown to a safe `{ code, error }`; internal details are only logged. */
export function toSafeError(e: unknown): { code: ErrorCode; error: string; status: number } {
  if (e instanceof AppError) return { code: e.code, error: e.message, status: e.status };
  console.error(e);
  return { code: "internal", error: ERROR_CODES.internal.message, status: 500 };
}

/** JSON response for route handlers (machines). */
export function errorResponse(e: unknown): Response {
  const { code, error, status } = toSafeError(e);
  return Response.json({ ok: false, code, error }, { status });
}
