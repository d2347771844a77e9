/**
 * The version data's schema, used to check a `--from` file before anything
 * trusts it, and to write docs/version-data.schema.json (`npx tsx
 * scripts/write-vd-schema.ts`; a unit test keeps the two in step).
 */
import { z } from "zod";
import { VERSION_DATA_FORMAT, type VersionData } from "./version-data.js";
import { GraftError } from "./diagnostics.js";

const field = z.object({ name: z.string(), type: z.string(), canon: z.string().optional().describe("the type by meaning: typedefs resolved, anonymous members by structure, enums with their values") });

export const versionDataSchema = z.object({
  format: z.literal(VERSION_DATA_FORMAT),
  program: z.string().regex(/^[A-Za-z0-9._-]+$/).describe("program name (graft compile --name)"),
  digest: z.string().regex(/^[0-9a-f]{64}$/).describe("sha256 of this document with digest set to the empty string"),
  sequence: z.number().int().nonnegative().describe("patches applied between the first build and this version"),
  previous: z.string().regex(/^[0-9a-f]{64}$/).optional().describe("digest of the version this one was patched from"),
  files: z.array(z.object({ path: z.string(), sha256: z.string() })),
  cflags: z.array(z.string()),
  functions: z.array(z.object({
    name: z.string(),
    uname: z.string().describe("program-unique name: the name, or <file-stem>__<name> for statics and extracted loops"),
    file: z.string(), line: z.number().int(), endLine: z.number().int(),
    isStatic: z.boolean(), variadic: z.boolean(),
    signature: z.string().describe("clang's spelling of the function type"),
    canonicalSignature: z.string().optional().describe("the function type by meaning: typedefs resolved, parameters' top-level qualifiers dropped"),
    fingerprint: z.string().describe("sha256 of the normalised preprocessed body"),
    stableFingerprint: z.string().describe("the same with __LINE__ and __FILE__ pinned: equal when only they moved"),
    source: z.string(),
    impl: z.string().describe("symbol of the implementation installed now"),
    slot: z.string().describe("the indirection every call goes through (empty for main and for direct functions)"),
    direct: z.boolean().optional().describe("called directly, without a slot, so that gcc may inline it: a patch that changes it replaces its callers"),
    addressTaken: z.boolean(),
    pinned: z.string().optional().describe("file:line of a static initialiser that stores this variadic function's address: it can never be replaced"),
    calls: z.array(z.string()), typesUsed: z.array(z.string()), globalsUsed: z.array(z.string()).optional(),
    hasUpdatePoint: z.boolean(),
    extractedFrom: z.string().optional().describe("for an extracted loop body: the function that holds the loop"),
    env: z.array(z.string()).optional().describe("locals the holder passes to the extracted body, 'name: type'"),
  })),
  types: z.array(z.object({
    key: z.string(), kind: z.enum(["struct", "union"]), spelling: z.string(),
    file: z.string(), line: z.number().int(),
    wrapped: z.boolean(),
    fixed: z.object({ reason: z.string(), file: z.string(), line: z.number().int() }).optional(),
    escapingFields: z.array(z.object({ field: z.string(), file: z.string(), line: z.number().int(), what: z.string() })).optional()
      .describe("fields whose address the running program keeps: they keep their place"),
    flexible: z.object({ name: z.string(), type: z.string() }).optional().describe("the trailing flexible array member, kept in the wrapper after the room"),
    fields: z.array(field),
    version: z.number().int().nonnegative(),
    roomBytes: z.number().int().optional().describe("bytes the wrapper holds for data; fixed at the first build"),
    wrapperSize: z.number().int().optional(),
    versions: z.array(z.object({
      version: z.number().int(), definition: z.string(), fields: z.array(field),
      dataSize: z.number().int(), outOfLine: z.boolean(),
    })),
  })),
  globals: z.array(z.object({
    name: z.string(), id: z.string(), symbol: z.string(), file: z.string(), line: z.number().int(),
    type: z.string(), canon: z.string().optional(), isStatic: z.boolean(), threadLocal: z.boolean().optional(), function: z.string().optional(), init: z.string().optional(),
    addressKept: z.object({ file: z.string(), line: z.number().int(), what: z.string() }).optional().describe("where a version keeps the global's address: its storage never moves"),
  })),
  updatePoints: z.array(z.object({
    id: z.number().int().positive(), file: z.string(), line: z.number().int(), function: z.string(),
    uname: z.string().describe("program-unique name of the function holding the point"),
    restarts: z.boolean().describe("the point opens an extracted loop body: an update there re-runs the iteration in the new body"),
    typesUsedAfter: z.array(z.string()), functionsCalledAfter: z.array(z.string()).describe("'(*)' stands for calls through function pointers"),
    globalsUsedAfter: z.array(z.string()),
    typeUseSites: z.record(z.string(), z.string()), globalUseSites: z.record(z.string(), z.string()),
  })),
  patches: z.array(z.string()),
  exeSymbols: z.array(z.string()).optional().describe("the executable's __graft_symtab: symbols patches bind to by index"),
  threads: z.array(z.object({
    entry: z.string().describe("the start routine given to pthread_create, or main"),
    uname: z.string(), file: z.string(), line: z.number().int(),
    points: z.array(z.number().int().positive()).describe("the update points the thread may reach"),
  })).optional().describe("an update waits for every thread at a safe update point"),
  blockingSites: z.array(z.object({
    uname: z.string(), id: z.string().regex(/^[0-9a-f]{16}$/), function: z.string(), file: z.string(), line: z.number().int(),
    typesUsedAfter: z.array(z.string()), functionsCalledAfter: z.array(z.string()), globalsUsedAfter: z.array(z.string()),
  })).optional().describe("what runs after a thread blocked in a call made from each function (native/runtime/blocked.c)"),
});

