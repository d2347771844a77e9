/**
 * Factories that build dashboard state, used by the demo seed and by tests.
 */
import fs from "node:fs";
import path from "node:path";
import { prisma } from "../../lib/server/db";

export const DEMO_MARKER = "demo.seeded";

/** The owner of seeded objects. It cannot sign in (no password hash matches "!"). */
export async function seedSystemUser() {
  return prisma.user.upsert({
    where: { email: "system@graft.invalid" },
    create: { email: "system@graft.invalid", name: "Graft demo", role: "author", passwordHash: "!", disabled: true },
    update: {},
  });
}

export async function seedDemo(): Promise<string> {
  const done = await prisma.auditEvent.findFirst({ where: { action: DEMO_MARKER } });
  if (done) return "already seeded, skipped";
  const exampleDir = path.join(process.cwd(), "native", "examples", "kvd");
  if (!fs.existsSync(exampleDir)) return "native/examples/kvd not there yet, skipped";
  await seedSystemUser();
  return "sample program found; demo versions not wired yet, skipped";
}
