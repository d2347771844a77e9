/**
 * Shared by the lib/bundle tests: a patch directory and key pair in a fresh
 * temporary directory, and a map of the byte regions of a bundle so that
 * tests can name what they tamper with.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FILE_NAME_LENGTH_BYTES, FILE_SIZE_BYTES, HEADER_BYTES, KEY_ID_BYTES, SIGNATURE_BYTES } from "./constants.js";
import { generateKeyPair } from "./keys.js";
import type { GeneratedKeyPair } from "./types.js";

export const BASE = "3f".repeat(32);
export const TARGET = "77".repeat(32);

export interface PatchFixture {
  root: string;
  patchDir: string;
  keys: GeneratedKeyPair;
  manifestJson: Buffer;
}

const tempDirs: string[] = [];

export function makeTempDir(prefix = "graft-bundle-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** For afterAll: removes every directory makeTempDir made in this file. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * The smallest bytes the runtime takes for a whole ELF shared object (its
 * elf_check.c): an x86-64 ET_DYN header, one PT_LOAD segment over the whole
 * file, then deterministic filler. Not loadable code: bundles made of it are
 * judged, never applied.
 */
export function minimalSharedObject(size: number): Buffer {
  const b = Buffer.alloc(Math.max(size, 120));
  for (let i = 120; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b, 0);
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(62, 18); // EM_X86_64
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  b.writeUInt16LE(64, 58); // e_shentsize
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(4, 68); // PF_R
  b.writeBigUInt64LE(BigInt(b.length), 64 + 32); // p_filesz
  b.writeBigUInt64LE(BigInt(b.length), 64 + 40); // p_memsz
  b.writeBigUInt64LE(0x1000n, 64 + 48); // p_align
  return b;
}

/** A patch dir as `graft patch` would leave it, with deterministic contents. */
export function makePatchFixture(options: { xform?: boolean; patchC?: boolean } = {}): PatchFixture {
  const root = makeTempDir();
  const patchDir = join(root, "patch");
  mkdirSync(patchDir);
  const so = minimalSharedObject(300);
  writeFileSync(join(patchDir, "patch.so"), so);
  if (options.patchC !== false) writeFileSync(join(patchDir, "patch.c"), "int get(void) { return 2; }\n");
  if (options.xform) writeFileSync(join(patchDir, "xform.c"), "int xform_conn_0(void *w) { return 0; }\n");
  const manifestJson = Buffer.from(
    JSON.stringify({ program: "kvd", base: BASE, target: TARGET, sequence: 4, changes: [{ function: "get", status: "changed" }] }, null, 2),
  );
  writeFileSync(join(patchDir, "manifest.json"), manifestJson);
  const keys = generateKeyPair(join(root, "keys"));
  return { root, patchDir, keys, manifestJson };
}

/** Byte ranges [start, end) of each part of a bundle. */
export interface Region {
  name: string;
  start: number;
  end: number;
}

/** Walks a well-formed bundle and names every region, files included. */
export function mapRegions(bytes: Buffer): Region[] {
  const m = bytes.readUInt32LE(8);
  const regions: Region[] = [
    { name: "magic", start: 0, end: 8 },
    { name: "manifest length", start: 8, end: HEADER_BYTES },
    { name: "manifest", start: HEADER_BYTES, end: HEADER_BYTES + m },
    { name: "key id", start: HEADER_BYTES + m, end: HEADER_BYTES + m + KEY_ID_BYTES },
    { name: "signature", start: HEADER_BYTES + m + KEY_ID_BYTES, end: HEADER_BYTES + m + KEY_ID_BYTES + SIGNATURE_BYTES },
  ];
  let at = regions[regions.length - 1].end;
  while (at < bytes.length) {
    const n = bytes.readUInt16LE(at);
    const name = bytes.subarray(at + 2, at + 2 + n).toString("latin1");
    regions.push({ name: `${name} name length`, start: at, end: at + FILE_NAME_LENGTH_BYTES });
    at += FILE_NAME_LENGTH_BYTES;
    regions.push({ name: `${name} name`, start: at, end: at + n });
    at += n;
    const size = Number(bytes.readBigUInt64LE(at));
    regions.push({ name: `${name} size`, start: at, end: at + FILE_SIZE_BYTES });
    at += FILE_SIZE_BYTES;
    regions.push({ name: `${name} content`, start: at, end: at + size });
    at += size;
  }
  return regions;
}
