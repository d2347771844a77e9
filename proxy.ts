import { NextResponse, type NextRequest } from "next/server";

/**
 * A server action posted from another origin: Next refuses it by throwing,
 * which answers 500. It is a forbidden request, not a server fault: 403 here,
 * before it reaches the action. Same rule as Next's own check: the Origin's
 * host must be the host the request was sent to.
 */
function crossOriginAction(req: NextRequest): boolean {
  if (req.method !== "POST" || !req.headers.has("next-action")) return false;
  const origin = req.headers.get("origin");
  if (!origin) return false;
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
  try {
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}

/** Security headers for every response. */
export function proxy(req: NextRequest) {
  const res = crossOriginAction(req)
    ? NextResponse.json({ ok: false, code: "forbidden", error: "A form of this site must be sent from this site (cross-origin request refused)." }, { status: 403 })
    : NextResponse.next();
  res.headers.set("X-Frame-Options", "DENY");
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Referrer-Policy", "same-origin");
  res.headers.set("Cross-Origin-Opener-Policy", "same-origin");
  return res;
}

export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
