/**
 * Signed patch bundles end to end (issue 6, "Must show"). kvd v0 is built
 * updateable trusting one key (graft compile --trust), the v0 -> v1 and
 * v1 -> v2 patches are generated once and signed with `graft bundle`. The
 * server is started, a few hundred keys stored, one client connection opened
 * and kept. Then a matrix of bad bundles, one row per refusal reason (several
 * for truncation and tampering), goes to the live server with `graft apply`
 * (and again as a raw `apply` line on its control socket): each is refused
 * with the right code and reason, `graft apply` exits 2, and the server keeps
 * answering with its keys, its held connection, its version and its
 * sequence unchanged. `graft verify` gives each row's verdict offline: the
 * same code with `--against` the running version data, and without it for
 * every reason that does not need a running program (verify runs through
 * lib/cli's main() in this process, and as the real binary for the first row
 * of each code, to keep the file near a minute and a half). A file named
 * `..`, which the format excludes. Then the good bundle
 * applies (kvd answers as v1 with every key), the v1 -> v2 bundle chains on,
 * and replays/downgrades at v1 are refused. Finally: the private keys are
 * mode 0600 and no command output, server output or bundle holds them.
 *
 * Bundles are sent from a directory whose name has a space: the control
 * protocol takes the timeout from the last word (docs/control-protocol.md).
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { verifyBundle } from "../../lib/bundle/index.js";
import { compileProgram } from "../../lib/compile/index.js";
import type { PatchResult } from "../../lib/patch/index.js";
import {
  encodeFileEntry,
  type BundleBodyFile,
  type BundleLayout,
  type TestSigningKey,
  flipByte,
  graftCli,
  graftInProcess,
  loadSigningKey,
  mapLimit,
  parseBundleLayout,
  parseRefusal,
  privateKeyNeedles,
  resignBundle,
  zeroBytes,
  type CliRun,
} from "../support/bundles.js";
import { exampleDir } from "../support/build.js";
import { KVD_VERSIONS, startKvd } from "../support/examples.js";
import { controlRequest, EXAMPLE_CFLAGS, EXAMPLE_FILES, patchExample, processStatus, waitForControlSocket } from "../support/graft.js";
import { MemcacheClient } from "../support/memcache-client.js";
import type { RunningServer } from "../support/server.js";

type Code = "bad-format" | "unsigned" | "untrusted-key" | "bad-signature" | "digest-mismatch" | "wrong-program" | "wrong-base" | "replay";

/** Codes that need a running program: `graft verify` gives them only with --against (or --program/--base/--after-sequence). */
const CONTEXTUAL: ReadonlySet<Code> = new Set(["wrong-program", "wrong-base", "replay"]);

/** One bad bundle and what must be said of it. */
interface BadCase {
  name: string;
  /** Absolute path of the bundle file or patch directory to send. */
  file: string;
  code: Code;
  /** Matches the reason in the runtime's words and in `graft verify`'s. */
  why: RegExp;
  /** Which server gets it: the one trusting KEYS (default) or the one built without --trust. */
  to?: "trusting" | "untrusting";
}

const KEY_COUNT = 300;
const value = (i: number) => `value-${i}-${"x".repeat(i % 37)}`;
const keyName = (i: number) => `bundle-key-${i}`;

let root = "";
let runDir = "";
let env: NodeJS.ProcessEnv = process.env;
/** Every graft command run, for the private-key check at the end. */
const runs: CliRun[] = [];
const servers: RunningServer[] = [];
const clients: MemcacheClient[] = [];

let keysDir = "";
let otherKeysDir = "";
let pub = "";
let v0Dir = "";
let v0UntrustedDir = "";
let v0InsecureDir = "";
/** A bundle whose manifest lists a file named "..", otherwise a replay (sequence 0). */
let dotdotFile = "";
let p1: PatchResult;
let p2: PatchResult;
let good1 = "";
let good2 = "";
let badDir = "";

let trusting: RunningServer;
let untrusting: RunningServer;
/** Opened right after startup, before any apply, and used throughout. */
let held: MemcacheClient;
let heldUntrusting: MemcacheClient;

/** What the cases are made from, once the builds and the good bundles exist. */
interface Built {
  /** The good v0 -> v1 bundle's bytes, and its parts. */
  good: Buffer;
  L: BundleLayout;
  so: BundleBodyFile;
  file: (name: string) => BundleBodyFile;
  /** Offset of the digit of `sequence 1` in the good bundle. */
  seqAt: number;
  trustedKey: TestSigningKey;
  otherKey: TestSigningKey;
  otherKeyId: string;
  good1: string;
  good2: string;
  p1Dir: string;
  /** Path of a bundle made by `graft bundle` in beforeAll. */
  bad: (name: string) => string;
  p1Base: string;
  p2Base: string;
}

