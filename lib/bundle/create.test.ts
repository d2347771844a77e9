/**
 * createBundle: what goes in, in which order, and how the file is written.
 */
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBundle } from "./create.js";
import { readBundleManifest } from "./read.js";
import { BASE, makePatchFixture, removeTempDirs } from "./test-fixtures.js";
import { verifyBundle } from "./verify.js";

afterAll(removeTempDirs);

describe("createBundle", () => {
  it("round-trips patch.so, patch.c, xform.c and manifest.json as summary.json", () => {
    const fx = makePatchFixture({ xform: true });
    const out = join(fx.root, "kvd-4.graft");
    const created = createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out, created: new Date("2026-11-26T23:50:00.123Z") });
    expect(created).toMatchObject({ path: out, keyId: fx.keys.publicKey.keyId, diagnostics: [] });
    expect(created.manifest).toMatchObject({ program: "kvd", base: BASE, sequence: 4, created: "2026-11-26T23:50:00Z" });

    const r = verifyBundle(readFileSync(out), [fx.keys.publicKey.hex]);
    if (!r.ok) throw new Error(r.reason);
    expect(r.manifest).toEqual(created.manifest);
    expect([...r.files.keys()]).toEqual(["patch.so", "patch.c", "xform.c", "summary.json"]);
    for (const name of ["patch.so", "patch.c", "xform.c"]) expect(r.files.get(name)).toEqual(readFileSync(join(fx.patchDir, name)));
    expect(r.files.get("summary.json")).toEqual(fx.manifestJson);
  });

  it("packs only patch.so and summary.json when the sources are absent", () => {
    const fx = makePatchFixture({ patchC: false });
    const out = join(fx.root, "b.graft");
    const { manifest } = createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out });
    expect(manifest.files.map((f) => f.name)).toEqual(["patch.so", "summary.json"]);
  });

  it("lets --sequence override manifest.json", () => {
    const fx = makePatchFixture();
    const out = join(fx.root, "b.graft");
    createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out, sequence: 17 });
    const shown = readBundleManifest(readFileSync(out));
    expect(shown.ok && shown.manifest.sequence).toBe(17);
    expect(() => createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out, sequence: -1 })).toThrow(/sequence/);
  });

  it("replaces an existing bundle atomically and leaves no temporary file", () => {
    const fx = makePatchFixture();
    const out = join(fx.root, "b.graft");
    writeFileSync(out, "old");
    createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out });
    expect(readFileSync(out).subarray(0, 8).toString()).toBe("GRAFTB01");
    expect(readdirSync(fx.root).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("never writes the private key into the bundle", () => {
    const fx = makePatchFixture();
    const out = join(fx.root, "b.graft");
    createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out });
    const pem = readFileSync(fx.keys.privateKeyPath, "utf8");
    const der = Buffer.from(pem.split("\n").slice(1, -2).join(""), "base64");
    const seed = der.subarray(der.length - 32);
    expect(readFileSync(out).includes(seed)).toBe(false);
  });

  it("refuses a patch dir without patch.so or manifest.json", () => {
    const fx = makePatchFixture();
    rmSync(join(fx.patchDir, "patch.so"));
    expect(() => createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out: join(fx.root, "b.graft") })).toThrow(/no patch.so/);
    rmSync(join(fx.patchDir, "manifest.json"));
    expect(() => createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out: join(fx.root, "b.graft") })).toThrow(/no manifest.json/);
  });

  it("refuses a manifest.json whose fields the bundle cannot carry", () => {
    const fx = makePatchFixture();
    const file = join(fx.patchDir, "manifest.json");
    writeFileSync(file, JSON.stringify({ program: "kvd", base: "XYZ", target: BASE, sequence: "4" }));
    expect(() => createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out: join(fx.root, "b.graft") })).toThrow(
      /manifest.json: base: expected 64 lowercase hex characters; sequence: /,
    );
    writeFileSync(file, "{");
    expect(() => createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out: join(fx.root, "b.graft") })).toThrow(/not valid JSON/);
  });

  it("warns when the private key is readable by others", () => {
    const fx = makePatchFixture();
    chmodSync(fx.keys.privateKeyPath, 0o644);
    const { diagnostics } = createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out: join(fx.root, "b.graft") });
    expect(diagnostics).toEqual([expect.objectContaining({ code: 5009, category: "warning" })]);
  });
});
