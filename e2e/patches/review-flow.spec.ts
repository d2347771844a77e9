/**
 * The whole flow in a real Chromium: an author uploads two versions and
 * creates a patch, watches it generate, reads a diff, edits and checks the
 * transformers; a reviewer approves, builds and downloads the signed bundle;
 * the bundle is verified and applied to a sample server started here, which
 * then answers as the new version with its data kept.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { test, expect, type Page } from "@playwright/test";
import { signIn, snap } from "../support/session";
import { archiveOf, escapingArchive, KVD, REPO, textFile } from "../support/archives";
import { memcache } from "../support/memcache";

test.describe.configure({ mode: "serial" });

const CFLAGS = "-std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -O2 -g";
const E2E_DB = path.join(REPO, "prisma", "e2e.db");
/** scripts/e2e-server.mjs gives the dashboard and worker this sealing secret. */
const E2E_SIGNING_SECRET = path.join(REPO, "prisma", "e2e.signing-secret");

/** The format of lib/server/signing/sealed-key.ts, read independently: AES-256-GCM, IV | tag | body, the public key as AAD. */
function unsealForTest(sealed: string, publicKeyHex: string, secretHex: string): string {
  const raw = Buffer.from(sealed.slice("graft-sealed-v1:".length), "base64");
  const d = crypto.createDecipheriv("aes-256-gcm", Buffer.from(secretHex.trim(), "hex"), raw.subarray(0, 12));
  d.setAAD(Buffer.from(publicKeyHex));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
}
let patchUrl = "";
let kvd: ChildProcess | null = null;
/** Every text body the browser received, to look for key material. */
const seenBodies: string[] = [];

function watchResponses(page: Page) {
  page.on("response", async (res) => {
    const type = res.headers()["content-type"] ?? "";
    if (!/text|json|javascript|x-component/.test(type)) return;
    try {
      seenBodies.push(await res.text());
    } catch {
      /* redirects and aborted requests have no body */
    }
  });
}

async function uploadVersion(page: Page, label: string, file: string) {
  const form = page.getByTestId("upload-version");
  await form.getByLabel("Version label").fill(label);
  await form.getByLabel("Sources (.tar.gz)").setInputFiles(file);
  await form.getByLabel("Compiler flags").fill(CFLAGS);
  await form.getByRole("button", { name: "Upload version" }).click();
}

async function editor(page: Page, id: string) {
  return page.evaluateHandle((id) => (window as unknown as { __graftEditors: Record<string, unknown> }).__graftEditors[id], id);
}

async function setEditorText(page: Page, text: string) {
  await page.waitForFunction(() => !!(window as unknown as { __graftEditors?: Record<string, unknown> }).__graftEditors?.["xform-editor"]);
  const ed = await editor(page, "xform-editor");
  await page.evaluate(([ed, text]) => (ed as { setValue(v: string): void }).setValue(text as string), [ed, text] as const);
}

async function getEditorText(page: Page): Promise<string> {
  await page.waitForFunction(() => !!(window as unknown as { __graftEditors?: Record<string, unknown> }).__graftEditors?.["xform-editor"]);
  const ed = await editor(page, "xform-editor");
  return page.evaluate((ed) => (ed as { getValue(): string }).getValue(), ed);
}

test.afterAll(() => {
  if (kvd && kvd.exitCode === null) kvd.kill("SIGKILL");
});

