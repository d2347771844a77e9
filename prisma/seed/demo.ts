/**
 * Seeds the demo data once: one sample server with three versions and a patch
 * waiting for review. Run by scripts/setup.mjs; safe to run again.
 */
import { prisma } from "../../lib/server/db";
import { seedDemo } from "./factories";

async function main() {
  const outcome = await seedDemo();
  console.log(`setup: demo data: ${outcome}`);
}

main()
  .catch((e) => {
    console.error(`setup: demo data failed: ${e instanceof Error ? e.message : e}`);
    process.exitCode = 1;
  })
  .finally(() => prisma.$disconnect());
