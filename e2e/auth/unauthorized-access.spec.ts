import { test, expect } from "@playwright/test";
import { ACCOUNTS, snap } from "../support/session";

test("pages send strangers to the sign-in page", async ({ page }, testInfo) => {
  for (const url of ["/programs", "/patches", "/audit", "/users", "/patches/1"]) {
    await page.goto(url);
    await expect(page).toHaveURL(/\/sign-in$/);
  }
  await snap(page, testInfo, "sign-in");
});

test("machine routes refuse requests without a session or token", async ({ request }) => {
  expect((await request.get("/api/bundles/1")).status()).toBe(401);
  expect((await request.get("/api/jobs/1")).status()).toBe(401);
  const push = await request.post("/api/v1/versions?program=kvd&label=v9", { data: Buffer.from("x"), headers: { authorization: "Bearer graft_not-a-token" } });
  expect(push.status()).toBe(401);
});

test("a wrong password is refused without saying which part was wrong", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(ACCOUNTS.author.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("p[role=alert]")).toHaveText("Wrong email or password.");
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === "graft_session")).toBeUndefined();
});

test("the session cookie is httpOnly", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(ACCOUNTS.reviewer.email);
  await page.getByLabel("Password").fill(ACCOUNTS.reviewer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toBeVisible();
  const c = (await page.context().cookies()).find((c) => c.name === "graft_session");
  expect(c?.httpOnly).toBe(true);
  expect(await page.evaluate(() => document.cookie)).not.toContain("graft_session");
});

test("an author cannot open the users page", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(ACCOUNTS.author.email);
  await page.getByLabel("Password").fill(ACCOUNTS.author.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toBeVisible();
  const res = await page.goto("/users");
  expect(res?.status()).toBeGreaterThanOrEqual(400);
  await expect(page.getByRole("heading", { name: "Users" })).toHaveCount(0);
});