test("an author uploads two versions; bad uploads are refused with the reason", async ({ page }, testInfo) => {
  watchResponses(page);
  await signIn(page, "author");
  await snap(page, testInfo, "programs-empty");
  const create = page.getByTestId("create-program");
  await create.getByLabel("Name").fill("kvd");
  await create.getByLabel("Description").fill("memcached-style server");
  await create.getByRole("button", { name: "Create program" }).click();
  await page.getByRole("link", { name: "kvd", exact: true }).click();
  await expect(page.getByRole("heading", { name: "kvd" })).toBeVisible();

  // Refusals happen before anything is stored.
  await uploadVersion(page, "junk", textFile("junk.tar.gz", "this is not an archive"));
  await expect(page.getByTestId("upload-version").getByRole("alert")).toContainText("not a .tar.gz archive");
  await uploadVersion(page, "noc", await archiveOf(path.join(REPO, "docs")));
  await expect(page.getByTestId("upload-version").getByRole("alert")).toContainText("no .c files");
  await uploadVersion(page, "evil", escapingArchive());
  await expect(page.getByTestId("upload-version").getByRole("alert")).toContainText("escapes the archive");
  await snap(page, testInfo, "upload-refused");

  await uploadVersion(page, "v0", await archiveOf(path.join(KVD, "v0")));
  await expect(page.getByTestId("upload-version").locator("[data-job-status]")).toHaveAttribute("data-job-status", "done", { timeout: 120_000 });
  await page.reload();
  await uploadVersion(page, "v1", await archiveOf(path.join(KVD, "v1"), "kvd-v1/"));
  await expect(page.getByTestId("upload-version").locator("[data-job-status]")).toHaveAttribute("data-job-status", "done", { timeout: 120_000 });
  await page.reload();
  // Sources that do not compile are refused after the build, and the version is gone again.
  const brokenDir = fs.mkdtempSync(path.join(os.tmpdir(), "graft-e2e-broken-"));
  fs.writeFileSync(path.join(brokenDir, "main.c"), "int main(void) { return missing_function(; }\n");
  await uploadVersion(page, "broken", await archiveOf(brokenDir));
  await expect(page.getByTestId("upload-version").locator("[data-job-status]")).toHaveAttribute("data-job-status", "failed", { timeout: 120_000 });
  await expect(page.getByTestId("upload-version")).toContainText("does not compile");
  await page.reload();
  await expect(page.getByTestId("refused-uploads")).toContainText("broken");
  const rows = page.getByTestId("versions");
  await expect(rows.locator('tr[data-version="v0"] [data-status]')).toHaveText("ready");
  await expect(rows.locator('tr[data-version="v1"] [data-status]')).toHaveText("ready");
  await expect(rows.locator("tr[data-version=junk], tr[data-version=noc], tr[data-version=evil], tr[data-version=broken]")).toHaveCount(0);
  await snap(page, testInfo, "program-versions");
});

test("the author creates the patch and watches it generate", async ({ page }, testInfo) => {
  watchResponses(page);
  await signIn(page, "author");
  await page.goto("/programs");
  await page.getByRole("link", { name: "kvd", exact: true }).click();
  const form = page.getByTestId("create-patch");
  await form.getByLabel("Base (running) version").selectOption({ label: "v0" });
  await form.getByLabel("Target version").selectOption({ label: "v1" });
  await form.getByRole("button", { name: "Create patch" }).click();
  await page.waitForURL(/\/patches\/\d+$/);
  patchUrl = new URL(page.url()).pathname;
  await snap(page, testInfo, "patch-generating");
  await expect(page.getByTestId("summary")).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId("patch-title")).toContainText("ready");
  await expect(page.getByTestId("safety")).toContainText("safe");
  await snap(page, testInfo, "patch-review");
});

test("the review page shows a function's diff and the type field tables", async ({ page }, testInfo) => {
  watchResponses(page);
  await signIn(page, "author");
  await page.goto(patchUrl);
  const fn = page.getByTestId("function-diffs").locator('[data-function="store_flush"]').first();
  await expect(fn).toBeVisible();
  const toggle = fn.getByRole("button", { name: /store_flush/ });
  if ((await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
  await expect(fn.locator(".monaco-diff-editor")).toBeVisible({ timeout: 30_000 });
  await expect(fn.locator(".monaco-diff-editor .view-lines").first()).toContainText("store_flush");
  await expect(page.getByTestId("types")).toContainText("struct item");
  await expect(page.getByTestId("types")).toContainText("exptime");
  await snap(page, testInfo, "function-diff");
});

test("a broken transformer edit shows a marker; #include is refused; a good edit checks clean", async ({ page }, testInfo) => {
  watchResponses(page);
  await signIn(page, "author");
  await page.goto(patchUrl);
  const original = await getEditorText(page);
  expect(original).toContain("graft_xform_item_0_1");

  // A syntax error, checked by gcc on the worker, comes back as a marker on its line.
  const broken = original.replace("new->flags = old->flags;", "new->flags = old->flags +;");
  expect(broken).not.toBe(original);
  await setEditorText(page, broken);
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByTestId("check-status")).toContainText("error", { timeout: 120_000 });
  const brokenLine = broken.split("\n").findIndex((l) => l.includes("old->flags +;")) + 1;
  await expect.poll(() => page.evaluate(() => (window as unknown as { __graftMarkers: () => { startLineNumber: number }[] }).__graftMarkers().map((m) => m.startLineNumber))).toContain(brokenLine);
  await expect(page.locator(".monaco-editor .squiggly-error").first()).toBeVisible();
  await snap(page, testInfo, "check-marker");

  // Code that could read server files is refused before any build.
  await setEditorText(page, `#include "/etc/passwd"\n` + original);
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByTestId("check-status")).toContainText("#include is not allowed");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("check-status")).toContainText("refused");

  // A real edit: a default for a new field.
  const good = original.replace("new->flags = old->flags;", "new->flags = old->flags; /* reviewed */");
  await setEditorText(page, good);
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByTestId("check-status")).toContainText("Compiles", { timeout: 120_000 });
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("check-status")).toContainText("Saved in revision 1");
  await snap(page, testInfo, "check-clean");
});

