import fs from "node:fs";
import path from "node:path";
import { test, expect } from "@playwright/test";
import { signIn, snap } from "../support/session";
import { archiveOf, KVD } from "../support/archives";

test("an API token pushes a version from the command line; the build runs on the worker", async ({ page, request }, testInfo) => {
  await signIn(page, "author");
  await page.goto("/tokens");
  await page.getByLabel("Token name").fill("laptop");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^graft_/);
  await snap(page, testInfo, "token-created");

  const archive = fs.readFileSync(await archiveOf(path.join(KVD, "v0")));
  const res = await request.post("/api/v1/versions?program=kvdpush&label=v0&cflags=" + encodeURIComponent("-std=c11 -D_POSIX_C_SOURCE=200809L -O2"), {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/gzip" },
    data: archive,
  });
  expect(res.status()).toBe(202);
  const { jobId } = await res.json();
  await expect
    .poll(async () => (await (await request.get(`/api/jobs/${jobId}`, { headers: { authorization: `Bearer ${token}` } })).json()).status, { timeout: 120_000 })
    .toBe("done");

  // A refused upload says why, with the code's HTTP status.
  const bad = await request.post("/api/v1/versions?program=kvdpush&label=v1", { headers: { authorization: `Bearer ${token}` }, data: Buffer.from("not an archive") });
  expect(bad.status()).toBe(422);
  expect(await bad.json()).toMatchObject({ ok: false, code: "bad-archive" });

  // A revoked token stops working.
  await page.reload();
  await page.getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByText("revoked")).toBeVisible();
  const after = await request.get(`/api/jobs/${jobId}`, { headers: { authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
});
