/**
 * Factories that build dashboard state through the same lib/server
 * operations the pages use. Used by the demo seed and by tests.
 */
import fs from "node:fs";
import path from "node:path";
import { create as tarCreate } from "tar";
import { prisma } from "../../lib/server/db";
import type { Role, SessionUser } from "../../lib/server/auth/roles";
import { createUser } from "../../lib/server/users/create-user";
import { createProgram } from "../../lib/server/programs/programs";
import { createVersion } from "../../lib/server/versions/create-version";
import { createPatch } from "../../lib/server/patches/create-patch";

export const DEMO_MARKER = "demo.seeded";
/** The build settings of the sample programs (their Makefiles' CFLAGS, minus the include path the server adds). */
export const SAMPLE_CFLAGS = "-std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -O2 -g";

/** The owner of seeded objects. It cannot sign in (no password hash matches "!"). */
export async function seedSystemUser(): Promise<SessionUser> {
  const u = await prisma.user.upsert({
    where: { email: "demo@graft.invalid" },
    create: { email: "demo@graft.invalid", name: "Graft demo", role: "author", passwordHash: "!", disabled: true },
    update: {},
  });
  return { id: u.id, email: u.email, name: u.name, role: u.role as Role };
}

export async function seedUser(opts: { email: string; role: Role; password: string; name?: string }): Promise<SessionUser> {
  const u = await createUser({ actor: null, email: opts.email, name: opts.name ?? opts.email.split("@")[0], role: opts.role, password: opts.password });
  return { id: u.id, email: u.email, name: u.name, role: u.role };
}

/** A .tar.gz of a directory's regular files, in memory. */
export async function archiveDirectory(dir: string): Promise<Buffer> {
  const names = fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile()).sort();
  const chunks: Buffer[] = [];
  const stream = tarCreate({ gzip: true, cwd: dir, portable: true }, names);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export async function seedVersion(opts: { user: SessionUser; programId: number; label: string; dir: string; cflags?: string }) {
  return createVersion({ user: opts.user, programId: opts.programId, label: opts.label, archive: await archiveDirectory(opts.dir), cflags: opts.cflags ?? SAMPLE_CFLAGS });
}

/** One sample server with three versions and a patch (v0 -> v1) waiting for review; the worker builds them. */
export async function seedDemo(): Promise<string> {
  const done = await prisma.auditEvent.findFirst({ where: { action: DEMO_MARKER } });
  if (done) return "already seeded, skipped";
  const exampleDir = path.join(process.cwd(), "native", "examples", "kvd");
  const labels = ["v0", "v1", "v2"].filter((l) => fs.existsSync(path.join(exampleDir, l)));
  if (labels.length < 2) return "native/examples/kvd not there yet, skipped";
  const user = await seedSystemUser();
  const program =
    (await prisma.program.findUnique({ where: { name: "kvd" } })) ??
    (await createProgram({ user: { ...user, role: "admin" }, name: "kvd", description: "A memcached-compatible key-value server (native/examples/kvd)." }));
  const ids: number[] = [];
  for (const label of labels) {
    const existing = await prisma.version.findUnique({ where: { programId_label: { programId: program.id, label } } });
    ids.push(existing?.id ?? (await seedVersion({ user, programId: program.id, label, dir: path.join(exampleDir, label) })).versionId);
  }
  await createPatch({ user, programId: program.id, baseVersionId: ids[0], targetVersionId: ids[1], title: "kvd v0 → v1: stats fixes, 64-bit exptime" });
  await prisma.auditEvent.create({ data: { actorId: user.id, action: DEMO_MARKER, targetType: "system", targetId: "demo" } });
  return `seeded kvd with ${labels.join(", ")} and a patch v0 → v1 (the worker builds them)`;
}
