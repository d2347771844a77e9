import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseVersionData, versionDataJsonSchema } from "./version-data-schema.js";

describe("version data schema", () => {
  it("is the one documented in docs/version-data.schema.json", () => {
    const committed = JSON.parse(readFileSync(new URL("../../docs/version-data.schema.json", import.meta.url), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(versionDataJsonSchema())));
  });

  it("names the file and the first bad field", () => {
    expect(() => parseVersionData({ format: "graft-version-data/1", program: "kvd", digest: "zz" }, "old/kvd.vd.json"))
      .toThrow(expect.objectContaining({ diagnostics: [expect.objectContaining({ file: "old/kvd.vd.json", message: expect.stringContaining("field digest") })] }));
  });
});
