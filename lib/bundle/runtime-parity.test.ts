/**
 * `graft verify` must give the running program's verdict. This test builds
 * native/runtime/bundle.c (with the rest of libgraft) into a small harness
 * that calls grt_bundle_open on each of a few thousand bundles, good and
 * bad, and compares its reason codes with verifyBundle's, one by one.
 *
 * It uses the runtime's private bundle.h: if that API changes, change the
 * harness below. Skipped only where gcc or libsodium's header is missing.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createBundle } from "./create.js";
import { generateKeyPair, computeKeyId, readPrivateKey } from "./keys.js";
import { encodeBundle } from "./layout.js";
import { signManifest } from "./signature.js";
import { BASE, makePatchFixture, makeTempDir, minimalSharedObject, removeTempDirs } from "./test-fixtures.js";
import { verifyBundle } from "./verify.js";

const RUNTIME = resolve(fileURLToPath(import.meta.url), "../../../native/runtime");
/** The runtime's sources, as its Makefile lists them. */
const RUNTIME_SOURCES = /^SRCS := (.*)$/m.exec(readFileSync(join(RUNTIME, "Makefile"), "utf8"))![1].trim().split(/\s+/);

function haveToolchain(): boolean {
  if (!existsSync("/usr/include/sodium.h") || !existsSync(join(RUNTIME, "bundle.c"))) return false;
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

afterAll(removeTempDirs);

/** Every bundle to compare: name and bytes. */
function makeCases(): { cases: Array<[string, Buffer]>; trustedHex: string } {
  const fx = makePatchFixture({ xform: true });
  const out = join(fx.root, "good.graft");
  createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out, created: new Date("2026-11-26T23:50:00Z") });
  const good = readFileSync(out);
  const cases: Array<[string, Buffer]> = [["good", good]];
  for (const mask of [0x01, 0x80]) {
    for (let i = 0; i < good.length; i++) {
      const c = Buffer.from(good);
      c[i] ^= mask;
      cases.push([`flip${mask}-${i}`, c]);
    }
  }
  for (let i = 0; i < good.length; i++) cases.push([`truncated-${i}`, good.subarray(0, i)]);
  cases.push(["trailing", Buffer.concat([good, Buffer.from([0])])]);
  for (const sequence of [0, 1]) {
    const o = join(fx.root, `s${sequence}.graft`);
    createBundle({ patchDir: fx.patchDir, key: fx.keys.privateKeyPath, out: o, sequence });
    cases.push([`sequence-${sequence}`, readFileSync(o)]);
  }
  const other = generateKeyPair(join(makeTempDir(), "other"));
  const o = join(fx.root, "other.graft");
  createBundle({ patchDir: fx.patchDir, key: other.privateKeyPath, out: o });
  cases.push(["other-key", readFileSync(o)]);

  // Properly signed manifests that each reader must judge by its parser.
  const key = readPrivateKey(fx.keys.privateKeyPath);
  const so = minimalSharedObject(120);
  const sha = createHash("sha256").update(so).digest("hex");
  const head = (fields: Partial<Record<"program" | "base" | "target" | "sequence" | "created", string>> = {}) =>
    `graft-bundle 1\nprogram ${fields.program ?? "kvd"}\nbase ${fields.base ?? BASE}\ntarget ${fields.target ?? BASE}\n` +
    `sequence ${fields.sequence ?? "4"}\ncreated ${fields.created ?? "2026-11-26T23:50:00Z"}\n`;
  const soLine = `file patch.so ${so.length} ${sha}\n`;
  const signed: Array<[string, string, string[]]> = [
    ["another-program", head({ program: "httpd" }) + soLine, ["patch.so"]],
    ["another-base", head({ base: "00".repeat(32) }) + soLine, ["patch.so"]],
    ["no-patch.so", head() + `file patch.c ${so.length} ${sha}\n`, ["patch.c"]],
    ["sequence-leading-zero", head({ sequence: "04" }) + soLine, ["patch.so"]],
    ["sequence-2^53", head({ sequence: "9007199254740992" }) + soLine, ["patch.so"]],
    ["sequence-2^53-1", head({ sequence: "9007199254740991" }) + soLine, ["patch.so"]],
    ["created-impossible-date", head({ created: "2026-13-45T99:99:99Z" }) + soLine, ["patch.so"]],
    ["created-local-time", head({ created: "2026-11-26T23:50:00+01" }) + soLine, ["patch.so"]],
    ["crlf", head().replace("\n", "\r\n") + soLine, ["patch.so"]],
    ["blank-line", head() + soLine + "\n", ["patch.so"]],
    ["listed-twice", head() + soLine + soLine, ["patch.so", "patch.so"]],
    ["uppercase-base", head({ base: BASE.toUpperCase() }) + soLine, ["patch.so"]],
    ["trailing-space", head() + soLine.replace("\n", " \n"), ["patch.so"]],
    ["non-ascii-program", head({ program: "kvé" }) + soLine, ["patch.so"]],
    ["64-files", head() + soLine + Array.from({ length: 63 }, (_, i) => `file f${i} ${so.length} ${sha}\n`).join(""), ["patch.so", ...Array.from({ length: 63 }, (_, i) => `f${i}`)]],
    ["65-files", head() + soLine + Array.from({ length: 64 }, (_, i) => `file f${i} ${so.length} ${sha}\n`).join(""), ["patch.so", ...Array.from({ length: 64 }, (_, i) => `f${i}`)]],
  ];
  for (const [name, text, files] of signed) {
    const manifestBytes = Buffer.from(text);
    cases.push([
      `signed-${name}`,
      encodeBundle({
        manifestBytes,
        keyId: computeKeyId(key.publicKey.raw),
        signature: signManifest(manifestBytes, key.privateKey),
        files: files.map((f) => ({ name: f, content: so })),
      }),
    ]);
  }
  return { cases, trustedHex: fx.keys.publicKey.hex };
}