/** A row of the matrix: made in beforeAll, named here so that each is a test. */
interface CaseSpec {
  name: string;
  code: Code;
  phase: "v0" | "v1";
  to?: "trusting" | "untrusting";
  why: RegExp | ((b: Built) => RegExp);
  /** The bytes to send (written under "bad bundles/"), or the path of what to send as is. */
  make: (b: Built) => Buffer | string;
}

function edited(bytes: Buffer, fn: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  fn(copy);
  return copy;
}

const TRUNCATIONS: Array<[where: string, at: (b: Built) => number]> = [
  ["empty", () => 0],
  ["inside the magic", () => 5],
  ["inside the manifest length", () => 10],
  ["inside the manifest", (b) => b.L.manifestAt + 40],
  ["inside the key id", (b) => b.L.keyIdAt + 3],
  ["inside the signature", (b) => b.L.signatureAt + 32],
  ["right after the signature", (b) => b.L.bodyAt],
  ["inside patch.so's name length", (b) => b.L.bodyAt + 1],
  ["inside patch.so's name", (b) => b.L.bodyAt + 5],
  ["inside patch.so's size", (b) => b.so.sizeAt + 4],
  ["inside patch.so", (b) => b.so.contentAt + 1000],
  ["right after patch.so", (b) => b.so.endAt],
  ["one byte short", (b) => b.good.length - 1],
];

const SIGNATURE_FAILS = /signature does not verify/;

