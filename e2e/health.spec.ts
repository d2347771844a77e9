import { test, expect } from "@playwright/test";

test("the first page and the health endpoint answer", async ({ page, request }) => {
  const res = await page.goto("/");
  expect(res?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "Graft" })).toBeVisible();
  await expect.poll(async () => (await (await request.get("/api/health")).json()).worker, { timeout: 30_000 }).toBe("up");
  const health = await (await request.get("/api/health")).json();
  expect(health).toEqual({ ok: true, database: "up", worker: "up" });
});