test("the author cannot approve their own patch", async ({ page }, testInfo) => {
  watchResponses(page);
  await signIn(page, "author");
  await page.goto(patchUrl);
  await expect(page.getByTestId("review-blocked")).toContainText("Only reviewers");
  await expect(page.getByTestId("approve-form")).toHaveCount(0);
  await page.getByTestId("comment-form").getByLabel("Add a comment").fill("exptime is now 64-bit: please check the transformer");
  await page.getByTestId("comment-form").getByRole("button", { name: "Comment" }).click();
  await expect(page.getByTestId("comments")).toContainText("exptime is now 64-bit");
  await snap(page, testInfo, "author-cannot-approve");
});

test("a reviewer approves; an edit afterwards makes a new revision and clears the approval", async ({ page, browser }, testInfo) => {
  watchResponses(page);
  await signIn(page, "reviewer");
  await page.goto(patchUrl);
  await page.getByTestId("approve-form").getByLabel("Comment (optional)").fill("transformers read fine");
  await page.getByTestId("approve-form").getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("patch-title")).toContainText("approved");
  await snap(page, testInfo, "approved");

  // The author edits after the approval.
  await signIn(page, "author");
  await page.goto(patchUrl);
  const text = await getEditorText(page);
  await setEditorText(page, text.replace("/* reviewed */", "/* reviewed twice */"));
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("check-status")).toContainText("Saved as revision 2");
  await page.reload();
  await expect(page.getByTestId("patch-title")).toContainText("open");
  await expect(page.getByTestId("review")).toContainText("No reviews of this revision yet");
  await expect(page.getByTestId("xform-edits")).toBeVisible();
  await snap(page, testInfo, "approval-cleared");

  // A rejection needs a reason, and blocks the bundle until a new approval.
  await signIn(page, "reviewer");
  await page.goto(patchUrl);
  await page.getByTestId("reject-form").getByRole("button", { name: "Reject" }).click();
  await expect(page.getByTestId("reject-form").getByRole("alert")).toContainText("Say why");
  await page.getByTestId("reject-form").getByLabel("Why (required)").fill("the comment is not a transformer change");
  await page.getByTestId("reject-form").getByRole("button", { name: "Reject" }).click();
  await expect(page.getByTestId("patch-title")).toContainText("rejected");
  await expect(page.getByTestId("build-bundle")).toHaveCount(0);

  // The reviewer approves revision 2.
  await signIn(page, "reviewer");
  await page.goto(patchUrl);
  await page.getByTestId("approve-form").getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("patch-title")).toContainText("approved");

  // Four eyes hold across revisions: the reviewer makes a change (revision 3), the author touches a comment
  // (in revision 3, which has no review yet); the reviewer, who wrote revision 3, cannot approve it; the admin can.
  let text3 = await getEditorText(page);
  await setEditorText(page, text3.replace("/* reviewed twice */", "/* reviewed thrice */"));
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("check-status")).toContainText("Saved as revision 3");
  await signIn(page, "author");
  await page.goto(patchUrl);
  text3 = await getEditorText(page);
  await setEditorText(page, text3.replace("/* reviewed thrice */", "/* reviewed thrice. */"));
  await page.getByRole("button", { name: "Save" }).click();
  // Revision 3 has no review yet: the edit goes into it, and the audit log keeps the author as its editor.
  await expect(page.getByTestId("check-status")).toContainText("Saved in revision 3");
  await signIn(page, "reviewer");
  await page.goto(patchUrl);
  await expect(page.getByTestId("review-blocked")).toContainText("You wrote revision 3 of this patch");
  // The history names both: the reviewer made r3, the author edited it.
  await expect(page.getByTestId("history").getByRole("row", { name: /^r3 / })).toContainText("reviewer@e2e.test");
  await expect(page.getByTestId("history").getByRole("row", { name: /^r3 / })).toContainText("author@e2e.test");
  await expect(page.getByTestId("approve-form")).toHaveCount(0);

  // An approval is of the content the page showed: the author edits r3 in place while the admin reads it,
  // and the admin's approval of what they saw is refused.
  await signIn(page, "admin");
  await page.goto(patchUrl);
  const seen = await page.getByTestId("revision-digest").textContent();
  expect(seen).toMatch(/^[0-9a-f]{64}$/);
  const authorPage = await browser.newPage();
  await signIn(authorPage, "author");
  await authorPage.goto(patchUrl);
  const text3b = await getEditorText(authorPage);
  await setEditorText(authorPage, text3b.replace("/* reviewed thrice. */", "/* reviewed thrice.. */"));
  await authorPage.getByRole("button", { name: "Save" }).click();
  await expect(authorPage.getByTestId("check-status")).toContainText("Saved in revision 3");
  await authorPage.close();
  await page.getByTestId("approve-form").getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("approve-form").getByRole("alert")).toContainText("was edited after you loaded it");
  await page.reload();
  await expect(page.getByTestId("patch-title")).toContainText("open");
  const now = await page.getByTestId("revision-digest").textContent();
  expect(now).not.toBe(seen);
  await page.getByTestId("approve-form").getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("patch-title")).toContainText("approved");
  await expect(page.getByTestId("review")).toContainText(now!.slice(0, 12));
});