const CASES: CaseSpec[] = [
  // unsigned
  { phase: "v0", name: "unsigned: a bundle to a program built without --trust", code: "unsigned", to: "untrusting", why: /without --trust/, make: (b) => b.good1 },
  { phase: "v0", name: "unsigned: a bare patch directory to a program built without --trust", code: "unsigned", to: "untrusting", why: /bare patch directory/, make: (b) => b.p1Dir },
  { phase: "v0", name: "unsigned: a bare patch directory to a program built with --trust", code: "unsigned", why: /bare patch directory/, make: (b) => b.p1Dir },
  // untrusted-key: another signer, or no signature at all
  { phase: "v0", name: "untrusted-key: signed by another key (graft keygen, graft bundle)", code: "untrusted-key", why: (b) => new RegExp(`${b.otherKeyId}.*trusted key`), make: (b) => b.bad("other key.graft") },
  { phase: "v0", name: "untrusted-key: key id and signature zeroed", code: "untrusted-key", why: /0{16}.*trusted key/, make: (b) => zeroBytes(b.good, b.L.keyIdAt, 8 + 64) },
  { phase: "v0", name: "untrusted-key: key id and signature cut out", code: "untrusted-key", why: /trusted key/, make: (b) => Buffer.concat([b.good.subarray(0, b.L.keyIdAt), b.good.subarray(b.L.bodyAt)]) },
  // bad-signature
  { phase: "v0", name: "bad-signature: manifest byte changed (sequence 1 -> 9)", code: "bad-signature", why: SIGNATURE_FAILS, make: (b) => edited(b.good, (x) => { x[b.seqAt] = "9".charCodeAt(0); }) },
  { phase: "v0", name: "bad-signature: manifest's last line changed", code: "bad-signature", why: SIGNATURE_FAILS, make: (b) => flipByte(b.good, b.L.keyIdAt - 2) },
  { phase: "v0", name: "bad-signature: signature byte flipped", code: "bad-signature", why: SIGNATURE_FAILS, make: (b) => flipByte(b.good, b.L.signatureAt + 5) },
  { phase: "v0", name: "bad-signature: signature zeroed, key id kept", code: "bad-signature", why: SIGNATURE_FAILS, make: (b) => zeroBytes(b.good, b.L.signatureAt, 64) },
  {
    phase: "v0", name: "bad-signature: another key's signature under the trusted key id", code: "bad-signature", why: SIGNATURE_FAILS,
    make: (b) => edited(resignBundle(b.good, b.otherKey, (m) => m), (x) => b.trustedKey.keyId.copy(x, b.L.keyIdAt)),
  },
  // digest-mismatch
  { phase: "v0", name: "digest-mismatch: a byte in the middle of patch.so", code: "digest-mismatch", why: /SHA-256 of patch\.so/, make: (b) => flipByte(b.good, b.so.contentAt + (b.so.content.length >> 1)) },
  { phase: "v0", name: "digest-mismatch: patch.so's first byte", code: "digest-mismatch", why: /SHA-256 of patch\.so/, make: (b) => flipByte(b.good, b.so.contentAt) },
  { phase: "v0", name: "digest-mismatch: a byte of xform.c (every file is checked)", code: "digest-mismatch", why: /SHA-256 of xform\.c/, make: (b) => flipByte(b.good, b.file("xform.c").contentAt + 10) },
  { phase: "v0", name: "digest-mismatch: the last byte of the bundle (summary.json)", code: "digest-mismatch", why: /SHA-256 of summary\.json/, make: (b) => flipByte(b.good, b.good.length - 1) },
  {
    phase: "v0", name: "digest-mismatch: patch.so's size field one more than the manifest", code: "digest-mismatch",
    why: (b) => new RegExp(`patch\\.so is ${b.so.content.length + 1} bytes, the manifest says ${b.so.content.length}`),
    make: (b) => edited(b.good, (x) => x.writeBigUInt64LE(BigInt(b.so.content.length + 1), b.so.sizeAt)),
  },
  // bad-format: not a bundle, truncated, too long, malformed signed manifest
  { phase: "v0", name: "bad-format: bad magic", code: "bad-format", why: /magic/, make: (b) => flipByte(b.good, 0) },
  { phase: "v0", name: "bad-format: magic GRAFTB02 (another format version)", code: "bad-format", why: /magic/, make: (b) => Buffer.concat([Buffer.from("GRAFTB02"), b.good.subarray(8)]) },
  { phase: "v0", name: "bad-format: patch.so sent as the bundle", code: "bad-format", why: /magic/, make: (b) => b.so.content },
  { phase: "v0", name: "bad-format: manifest length 0", code: "bad-format", why: /manifest length/, make: (b) => edited(b.good, (x) => x.writeUInt32LE(0, 8)) },
  { phase: "v0", name: "bad-format: manifest length above 1 MiB", code: "bad-format", why: /1 MiB/, make: (b) => edited(b.good, (x) => x.writeUInt32LE(1024 * 1024 + 1, 8)) },
  ...TRUNCATIONS.map(([where, at]): CaseSpec => ({
    phase: "v0", name: `bad-format: truncated ${where}`, code: "bad-format", why: /truncated/, make: (b) => b.good.subarray(0, at(b)),
  })),
  { phase: "v0", name: "bad-format: one trailing byte", code: "bad-format", why: /after the last file/, make: (b) => Buffer.concat([b.good, Buffer.from([0])]) },
  { phase: "v0", name: "bad-format: a file the manifest does not list, appended", code: "bad-format", why: /after the last file/, make: (b) => Buffer.concat([b.good, encodeFileEntry("extra.so", b.so.content)]) },
  {
    phase: "v0", name: "bad-format: files not in manifest order", code: "bad-format", why: /out of order/,
    make: (b) => {
      const [f1, f2] = [b.L.files[1], b.L.files[2]];
      return Buffer.concat([b.good.subarray(0, f1.entryAt), b.good.subarray(f2.entryAt, f2.endAt), b.good.subarray(f1.entryAt, f1.endAt), b.good.subarray(f2.endAt)]);
    },
  },
  {
    phase: "v0", name: "bad-format: signed manifest with a # comment (as in the doc's example)", code: "bad-format", why: /sequence/,
    make: (b) => resignBundle(b.good, b.trustedKey, (m) => m.replace("\nsequence 1\n", "\nsequence 1 # must be above the running sequence\n")),
  },
  { phase: "v0", name: "bad-format: signed manifest without created", code: "bad-format", why: /created|file/, make: (b) => resignBundle(b.good, b.trustedKey, (m) => m.replace(/\ncreated [^\n]*\n/, "\n")) },
  { phase: "v0", name: "bad-format: signed manifest with a CR", code: "bad-format", why: /graft-bundle|line 1/, make: (b) => resignBundle(b.good, b.trustedKey, (m) => m.replace("\nprogram kvd\n", "\r\nprogram kvd\n")) },
  { phase: "v0", name: "bad-format: signed manifest not listing patch.so", code: "bad-format", why: /patch\.so/, make: (b) => resignBundle(b.good, b.trustedKey, (m) => m.replace(/\nfile patch\.so [^\n]*\n/, "\n")) },
  // The three a running program decides.
  { phase: "v0", name: "wrong-program: manifest.json says program other, signed by the trusted key", code: "wrong-program", why: /program "?other"?/, make: (b) => b.bad("program other.graft") },
  { phase: "v0", name: "wrong-base: the v1 -> v2 bundle while v0 runs", code: "wrong-base", why: (b) => new RegExp(`applies to version ${b.p2Base.slice(0, 12)}`), make: (b) => b.good2 },
  { phase: "v0", name: "replay: v0 -> v1 signed with --sequence 0 (running sequence 0)", code: "replay", why: /sequence 0 is not above/, make: (b) => b.bad("v0-v1 sequence 0.graft") },
  { phase: "v1", name: "replay: v1 -> v2 signed with --sequence 1 (running sequence 1)", code: "replay", why: /sequence 1 is not above/, make: (b) => b.bad("v1-v2 sequence 1.graft") },
  { phase: "v1", name: "replay: v1 -> v2 signed with --sequence 0 (a downgrade)", code: "replay", why: /sequence 0 is not above/, make: (b) => b.bad("v1-v2 sequence 0.graft") },
  { phase: "v1", name: "wrong-base: the applied v0 -> v1 bundle sent again", code: "wrong-base", why: (b) => new RegExp(`applies to version ${b.p1Base.slice(0, 12)}`), make: (b) => b.good1 },
];

