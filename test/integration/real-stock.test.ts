/**
 * The real releases (/work/shared/real: vsftpd 2.0.1-2.0.3, memcached
 * 1.2.2-1.2.4), stock: each unpacked (digest checked), built once with its own
 * build system, started, and checked with real clients: vsftpd's greeting
 * names its release, anonymous login, listing and download work (ftplib and
 * curl); memcached's `version` and `stats` name its release, set/get of a few
 * hundred keys and a memcslap round work. Also: the update-point edit finds
 * its anchor in every release. This is the baseline real-update.test.ts
 * updates live.
 */
import { readFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { freePort } from "../support/server.js";
import { MemcacheClient } from "../support/memcache-client.js";
import { checkKeys, curlFtp, curlFtpList, ftpSessionOnce, memcslapRound, MEMCACHED_KEYS, storeKeys } from "../support/real/clients.js";
import { buildStock, FTP_FILE, FTP_FILE_CONTENT, missingDebianPackages, startReal, type RealServer } from "../support/real/programs.js";
import { insertUpdatePoint, missingTarballs, REAL_DIR, REAL_PROGRAMS, RELEASES, unpackRelease, UPDATE_POINT_SITE, type RealProgram } from "../support/real/unpack.js";

const missingPkgs = missingDebianPackages();
const missingFiles = missingTarballs();
const skipReason = [
  missingPkgs.length ? `missing Debian packages: ${missingPkgs.join(" ")} (apt-get install -y ${missingPkgs.join(" ")})` : "",
  missingFiles.length ? `missing in ${REAL_DIR}: ${missingFiles.join(" ")}` : "",
  process.getuid?.() !== 0 ? "not root (vsftpd runs standalone only as root)" : "",
].filter(Boolean).join("; ");
if (skipReason) console.warn(`real-stock.test.ts skipped: ${skipReason}`);

const ALL: { program: RealProgram; version: string }[] = REAL_PROGRAMS.flatMap((program) => RELEASES[program].map((version) => ({ program, version })));

describe.skipIf(!!skipReason)(`real releases, stock builds${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let workDir = "";
  const binaries = new Map<string, string>();
  const buildErrors = new Map<string, string>();
  const running: RealServer[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), "graft-real-stock-"));
    // One build at a time (two cores); each release once for the whole file.
    for (const { program, version } of ALL) {
      const id = `${program}-${version}`;
      try {
        const rel = await unpackRelease(program, version, path.join(workDir, "src"), { updatePoint: false });
        binaries.set(id, (await buildStock(program, rel.dir)).binary);
      } catch (e) {
        buildErrors.set(id, String((e as Error).message));
      }
    }
  }, 240_000);

  afterAll(async () => {
    for (const s of running) await s.stop(1000);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function start(program: RealProgram, version: string): Promise<RealServer> {
    const id = `${program}-${version}`;
    const binary = binaries.get(id);
    expect(binary, `stock build of ${id} failed:\n${buildErrors.get(id)}`).toBeDefined();
    const srv = await startReal(program, binary!, { port: await freePort(), workDir: path.join(workDir, `run-${id}`) });
    running.push(srv);
    return srv;
  }

  for (const version of RELEASES.vsftpd) {
    it(`vsftpd ${version}: greeting names ${version}; anonymous login, list and download (ftplib, curl)`, async () => {
      const srv = await start("vsftpd", version);
      try {
        const s = await ftpSessionOnce(srv.port, FTP_FILE);
        expect(s.welcome).toBe(`220 (vsFTPd ${version})`);
        expect(s.login).toMatch(/^230 /);
        expect(s.names).toEqual([FTP_FILE]);
        expect(s.retr).toMatch(/^226 /);
        expect(s.data).toBe(FTP_FILE_CONTENT);
        const c = await curlFtp(srv.port, FTP_FILE);
        expect(c.ok, c.stderr).toBe(true);
        expect(c.body).toBe(FTP_FILE_CONTENT);
        const l = await curlFtpList(srv.port);
        expect(l.ok, l.stderr).toBe(true);
        expect(l.names).toEqual([FTP_FILE]);
      } finally {
        await srv.stop(1000);
      }
    });
  }

  for (const version of RELEASES.memcached) {
    it(`memcached ${version}: version and stats name ${version}; set/get of ${MEMCACHED_KEYS} keys; memcslap`, async () => {
      const srv = await start("memcached", version);
      const c = await MemcacheClient.connect(srv.port);
      try {
        expect(await c.version()).toBe(version);
        const stats = await c.stats();
        expect(stats.version).toBe(version);
        expect(Number(stats.pid)).toBe(srv.pid);
        expect(await storeKeys(c)).toEqual([]);
        expect(await checkKeys(c)).toEqual([]);
        const other = await MemcacheClient.connect(srv.port);
        expect(await checkKeys(other)).toEqual([]);
        other.close();
        const slap = await memcslapRound(srv.port, 1000);
        expect(slap.set.failures, slap.set.output).toBe(0);
        expect(slap.set.keys, slap.set.output).toBeGreaterThan(0);
        expect(slap.get.failures, slap.get.output).toBe(0);
        expect(Number((await c.stats()).curr_items)).toBeGreaterThanOrEqual(MEMCACHED_KEYS);
      } finally {
        c.close();
        await srv.stop(1000);
      }
    });
  }

  it("the update-point edit finds its anchor in every release", async () => {
    for (const { program, version } of ALL) {
      const site = UPDATE_POINT_SITE[program];
      const text = await readFile(path.join(workDir, "src", `${program}-${version}`, site.file), "utf8");
      const edited = insertUpdatePoint(program, text);
      expect(edited.split("GRAFT_UPDATE_POINT();").length - 1, `${program}-${version}`).toBe(1);
      expect(edited).toContain('#include "graft.h"');
      expect(edited.length - text.length).toBeLessThan(80);
    }
  });
});
