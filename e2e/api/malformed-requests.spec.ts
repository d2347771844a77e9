import { test, expect } from "@playwright/test";
import { signIn } from "../support/session";

test("malformed ids and cross-origin form posts get a 4xx with a reason, never a 500", async ({ page }) => {
  await signIn(page, "reviewer");
  for (const id of ["1%2F..%2F", "-1", "1e3", "abc", "99999999999", "0"]) {
    for (const route of ["bundles", "jobs"]) {
      const res = await page.request.get(`/api/${route}/${id}`);
      expect(res.status(), `${route}/${id}: ${await res.text()}`).toBe(404);
      expect(await res.json(), `${route}/${id}`).toMatchObject({ ok: false, code: "not-found", error: expect.stringMatching(/^No (bundle|job) has the id /) });
    }
  }
  for (const pageUrl of ["/patches/1%2F..%2F", "/versions/-1", "/programs/abc"]) {
    const res = await page.request.get(pageUrl);
    expect(res.status(), pageUrl).toBe(404);
  }
  // A server action posted as if from another site.
  const res = await page.request.post("/", {
    headers: { "next-action": "0".repeat(40), origin: "https://evil.example", "content-type": "text/plain;charset=UTF-8" },
    data: "[]",
  });
  expect(res.status()).toBe(403);
  expect(await res.json()).toMatchObject({ ok: false, code: "forbidden" });
});