/** Cases whose --against verdict comes from the real binary too: the first of each code. */
const SPAWNED_VERIFY = new Set(
  CASES.filter((c) => c.to !== "untrusting")
    .filter((c, i, all) => all.findIndex((d) => d.code === c.code) === i)
    .map((c) => c.name),
);

let built: Built;
const resolved = new Map<string, BadCase>();
const caseNamed = (name: string): BadCase => {
  const c = resolved.get(name);
  if (!c) throw new Error(`case ${name} was not made (did beforeAll fail?)`);
  return c;
};

async function graft(...args: string[]): Promise<CliRun> {
  const r = await graftCli(args, { cwd: root, env });
  runs.push(r);
  return r;
}

/** `graft ARGS` run in this process (see graftInProcess), recorded like the others. */
async function graftHere(...args: string[]): Promise<CliRun> {
  const r = await graftInProcess(args, { cwd: root, env });
  runs.push(r);
  return r;
}

async function mustGraft(...args: string[]): Promise<CliRun> {
  const r = await graft(...args);
  if (r.code !== 0) throw new Error(`graft ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

/** What the server must still say about itself. */
interface Expected {
  version: string;
  sequence: number;
  patches: number;
  kvdVersion: string;
}

let probe = 0;
async function expectServing(srv: RunningServer, client: MemcacheClient, exp: Expected, keyCount: number): Promise<void> {
  const context = `server stderr:\n${srv.stderr().slice(-2000)}`;
  expect(srv.proc.exitCode, context).toBeNull();
  expect(srv.proc.signalCode, context).toBeNull();
  const st = await processStatus(srv.pid, env);
  expect(st, context).toEqual({ program: "kvd", version: exp.version, sequence: exp.sequence, patches: exp.patches, pid: srv.pid });
  // The connection opened before anything was sent still works...
  const sample = Array.from({ length: 5 }, (_, i) => (probe * 5 + i * 61) % keyCount);
  probe++;
  const got = await client.retrieve("get", sample.map(keyName));
  expect(got.map((v) => [v.key, v.value])).toEqual(sample.map((i) => [keyName(i), value(i)]));
  expect(await client.version()).toBe(exp.kvdVersion);
  // ...and a new one is accepted.
  const fresh = await MemcacheClient.connect(srv.port);
  try {
    expect(await fresh.version()).toBe(exp.kvdVersion);
    const k = (probe * 7) % keyCount;
    expect((await fresh.retrieve("get", [keyName(k)])).map((v) => v.value)).toEqual([value(k)]);
  } finally {
    fresh.close();
  }
}

/** Every stored key, on the held connection, in batches. */
async function expectAllKeys(client: MemcacheClient, keyCount: number): Promise<void> {
  for (let start = 0; start < keyCount; start += 100) {
    const batch = Array.from({ length: Math.min(100, keyCount - start) }, (_, i) => start + i);
    const got = await client.retrieve("get", batch.map(keyName));
    expect(got.map((v) => `${v.key}=${v.value}`)).toEqual(batch.map((i) => `${keyName(i)}=${value(i)}`));
  }
}

async function storeKeys(client: MemcacheClient, keyCount: number): Promise<void> {
  for (let i = 0; i < keyCount; i++) expect(await client.set(keyName(i), value(i))).toBe("STORED");
}

function vdOf(dir: string): string {
  return path.join(dir, "kvd.vd.json");
}

/**
 * Sends one bad bundle to the live server (graft apply, then the same line
 * on the raw control socket) and asks `graft verify` for its verdict offline,
 * the verify runs alongside the apply. `running` is the version data of what
 * the server runs, for --against.
 */
async function checkRefused(c: BadCase, running: string): Promise<void> {
  const srv = c.to === "untrusting" ? untrusting : trusting;
  const untrustingTarget = c.to === "untrusting";
  const verifyAgainst = SPAWNED_VERIFY.has(c.name) ? graft : graftHere;
  const [applied, offlineAgainst] = await Promise.all([
    graft("apply", "--pid", String(srv.pid), c.file, "--timeout", "5000"),
    untrustingTarget ? Promise.resolve(null) : verifyAgainst("verify", c.file, "--pub", pub, "--against", running),
  ]);
  const offline = untrustingTarget ? null : await graftHere("verify", c.file, "--pub", pub);

  // Live: one line `refused CODE REASON`, exit 2, nothing on stderr.
  const context = `graft apply said:\n${applied.stdout}${applied.stderr}\nserver stderr:\n${srv.stderr().slice(-1500)}`;
  expect(applied.code, context).toBe(2);
  expect(applied.stderr, context).toBe("");
  expect(applied.stdout, context).toMatch(/^refused [a-z-]+ [^\n]+\n$/);
  const live = parseRefusal(applied.stdout)!;
  expect(live.code, context).toBe(c.code);
  expect(live.reason, context).toMatch(c.why);

  // The raw control socket gives the same reply (graft apply adds nothing).
  const raw = await controlRequest(srv.pid, `apply ${c.file} 5000`, 15_000, env);
  expect(raw).toBe(applied.stdout.trimEnd());

  // Offline.
  if (c.to === "untrusting") {
    // `graft verify` needs --pub, so it cannot stand for a program that trusts
    // no key; the library call it makes can.
    const isDir = (await stat(c.file)).isDirectory();
    const verdict = isDir ? null : verifyBundle(await readFile(c.file), []);
    if (verdict) expect(verdict.ok ? "ok" : verdict.code).toBe(c.code);
    else {
      const r = await graftHere("verify", c.file, "--pub", pub);
      expect([r.code, parseRefusal(r.stdout)?.code]).toEqual([2, c.code]);
    }
    return;
  }
  const againstRefusal = parseRefusal(offlineAgainst!.stdout);
  expect([offlineAgainst!.code, againstRefusal?.code], offlineAgainst!.stdout + offlineAgainst!.stderr).toEqual([2, c.code]);
  expect(againstRefusal!.reason).toMatch(c.why);
  if (CONTEXTUAL.has(c.code)) {
    // Nothing wrong with the bundle itself: only a running program can say.
    expect(offline!.code, offline!.stdout + offline!.stderr).toBe(0);
    expect(offline!.stdout).toMatch(/^ok program=\S+ sequence=\d+ base=[0-9a-f]{64} /);
  } else {
    expect([offline!.code, parseRefusal(offline!.stdout)?.code], offline!.stdout + offline!.stderr).toEqual([2, c.code]);
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "graft-bundles-"));
  runDir = path.join(root, "run");
  await mkdir(runDir, { mode: 0o700 });
  env = { ...process.env, GRAFT_RUNTIME_DIR: runDir, GRAFT_LOG: "stderr" };
  keysDir = path.join(root, "keys");
  otherKeysDir = path.join(root, "other-keys");
  pub = path.join(keysDir, "graft.pub");
  v0Dir = path.join(root, "v0");
  v0UntrustedDir = path.join(root, "v0-untrusted");
  v0InsecureDir = path.join(root, "v0-insecure");
  badDir = path.join(root, "bad bundles");
  await mkdir(badDir);

  await Promise.all([mustGraft("keygen", "-o", keysDir), mustGraft("keygen", "-o", otherKeysDir)]);

  const compileV0 = (outDir: string, trustedKeys: string[], insecureAcceptUnsigned = false) =>
    compileProgram({ name: "kvd", files: EXAMPLE_FILES.kvd, outDir, cflags: [...EXAMPLE_CFLAGS], cwd: exampleDir("kvd", "v0"), trustedKeys, insecureAcceptUnsigned });
  await Promise.all([compileV0(v0Dir, [pub]), compileV0(v0UntrustedDir, []), compileV0(v0InsecureDir, [], true)]);
  p1 = await patchExample("kvd", v0Dir, "v1", path.join(root, "p1"));
  p2 = await patchExample("kvd", p1.patchDir, "v2", path.join(root, "p2"));

  // A copy of p1 claiming another program, signed by the trusted key.
  const otherProgramDir = path.join(root, "p1-other-program");
  await cp(p1.patchDir, otherProgramDir, { recursive: true });
  const mj = JSON.parse(await readFile(path.join(otherProgramDir, "manifest.json"), "utf8"));
  await writeFile(path.join(otherProgramDir, "manifest.json"), JSON.stringify({ ...mj, program: "other" }, null, 2));

  good1 = path.join(root, "kvd-1.graft");
  good2 = path.join(root, "kvd-2.graft");
  const key = path.join(keysDir, "graft.key");
  const b = (name: string) => path.join(badDir, name);
  await mapLimit(
    [
      ["bundle", p1.patchDir, "--key", key, "-o", good1],
      ["bundle", p2.patchDir, "--key", key, "-o", good2],
      ["bundle", p1.patchDir, "--key", path.join(otherKeysDir, "graft.key"), "-o", b("other key.graft")],
      ["bundle", otherProgramDir, "--key", key, "-o", b("program other.graft")],
      ["bundle", p1.patchDir, "--key", key, "--sequence", "0", "-o", b("v0-v1 sequence 0.graft")],
      ["bundle", p2.patchDir, "--key", key, "--sequence", "1", "-o", b("v1-v2 sequence 1.graft")],
      ["bundle", p2.patchDir, "--key", key, "--sequence", "0", "-o", b("v1-v2 sequence 0.graft")],
    ],
    2,
    (args) => mustGraft(...args),
  );

  // Byte surgery on the good v0 -> v1 bundle, and the other bundles by name.
  const good = await readFile(good1);
  const L = parseBundleLayout(good);
  const file = (name: string) => {
    const f = L.files.find((x) => x.name === name);
    if (!f) throw new Error(`the bundle has no ${name}: ${L.files.map((x) => x.name).join(", ")}`);
    return f;
  };
  const manifestText = L.manifest.toString("utf8");
  const seqLine = manifestText.indexOf("\nsequence 1\n");
  if (seqLine < 0) throw new Error(`unexpected manifest:\n${manifestText}`);
  const otherKey = loadSigningKey(path.join(otherKeysDir, "graft.key"));
  built = {
    good,
    L,
    so: file("patch.so"),
    file,
    seqAt: L.manifestAt + seqLine + "\nsequence ".length,
    trustedKey: loadSigningKey(key),
    otherKey,
    otherKeyId: otherKey.keyId.toString("hex"),
    good1,
    good2,
    p1Dir: p1.patchDir,
    bad: b,
    p1Base: p1.manifest.base,
    p2Base: p2.manifest.base,
  };
  const hi = Buffer.from("hi\n");
  dotdotFile = b("file named dotdot.graft");
  await writeFile(
    dotdotFile,
    Buffer.concat([
      resignBundle(good, built.trustedKey, (m) => m.replace("\nsequence 1\n", "\nsequence 0\n") + `file .. ${hi.length} ${createHash("sha256").update(hi).digest("hex")}\n`),
      encodeFileEntry("..", hi),
    ]),
  );
  for (const spec of CASES) {
    const made = spec.make(built);
    const file = typeof made === "string" ? made : b(`${spec.name.replace(/[^A-Za-z0-9 ._-]/g, "_")}.graft`);
    if (typeof made !== "string") {
      if ([...resolved.values()].some((c) => c.file === file)) throw new Error(`two cases write ${file}`);
      await writeFile(file, made);
    }
    resolved.set(spec.name, { name: spec.name, file, code: spec.code, to: spec.to, why: typeof spec.why === "function" ? spec.why(built) : spec.why });
  }

  // Two servers at v0: one trusting the key, one built without --trust.
  trusting = await startKvd(path.join(v0Dir, "kvd"), { env });
  servers.push(trusting);
  untrusting = await startKvd(path.join(v0UntrustedDir, "kvd"), { env });
  servers.push(untrusting);
  await waitForControlSocket(trusting.pid, 5000, env);
  await waitForControlSocket(untrusting.pid, 5000, env);
  held = await MemcacheClient.connect(trusting.port);
  clients.push(held);
  heldUntrusting = await MemcacheClient.connect(untrusting.port);
  clients.push(heldUntrusting);
  await storeKeys(held, KEY_COUNT);
  await storeKeys(heldUntrusting, 20);
}, 240_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.stop(1000);
  if (root) await rm(root, { recursive: true, force: true });
});

const v0Expected = (): Expected => ({ version: p1.manifest.base, sequence: 0, patches: 0, kvdVersion: KVD_VERSIONS.v0 });
const v0UntrustingExpected = async (): Promise<Expected> => ({
  version: JSON.parse(await readFile(vdOf(v0UntrustedDir), "utf8")).digest,
  sequence: 0,
  patches: 0,
  kvdVersion: KVD_VERSIONS.v0,
});

describe("signed bundles against a live kvd", () => {
  it("starts at v0, sequence 0, with every key stored", async () => {
    const s = await graft("status", "--pid", String(trusting.pid));
    expect(s).toMatchObject({ code: 0, stderr: "" });
    expect(s.stdout).toBe(`ok program=kvd version=${p1.manifest.base} sequence=0 patches=0 pid=${trusting.pid}\n`);
    await expectServing(trusting, held, v0Expected(), KEY_COUNT);
    await expectAllKeys(held, KEY_COUNT);
    // The good bundles pass offline.
    const ok1 = await graft("verify", good1, "--pub", pub, "--against", vdOf(v0Dir));
    expect(ok1.code, ok1.stdout + ok1.stderr).toBe(0);
    expect(ok1.stdout).toMatch(new RegExp(`^ok program=kvd sequence=1 base=${p1.manifest.base} target=${p1.manifest.target} `));
  });

  it("the matrix covers every refusal reason of docs/bundle-format.md", () => {
    const codes = new Set(CASES.map((c) => c.code));
    expect([...codes].sort()).toEqual(["bad-format", "bad-signature", "digest-mismatch", "replay", "unsigned", "untrusted-key", "wrong-base", "wrong-program"]);
  });

  describe("bad bundles while v0 runs: refused, and the server keeps serving", () => {
    it.each(CASES.filter((c) => c.phase === "v0").map((c) => c.name))("%s", async (name) => {
      const c = caseNamed(name);
      await checkRefused(c, vdOf(v0Dir));
      if (c.to === "untrusting") await expectServing(untrusting, heldUntrusting, await v0UntrustingExpected(), 20);
      else await expectServing(trusting, held, v0Expected(), KEY_COUNT);
    });
  });

  let dotdotVerdicts: [live: string | undefined, offline: string | undefined] = [undefined, undefined];
  it("a signed manifest listing a file named `..`: the runtime and graft verify agree", async () => {
    const [live, offline] = await Promise.all([
      graft("apply", "--pid", String(trusting.pid), dotdotFile),
      graftHere("verify", dotdotFile, "--pub", pub, "--against", vdOf(v0Dir)),
    ]);
    dotdotVerdicts = [parseRefusal(live.stdout)?.code, parseRefusal(offline.stdout)?.code];
    expect(live.code, live.stdout + live.stderr).toBe(2);
    expect(dotdotVerdicts[0]).toBe(dotdotVerdicts[1]);
    // Today replay (the name let through); bad-format once it is refused.
    expect(["bad-format", "replay"]).toContain(dotdotVerdicts[0]);
    await expectServing(trusting, held, v0Expected(), KEY_COUNT);
  });

  // BUG (see docs/bundle-format.md, "Body"): `.` and `..` are not file names,
  // but lib/bundle and native/runtime/bundle.c both accept them, so this
  // bundle gets as far as the sequence check (replay). Make this `it` when
  // they are refused.
  it("a signed manifest listing a file named `..` is refused as bad-format", () => {
    expect(dotdotVerdicts).toEqual(["bad-format", "bad-format"]);
  });

  it("the control socket: paths with spaces, newlines, timeouts", async () => {
    const badMagic = caseNamed("bad-format: bad magic").file;
    expect(badMagic).toContain(" ");
    // The timeout is the last word; up to 12 digits, capped at 24 h.
    expect(await controlRequest(trusting.pid, `apply ${badMagic} 999999999999`, 15_000, env)).toMatch(/^refused bad-format /);
    expect(await controlRequest(trusting.pid, `apply ${badMagic} 9999999999999`, 15_000, env)).toMatch(/^refused bad-request .*timeout/);
    // With a space in the path, the timeout cannot be left out.
    expect(await controlRequest(trusting.pid, `apply ${badMagic}`, 15_000, env)).toMatch(/^refused bad-request /);
    expect(await controlRequest(trusting.pid, `apply ${path.relative(root, badMagic).split(" ").join("_")} 0`, 15_000, env)).toMatch(/^refused bad-request .*absolute/);
    // A newline cannot be sent: graft apply says so and sends nothing.
    const newline = path.join(root, "line\nbreak.graft");
    await writeFile(newline, await readFile(good1));
    const r = await graftHere("apply", "--pid", String(trusting.pid), newline);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/newline/);
    await expectServing(trusting, held, v0Expected(), KEY_COUNT);
  });

  it("only a build with --insecure-accept-unsigned-patches takes a bare patch directory (and it still refuses bundles: no trusted key)", async () => {
    const insecure = await startKvd(path.join(v0InsecureDir, "kvd"), { env });
    servers.push(insecure);
    await waitForControlSocket(insecure.pid, 5000, env);
    const bundle = await graft("apply", "--pid", String(insecure.pid), good1);
    expect([bundle.code, parseRefusal(bundle.stdout)?.code], bundle.stdout + bundle.stderr).toEqual([2, "unsigned"]);
    const dir = await graft("apply", "--pid", String(insecure.pid), p1.patchDir, "--timeout", "10000");
    expect(dir.code, `${dir.stdout}${dir.stderr}\n${insecure.stderr().slice(-1500)}`).toBe(0);
    expect(dir.stdout).toMatch(/^applied .* sequence=1 version=[0-9a-f]{64} threads=1 waited_us=\d+\n$/);
    const c = await MemcacheClient.connect(insecure.port);
    try {
      expect(await c.version()).toBe(KVD_VERSIONS.v1);
    } finally {
      c.close();
    }
    await insecure.stop(1000);
  });

  it("after the matrix: same version, sequence, patches and every key", async () => {
    await expectServing(trusting, held, v0Expected(), KEY_COUNT);
    await expectAllKeys(held, KEY_COUNT);
    await expectServing(untrusting, heldUntrusting, await v0UntrustingExpected(), 20);
    await expectAllKeys(heldUntrusting, 20);
  });

  it("the good v0 -> v1 bundle applies: exit 0, kvd answers as v1 with every key", async () => {
    const r = await graft("apply", "--pid", String(trusting.pid), good1, "--timeout", "10000");
    expect(r, trusting.stderr().slice(-2000)).toEqual({
      args: expect.anything(),
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^applied pause_us=\\d+ point=\\d+ sequence=1 version=${p1.manifest.target} threads=1 waited_us=\\d+\\n$`)),
      stderr: "",
    });
    await expectServing(trusting, held, { version: p1.manifest.target, sequence: 1, patches: 1, kvdVersion: KVD_VERSIONS.v1 }, KEY_COUNT);
    await expectAllKeys(held, KEY_COUNT);
  });

  describe("bad bundles while v1 runs", () => {
    it.each(CASES.filter((c) => c.phase === "v1").map((c) => c.name))("%s", async (name) => {
      const c = caseNamed(name);
      await checkRefused(c, vdOf(p1.patchDir));
      await expectServing(trusting, held, { version: p1.manifest.target, sequence: 1, patches: 1, kvdVersion: KVD_VERSIONS.v1 }, KEY_COUNT);
    });
  });

  it("the v1 -> v2 bundle chains on; sending it again is refused (wrong-base)", async () => {
    const ok = await graft("verify", good2, "--pub", pub, "--against", vdOf(p1.patchDir));
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const r = await graft("apply", "--pid", String(trusting.pid), good2, "--timeout", "10000");
    expect(r.code, `${r.stdout}${r.stderr}\n${trusting.stderr().slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^applied pause_us=\\d+ point=\\d+ sequence=2 version=${p2.manifest.target} threads=1 waited_us=\\d+\\n$`));
    const v2: Expected = { version: p2.manifest.target, sequence: 2, patches: 2, kvdVersion: KVD_VERSIONS.v2 };
    await expectServing(trusting, held, v2, KEY_COUNT);
    await expectAllKeys(held, KEY_COUNT);
    await checkRefused({ name: "v1 -> v2 again", file: good2, code: "wrong-base", why: new RegExp(`applies to version ${p2.manifest.base.slice(0, 12)}`) }, vdOf(p2.patchDir));
    await expectServing(trusting, held, v2, KEY_COUNT);
  });

  it("the private keys are mode 0600 and appear in no output and no bundle", async () => {
    for (const dir of [keysDir, otherKeysDir]) {
      expect(((await stat(path.join(dir, "graft.key"))).mode & 0o777).toString(8)).toBe("600");
      expect(((await stat(path.join(dir, "graft.pub"))).mode & 0o777).toString(8)).toBe("644");
    }
    const outputs = [...runs.flatMap((r) => [r.stdout, r.stderr]), ...servers.flatMap((s) => [s.stdout(), s.stderr()])];
    expect(runs.length).toBeGreaterThan(50);
    const bundles: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith(".graft")) bundles.push(p);
      }
    };
    await walk(root);
    expect(bundles.length).toBeGreaterThan(40);
    for (const dir of [keysDir, otherKeysDir]) {
      const needles = privateKeyNeedles(path.join(dir, "graft.key"));
      for (const t of needles.texts) {
        const leaked = outputs.find((o) => o.includes(t));
        expect(leaked, `private key material of ${dir} in an output`).toBeUndefined();
      }
      for (const f of bundles) {
        const bytes = await readFile(f);
        for (const n of needles.bytes) expect(bytes.includes(n), `private key material of ${dir} in ${f}`).toBe(false);
      }
    }
  });
});
