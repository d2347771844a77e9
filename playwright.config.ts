import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, devices } from "@playwright/test";

// The browser tests run against their own server and database (scripts/e2e-server.mjs).
const root = path.dirname(fileURLToPath(import.meta.url));
// A port of this checkout's own (two clones can run their tests at once); the same in every Playwright process.
const PORT = Number(process.env.GRAFT_E2E_PORT ?? 3100 + (parseInt(createHash("sha256").update(root).digest("hex").slice(0, 8), 16) % 800));
const baseURL = `http://127.0.0.1:${PORT}`;
const E2E_DB = path.join(root, "prisma", "e2e.db");

export default defineConfig({
  testDir: "./e2e",
  timeout: 180_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  outputDir: "test-results",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "on",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        viewport: { width: 1400, height: 900 },
        // Debian's chromium (apt-get install -y chromium); no Playwright browser download.
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No DNS for anything but loopback.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
          ],
        },
      },
    },
  ],
  webServer: {
    // `next build` has run (npm test's setup); this starts next start + the worker on a fresh e2e database.
    command: "node scripts/e2e-server.mjs",
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    env: { PORT: String(PORT), GRAFT_E2E_DB: E2E_DB, NEXT_TELEMETRY_DISABLED: "1" },
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
  },
});