test("the reviewer builds and downloads the bundle; it verifies and applies to a running server", async ({ page, request }, testInfo) => {
  test.setTimeout(300_000);
  watchResponses(page);
  await signIn(page, "reviewer");
  await page.goto(patchUrl);
  await page.getByTestId("build-bundle").getByRole("button", { name: "Build signed bundle" }).click();
  const link = page.getByTestId("bundles").getByRole("link", { name: /\.graft$/ });
  await expect(link).toBeVisible({ timeout: 240_000 });
  await snap(page, testInfo, "bundle-ready");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "graft-e2e-apply-"));
  const bundle = path.join(work, download.suggestedFilename());
  await download.saveAs(bundle);

  // The public key, as any user of the server gets it.
  const pub = path.join(work, "graft.pub");
  fs.writeFileSync(pub, await (await request.get("/api/signing-key")).text());
  const graft = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO, "bin", "graft.mjs"), ...args], { cwd: work, encoding: "utf8" });
  const verified = graft("verify", bundle, "--pub", pub);
  expect(verified.status, verified.stderr + verified.stdout).toBe(0);

  // The running program: v0 built the way the server built it, trusting the server's key.
  const src = path.join(work, "src");
  fs.mkdirSync(src);
  for (const f of fs.readdirSync(path.join(KVD, "v0"))) fs.copyFileSync(path.join(KVD, "v0", f), path.join(src, f));
  const cfiles = fs.readdirSync(src).filter((f) => f.endsWith(".c")).sort();
  const built = spawnSync(process.execPath, [path.join(REPO, "bin", "graft.mjs"), "compile", "-o", path.join(work, "out"), "--name", "kvd", "--trust", pub, ...cfiles, "--", ...CFLAGS.split(" "), `-I${path.join(REPO, "native", "runtime", "include")}`], { cwd: src, encoding: "utf8" });
  expect(built.status, built.stderr).toBe(0);
  const port = 20000 + Math.floor(Math.random() * 20000);
  kvd = spawn(path.join(work, "out", "kvd"), ["-p", String(port), "-l", "127.0.0.1"], { stdio: ["ignore", "ignore", "pipe"] });
  await expect.poll(() => memcache(port, "version\r\n").catch(() => ""), { timeout: 10_000 }).toContain("VERSION 1.0.0");
  expect(await memcache(port, "set greeting 0 0 5\r\nhello\r\n")).toContain("STORED");

  const applied = graft("apply", "--pid", String(kvd.pid), bundle);
  expect(applied.status, applied.stderr + applied.stdout).toBe(0);
  expect(await memcache(port, "version\r\n")).toContain("VERSION 1.0.1");
  expect(await memcache(port, "get greeting\r\n")).toContain("hello");
  kvd.kill("SIGTERM");
});

