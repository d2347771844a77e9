import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { safeArchivePath, unpackSourceArchive } from "./unpack-archive";

/** A minimal ustar archive of the given entries (type "0" file, "2" symlink). */
function tar(entries: { name: string; body?: string; type?: string; link?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const h = Buffer.alloc(512, 0);
    h.write(e.name, 0, "latin1");
    h.write("0000644\0", 100, "latin1");
    h.write("0000000\0", 108, "latin1");
    h.write("0000000\0", 116, "latin1");
    h.write(body.length.toString(8).padStart(11, "0") + "\0", 124, "latin1");
    h.write("00000000000\0", 136, "latin1");
    h.write("        ", 148, "latin1");
    h.write(e.type ?? "0", 156, "latin1");
    if (e.link) h.write(e.link, 157, "latin1");
    h.write("ustar\0", 257, "latin1");
    h.write("00", 263, "latin1");
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512, 0));
  }
  blocks.push(Buffer.alloc(1024, 0));
  return zlib.gzipSync(Buffer.concat(blocks));
}

describe("unpackSourceArchive", () => {
  it("reads sources, strips one top folder and lists the .c files", async () => {
    const r = await unpackSourceArchive(tar([{ name: "kvd/main.c", body: "int main(void){return 0;}" }, { name: "kvd/kvd.h", body: "#pragma once" }]));
    expect(r.files.map((f) => f.path)).toEqual(["kvd.h", "main.c"]);
    expect(r.cfiles).toEqual(["main.c"]);
  });

  it("refuses what is not an archive, or has no C file", async () => {
    await expect(unpackSourceArchive(Buffer.from("hello"))).rejects.toThrow(/not a \.tar\.gz archive/);
    await expect(unpackSourceArchive(zlib.gzipSync(Buffer.from("hello")))).rejects.toThrow(/not a \.tar\.gz archive/);
    await expect(unpackSourceArchive(tar([{ name: "README", body: "x" }]))).rejects.toThrow(/no \.c files/);
  });

  it("refuses paths that escape, and links", async () => {
    await expect(unpackSourceArchive(tar([{ name: "../evil.c", body: "x" }]))).rejects.toThrow(/escapes the archive/);
    await expect(unpackSourceArchive(tar([{ name: "/etc/evil.c", body: "x" }]))).rejects.toThrow(/escapes the archive/);
    await expect(unpackSourceArchive(tar([{ name: "a.c", type: "2", link: "/etc/passwd" }]))).rejects.toThrow(/is a link/);
  });

  it("refuses archives that are too large", async () => {
    const big = "x".repeat(3 * 1024 * 1024);
    await expect(unpackSourceArchive(tar([{ name: "a.c", body: big }]))).rejects.toThrow(/larger than/);
  });

  it("normalises safe paths", () => {
    expect(safeArchivePath("./src//a.c")).toBe("src/a.c");
    expect(() => safeArchivePath("src/../../a.c")).toThrow();
  });
});
