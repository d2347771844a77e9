import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, type Page, type TestInfo } from "@playwright/test";

const HERE = path.dirname(fileURLToPath(import.meta.url));

type Account = { email: string; password: string; role: string };
export const ACCOUNTS = JSON.parse(fs.readFileSync(path.join(HERE, "accounts.json"), "utf8")) as Record<"admin" | "author" | "reviewer", Account>;

export async function signIn(page: Page, who: keyof typeof ACCOUNTS) {
  const a = ACCOUNTS[who];
  await page.context().clearCookies();
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(a.email);
  await page.getByLabel("Password").fill(a.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText(a.email);
}

/** A full-page screenshot kept with the test's artifacts (test-results/). */
export async function snap(page: Page, testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(`${String(testInfo.attachments.length + 1).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
}