test("the signing key never reaches the browser", async ({ page, request }, testInfo) => {
  watchResponses(page);
  const db = new Database(E2E_DB, { readonly: true });
  const row = db.prepare("SELECT privateKeySealed, privateKeyPem, publicKeyHex FROM SigningKey").get() as { privateKeySealed: string; privateKeyPem: string; publicKeyHex: string };
  db.close();
  // At rest the key is sealed with a secret the database does not hold.
  expect(row.privateKeyPem).toBe("");
  expect(row.privateKeySealed).toMatch(/^graft-sealed-v1:/);
  expect(row.privateKeySealed).not.toContain("PRIVATE KEY");
  const pem = unsealForTest(row.privateKeySealed, row.publicKeyHex, fs.readFileSync(E2E_SIGNING_SECRET, "utf8"));
  expect(pem).toContain("PRIVATE KEY");
  const secret = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  // Visit every page once more as an admin, who sees the most.
  await signIn(page, "admin");
  for (const url of ["/programs", "/programs/1", "/versions/1", "/patches", patchUrl, "/keys", "/audit", "/users", "/tokens"]) {
    await page.goto(url);
    await expect(page.getByTestId("whoami")).toBeVisible();
    await snap(page, testInfo, url.replace(/\W+/g, "-").replace(/^-/, "") || "home");
  }
  const pubText = await (await request.get("/api/signing-key")).text();
  expect(pubText.trim()).toBe(`graft-ed25519-public ${row.publicKeyHex}`);
  expect(seenBodies.length).toBeGreaterThan(10);
  for (const body of seenBodies) {
    expect(body).not.toContain("PRIVATE KEY");
    expect(body).not.toContain(secret);
  }
});

test("the audit log records every step", async ({ page }, testInfo) => {
  await signIn(page, "admin");
  await page.goto("/audit");
  const audit = page.getByTestId("audit");
  for (const action of ["version.upload", "patch.create", "patch.comment", "patch.generated", "patch.check", "patch.edit", "patch.approve", "patch.revise", "bundle.built", "bundle.download"])
    await expect(audit).toContainText(action);
  await snap(page, testInfo, "audit-log");
});

const CANARIES = JSON.parse(fs.readFileSync(path.join(REPO, "e2e", "support", "canaries.json"), "utf8")) as { env: string; db: string };
const E2E_LOG = path.join(REPO, "prisma", "e2e.server.log");

/** A .tar.gz of one main.c. */
async function sourceArchive(name: string, source: string): Promise<string> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "graft-e2e-attack-")), name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "main.c"), source);
  return archiveOf(dir);
}

