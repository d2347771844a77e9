import { getCurrentUser } from "@/lib/server/auth/session";
import { getJob } from "@/lib/server/jobs/queue";
import { AppError, errorResponse } from "@/lib/server/errors";
import { parseRouteId } from "@/lib/server/route-id";

export const dynamic = "force-dynamic";

/** A job's status and progress log, for the pages' live progress (and `graft push`). */
export async function GET(_req: Request, ctx: { params: Promise<{ jobId: string }> }) {
  try {
    if (!(await getCurrentUser())) throw new AppError("unauthenticated");
    const job = await getJob(parseRouteId((await ctx.params).jobId, "job"));
    if (!job) throw new AppError("not-found");
    return Response.json({ id: job.id, kind: job.kind, status: job.status, log: job.log, error: job.error, result: job.result });
  } catch (e) {
    return errorResponse(e);
  }
}