/** A program around libgraft whose meta symbols say: kvd, running BASE at sequence 0. */
function harnessSource(trustedHex: string): string {
  return `#include <stdio.h>
#include <string.h>
#include "bundle.h"
const char grt_program_name[] = "kvd";
const char grt_version_digest[] = "${BASE}";
const char grt_trusted_keys[] = "${trustedHex}\\n";
const int grt_insecure_unsigned = 0;
int main(int argc, char **argv)
{
    char name[512], path[4096];
    FILE *list = fopen(argv[1], "r");
    (void)argc;
    while (fgets(name, sizeof name, list)) {
        grt_bundle b;
        grt_refusal r;
        name[strcspn(name, "\\n")] = 0;
        snprintf(path, sizeof path, "%s/%s.graft", argv[2], name);
        memset(&r, 0, sizeof r);
        if (grt_bundle_open(path, &b, &r) == 0) {
            printf("%s ok\\n", name);
            grt_bundle_close(&b);
        } else {
            printf("%s %s\\n", name, r.code);
        }
    }
    return 0;
}
`;
}

describe.skipIf(!haveToolchain())("verifyBundle and native/runtime/bundle.c", () => {
  it("give the same verdict on every bundle of the matrix", () => {
    const dir = makeTempDir("graft-parity-");
    const { cases, trustedHex } = makeCases();
    mkdirSync(join(dir, "b"));
    for (const [name, bytes] of cases) writeFileSync(join(dir, "b", `${name}.graft`), bytes);
    writeFileSync(join(dir, "names.txt"), cases.map(([n]) => n).join("\n") + "\n");
    writeFileSync(join(dir, "harness.c"), harnessSource(trustedHex));
    execFileSync("gcc", [
      "-std=c11", "-D_GNU_SOURCE", "-O1", `-I${RUNTIME}`, `-I${join(RUNTIME, "include")}`,
      join(dir, "harness.c"), ...RUNTIME_SOURCES.map((s) => join(RUNTIME, s)),
      "-o", join(dir, "harness"), "-rdynamic", "-lsodium", "-lpthread", "-ldl",
    ]);
    mkdirSync(join(dir, "run"), { mode: 0o700 });
    const native = execFileSync(join(dir, "harness"), [join(dir, "names.txt"), join(dir, "b")], {
      env: { ...process.env, GRAFT_RUNTIME_DIR: join(dir, "run"), GRAFT_LOG: "" },
      maxBuffer: 16 * 1024 * 1024,
    })
      .toString()
      .trimEnd()
      .split("\n");

    const ours = cases.map(([name, bytes]) => {
      const r = verifyBundle(bytes, [trustedHex], { program: "kvd", base: BASE, sequence: 0 });
      return `${name} ${r.ok ? "ok" : r.code}`;
    });
    const differing = ours.flatMap((line, i) => (line === native[i] ? [] : [`ts: ${line} / c: ${native[i] ?? "(none)"}`]));
    expect(differing.slice(0, 20)).toEqual([]);
    expect(native.length).toBe(ours.length);
    // The matrix does exercise every code the reader can give.
    const codes = new Set(ours.map((l) => l.split(" ")[1]));
    expect([...codes].sort()).toEqual(["bad-format", "bad-signature", "digest-mismatch", "ok", "replay", "untrusted-key", "wrong-base", "wrong-program"]);
  }, 120_000);
});
