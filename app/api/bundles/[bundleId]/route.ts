import { getCurrentUser } from "@/lib/server/auth/session";
import { downloadBundle } from "@/lib/server/bundles/download-bundle";
import { AppError, errorResponse } from "@/lib/server/errors";
import { parseRouteId } from "@/lib/server/route-id";

export const dynamic = "force-dynamic";

/** Downloads a signed bundle (reviewers and admins; session or API token). */
export async function GET(_req: Request, ctx: { params: Promise<{ bundleId: string }> }) {
  try {
    const user = await getCurrentUser();
    if (!user) throw new AppError("unauthenticated");
    const b = await downloadBundle({ user, bundleId: parseRouteId((await ctx.params).bundleId, "bundle") });
    return new Response(new Uint8Array(b.bytes), {
      headers: {
        "content-type": "application/octet-stream",
        "content-disposition": `attachment; filename="${b.fileName.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
        "x-graft-sha256": b.sha256,
      },
    });
  } catch (e) {
    return errorResponse(e);
  }
}
