import { getPublicSigningKey } from "@/lib/server/signing/public-key";

export const dynamic = "force-dynamic";

/** The public half of the server's signing key, as graft.pub (public information). */
export async function GET() {
  const key = await getPublicSigningKey();
  if (!key) return new Response("no signing key yet\n", { status: 404 });
  return new Response(key.line, {
    headers: { "content-type": "text/plain; charset=utf-8", "content-disposition": 'attachment; filename="graft.pub"' },
  });
}
