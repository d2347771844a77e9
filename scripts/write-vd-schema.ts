/** Writes docs/version-data.schema.json from lib/model/version-data-schema.ts. */
import { writeFileSync } from "node:fs";
import { versionDataJsonSchema } from "../lib/model/version-data-schema.js";

writeFileSync(new URL("../docs/version-data.schema.json", import.meta.url), JSON.stringify(versionDataJsonSchema(), null, 2) + "\n");
