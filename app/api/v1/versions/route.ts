import { getCurrentUser } from "@/lib/server/auth/session";
import { AppError, errorResponse } from "@/lib/server/errors";
import { prisma } from "@/lib/server/db";
import { createProgram, PROGRAM_NAME } from "@/lib/server/programs/programs";
import { createVersion } from "@/lib/server/versions/create-version";
import { ARCHIVE_LIMITS } from "@/lib/server/versions/unpack-archive";

export const dynamic = "force-dynamic";

/**
 * `graft push`: upload a version with an API token.
 *   POST /api/v1/versions?program=kvd&label=v1&cflags=...&ldflags=...
 *   Authorization: Bearer graft_...      body: the .tar.gz
 * Answers 202 { versionId, jobId }; poll GET /api/jobs/JOB_ID for the build.
 */
export async function POST(req: Request) {
  try {
    const user = await getCurrentUser();
    if (!user) throw new AppError("unauthenticated");
    const url = new URL(req.url);
    const name = url.searchParams.get("program") ?? "";
    const label = url.searchParams.get("label") ?? "";
    if (!PROGRAM_NAME.test(name)) throw new AppError("invalid", "program: a lower-case name is required");
    const length = Number(req.headers.get("content-length") ?? 0);
    if (length > ARCHIVE_LIMITS.compressedBytes) throw new AppError("too-large");
    const archive = Buffer.from(await req.arrayBuffer());
    const program = (await prisma.program.findUnique({ where: { name } })) ?? (await createProgram({ user, name }));
    const r = await createVersion({
      user,
      programId: program.id,
      label,
      archive,
      cflags: url.searchParams.get("cflags") ?? "",
      ldflags: url.searchParams.get("ldflags") ?? "",
    });
    return Response.json({ ok: true, ...r, program: program.name, label }, { status: 202 });
  } catch (e) {
    return errorResponse(e);
  }
}
