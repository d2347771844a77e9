import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { create as tarCreate } from "tar";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const REPO = path.resolve(HERE, "..", "..");
export const KVD = path.join(REPO, "native", "examples", "kvd");

/** A .tar.gz of a sample version's files, written to a temp file. */
export async function archiveOf(dir: string, prefix = ""): Promise<string> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "graft-e2e-")), `${path.basename(dir)}.tar.gz`);
  const names = fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile()).sort();
  await tarCreate({ gzip: true, cwd: dir, file: out, portable: true, prefix }, names);
  return out;
}

/** A hand-made tar with one entry whose name escapes the archive. */
export function escapingArchive(): string {
  const header = Buffer.alloc(512, 0);
  const body = Buffer.from("int main(void) { return 0; }\n");
  header.write("../../etc/evil.c", 0, "latin1");
  header.write("0000644\0", 100, "latin1");
  header.write("0000000\0", 108, "latin1");
  header.write("0000000\0", 116, "latin1");
  header.write(body.length.toString(8).padStart(11, "0") + "\0", 124, "latin1");
  header.write("00000000000\0", 136, "latin1");
  header.write("        ", 148, "latin1");
  header.write("0", 156, "latin1");
  header.write("ustar\0", 257, "latin1");
  header.write("00", 263, "latin1");
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
  const tar = Buffer.concat([header, body, pad, Buffer.alloc(1024, 0)]);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "graft-e2e-")), "evil.tar.gz");
  fs.writeFileSync(out, zlib.gzipSync(tar));
  return out;
}

export function textFile(name: string, content: string): string {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "graft-e2e-")), name);
  fs.writeFileSync(out, content);
  return out;
}