test("sources that reach for the server's secrets get none: canaries in the database, the key and the worker's environment appear in no log, page, response or artefact", async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  watchResponses(page);
  // The database's canary, in a column no page shows (a disabled account's password hash).
  const db = new Database(E2E_DB);
  db.prepare("INSERT INTO User (email, name, role, passwordHash, disabled, createdAt) SELECT 'canary@e2e.invalid', 'canary', 'author', ?, 1, createdAt FROM User LIMIT 1").run(CANARIES.db);
  const key = db.prepare("SELECT privateKeySealed, publicKeyHex FROM SigningKey").get() as { privateKeySealed: string; publicKeyHex: string };
  db.close();
  const sealingSecret = fs.readFileSync(E2E_SIGNING_SECRET, "utf8").trim();
  const pem = unsealForTest(key.privateKeySealed, key.publicKeyHex, sealingSecret);
  const keyBody = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  const canaries = { env: CANARIES.env, db: CANARIES.db, "sealing secret": sealingSecret, "private key": keyBody, "private key's last line": pem.split("\n").filter((l) => l && !l.startsWith("-----")).pop()! };

  await signIn(page, "author");
  const create = page.getByTestId("create-program");
  await create.getByLabel("Name").fill("hostile");
  await create.getByLabel("Description").fill("sources that try to read the server");
  await create.getByRole("button", { name: "Create program" }).click();
  await page.getByRole("link", { name: "hostile", exact: true }).click();
  await expect(page.getByRole("heading", { name: "hostile" })).toBeVisible();
  const programUrl = page.url();
  // builds: whether the build succeeds, where that is known (an environment file in the sandbox holds nothing to stop it).
  const attacks: { label: string; source: string; builds?: boolean }[] = [
    { label: "include-db", source: `#include "${E2E_DB}"\nint main(void) { return 0; }\n`, builds: false },
    { label: "include-secret", source: `#include "${E2E_SIGNING_SECRET}"\nint main(void) { return 0; }\n`, builds: false },
    { label: "include-environ", source: `#include "/proc/self/environ"\nint main(void) { return 0; }\n` },
    { label: "include-parent-environ", source: `#include "/proc/1/environ"\nint main(void) { return 0; }\n` },
    { label: "incbin-db", source: `__asm__(".section .rodata\\n.incbin \\"${E2E_DB}\\"\\n.previous");\nint main(void) { return 0; }\n`, builds: false },
    { label: "asm-include-secret", source: `__asm__(".include \\"${E2E_SIGNING_SECRET}\\"");\nint main(void) { return 0; }\n`, builds: false },
    { label: "has-include-db", source: `#if __has_include("${E2E_DB}")\n#error "the database is visible"\n#endif\n#include <stdio.h>\nint main(void) { puts("honest"); return 0; }\n`, builds: true },
  ];
  for (const a of attacks) {
    await page.goto(programUrl);
    await uploadVersion(page, a.label, await sourceArchive(a.label, a.source));
    await expect(page.getByTestId("upload-version").locator("[data-job-status]")).toHaveAttribute("data-job-status", a.builds === undefined ? /^(done|failed)$/ : a.builds ? "done" : "failed", { timeout: 120_000 });
    if (a.builds === false) await expect(page.getByTestId("upload-version")).toContainText(/No such file|not found|does not compile/);
  }
  await page.goto(programUrl);
  await expect(page.getByTestId("versions").locator('tr[data-version="has-include-db"] [data-status]')).toHaveText("ready");

  // Everything a user can see, as an admin, who sees the most.
  await signIn(page, "admin");
  const hrefs = new Set<string>(["/programs", programUrl.replace(/^https?:\/\/[^/]+/, ""), "/patches", patchUrl, "/keys", "/audit", "/users", "/tokens"]);
  for (const url of ["/programs", programUrl]) {
    await page.goto(url);
    for (const h of await page.locator('a[href^="/versions/"], a[href^="/programs/"], a[href^="/patches/"]').evaluateAll((as) => as.map((a) => a.getAttribute("href")!))) hrefs.add(h);
  }
  const texts: { where: string; text: string }[] = [];
  for (const url of hrefs) {
    await page.goto(url);
    texts.push({ where: url, text: await page.content() });
  }
  // Every job's record and every bundle's bytes, through the API.
  for (let id = 1; ; id++) {
    const res = await page.request.get(`/api/jobs/${id}`);
    if (res.status() === 404) break;
    expect(res.status()).toBe(200);
    texts.push({ where: `/api/jobs/${id}`, text: await res.text() });
  }
  let bundles = 0;
  for (let id = 1; ; id++) {
    const res = await page.request.get(`/api/bundles/${id}`);
    if (res.status() === 404) break;
    if (res.status() !== 200) continue;
    bundles++;
    texts.push({ where: `/api/bundles/${id}`, text: (await res.body()).toString("latin1") });
  }
  expect(bundles).toBeGreaterThan(0);
  texts.push({ where: "the dashboard's and worker's output", text: fs.readFileSync(E2E_LOG, "utf8") });
  texts.push(...seenBodies.map((text, i) => ({ where: `response ${i} the browser received`, text })));
  await snap(page, testInfo, "hostile-program");

  for (const { where, text } of texts) {
    for (const [what, canary] of Object.entries(canaries)) {
      expect(text.includes(canary), `the ${what} appears in ${where}`).toBe(false);
    }
  }
});