/** Parses version data, naming the file and the first bad field. */
export function parseVersionData(json: unknown, file: string): VersionData {
  const r = versionDataSchema.safeParse(json);
  const bad = (at: string, message: string) => new GraftError(`${file}: not valid version data`, [{ code: 4013, category: "error", file, message: `field ${at}: ${message}` }], 2);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw bad(issue.path.join(".") || "(top level)", issue.message);
  }
  const vd = r.data as VersionData;
  const wrong = strayPath(vd);
  if (wrong) throw bad(wrong.at, wrong.message);
  return vd;
}

/**
 * The places version data names are labels (messages, the review page), never
 * opened: what matters is that they are file names, listed once, and that no
 * place is a path into the machine's system directories, which no
 * declaration of the program comes from. A name with control characters
 * would rewrite the operator's terminal when a message quotes it.
 */
const SYSTEM_DIRS = /^\/(etc|proc|sys|dev|boot|usr\/include|usr\/lib)\//;

function strayPath(vd: VersionData): { at: string; message: string } | undefined {
  const units = new Set<string>();
  const controls = /\p{Cc}/u;
  for (const [i, f] of vd.files.entries()) {
    if (!f.path || controls.test(f.path)) return { at: `files.${i}.path`, message: `${JSON.stringify(f.path)} is not a file name` };
    if (SYSTEM_DIRS.test(f.path)) return { at: `files.${i}.path`, message: `${f.path} is a system file, not one of the program's sources` };
    if (units.has(f.path)) return { at: `files.${i}.path`, message: `${f.path} is listed twice` };
    units.add(f.path);
  }
  const places: [string, string | undefined][] = [
    ...vd.functions.map((f, i) => [`functions.${i}.file`, f.file] as [string, string]),
    ...vd.types.flatMap((t, i) => [[`types.${i}.file`, t.file], [`types.${i}.fixed.file`, t.fixed?.file], ...(t.escapingFields ?? []).map((e, j) => [`types.${i}.escapingFields.${j}.file`, e.file])] as [string, string | undefined][]),
    ...vd.globals.flatMap((g, i) => [[`globals.${i}.file`, g.file], [`globals.${i}.addressKept.file`, g.addressKept?.file]] as [string, string | undefined][]),
    ...vd.updatePoints.map((p, i) => [`updatePoints.${i}.file`, p.file] as [string, string]),
    ...(vd.threads ?? []).map((t, i) => [`threads.${i}.file`, t.file] as [string, string]),
    ...(vd.blockingSites ?? []).map((s, i) => [`blockingSites.${i}.file`, s.file] as [string, string]),
  ];
  for (const [at, p] of places) {
    if (p === undefined) continue;
    if (controls.test(p)) return { at, message: `${JSON.stringify(p)} is not a file name` };
    if (SYSTEM_DIRS.test(p)) return { at, message: `${p} is a system file, not one of the program's sources` };
  }
  return undefined;
}

export function versionDataJsonSchema(): unknown {
  return { $id: "https://graft.dev/schemas/version-data-1.json", title: "Graft version data (NAME.vd.json)", ...z.toJSONSchema(versionDataSchema) };
}
