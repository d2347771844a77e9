/**
 * The version data (`NAME.vd.json`): everything a later `graft patch` needs to
 * know about a running build. Documented by docs/version-data.schema.json.
 */
export const VERSION_DATA_FORMAT = "graft-version-data/1";

export interface VdFunction {
  /** Source name. */
  name: string;
  /** Program-unique name: the name itself, or <file-stem>__<name> for statics. */
  uname: string;
  file: string;
  line: number;
  endLine: number;
  isStatic: boolean;
  variadic: boolean;
  /** clang's spelling of the function type, e.g. "int (struct conn *, int)". */
  signature: string;
  /** The function type by meaning: typedefs resolved, parameters' top-level qualifiers dropped (what a change is judged by). */
  canonicalSignature?: string;
  /** sha256 of the whitespace-normalised preprocessed body. */
  fingerprint: string;
  /** sha256 of the body expanded with __LINE__ and __FILE__ pinned: equal when only those moved. */
  stableFingerprint: string;
  /** The function's source text as written (for review diffs). */
  source: string;
  /** Symbol of the implementation currently installed. */
  impl: string;
  /** The indirection slot every call goes through (empty for main and for direct functions). */
  slot: string;
  /** Called directly, without a slot, and left to gcc's inlining (lib/compile/direct-calls.ts): a change replaces its callers. */
  direct?: boolean;
  addressTaken: boolean;
  /** "file:line" of a static initialiser that stores this variadic function's address: it can never be replaced. */
  pinned?: string;
  /** Unames of program functions this one calls directly. */
  calls: string[];
  /** Type keys this function uses concretely (field access, sizeof, initialisers, by-value locals). */
  typesUsed: string[];
  /** Globals (version-data ids) this function reads or writes: a patch that moves one's storage must replace it. */
  globalsUsed?: string[];
  /** Whether this function holds update points. */
  hasUpdatePoint: boolean;
  /** For a loop body extracted into its own function: the function holding the loop, and the locals passed to it ("name: type"). */
  extractedFrom?: string;
  env?: string[];
}

export interface VdField {
  name: string;
  /** As the program spells it. */
  type: string;
  /** By meaning (typedefs resolved, anonymous members by structure, enums with their values): what a change is judged by. */
  canon?: string;
}

export interface VdTypeVersion {
  version: number;
  /** Definition of the data struct of this version, `struct __graft_d_<key>_v<N> { ... };` */
  definition: string;
  fields: VdField[];
  dataSize: number;
  outOfLine: boolean;
}

export interface VdEscapingField {
  field: string;
  file: string;
  line: number;
  /** The statement that keeps the address. */
  what: string;
}

export interface VdType {
  /** Program-wide key: struct tag, or typedef name of an anonymous struct. */
  key: string;
  kind: "struct" | "union";
  /** How the program spells the type: "struct conn" or "item_t". */
  spelling: string;
  file: string;
  line: number;
  wrapped: boolean;
  /** Why the type cannot be wrapped; a patch may not change a fixed type. */
  fixed?: { reason: string; file: string; line: number };
  /**
   * Fields whose address some version of the running program keeps (in a
   * global, a struct, a library): the pointers outlive updates, so these
   * fields keep their place (the fields up to them unchanged) and the data
   * stays in line. Accumulated over a chain of patches: old pointers remain.
   */
  escapingFields?: VdEscapingField[];
  /** The trailing flexible array member, kept in the wrapper after the room (not among `fields`). */
  flexible?: { name: string; type: string };
  fields: VdField[];
  /** Current version (0 in the first build). */
  version: number;
  /** Bytes available for data in the wrapper (GRT_ROOM of the first version), for wrapped types. */
  roomBytes?: number;
  wrapperSize?: number;
  versions: VdTypeVersion[];
}

export interface VdGlobal {
  name: string;
  /** Identity across versions: the name, or the program-unique name of a static (file, function, name). */
  id: string;
  /** The symbol that holds the storage now (renamed statics, or a patch's new storage). */
  symbol: string;
  file: string;
  line: number;
  type: string;
  /** The type by meaning, as for fields. */
  canon?: string;
  isStatic: boolean;
  /** `__thread` / `_Thread_local`: no address to keep in the executable's symbol table (exported by name). */
  threadLocal?: boolean;
  /** For static locals: the function they live in. */
  function?: string;
  /** Text of the initialiser, if any (for review). */
  init?: string;
  /** Where this version, or one before it, keeps the global's address (`int *sink = &total;`): its storage never moves. */
  addressKept?: { file: string; line: number; what: string };
}

export interface VdUpdatePoint {
  id: number;
  file: string;
  line: number;
  function: string;
  /** Program-unique name of the function holding the point. */
  uname: string;
  /** The point opens an extracted loop body: an update there restarts the iteration in the new body. */
  restarts: boolean;
  /** Types used concretely, and functions called, by code that may still run after an update here. */
  typesUsedAfter: string[];
  functionsCalledAfter: string[];
  /** Globals (version-data ids) read or written after the point. */
  globalsUsedAfter: string[];
  /** Where each type or global is used after the point, for messages: key -> "file:line". */
  typeUseSites: Record<string, string>;
  globalUseSites: Record<string, string>;
}

export interface VersionData {
  format: typeof VERSION_DATA_FORMAT;
  program: string;
  /** sha256 of this document with `digest` set to "". */
  digest: string;
  /** Number of patches between the first build and this version. */
  sequence: number;
  /** Digest of the version this one was patched from, if any. */
  previous?: string;
  files: { path: string; sha256: string }[];
  cflags: string[];
  functions: VdFunction[];
  types: VdType[];
  globals: VdGlobal[];
  updatePoints: VdUpdatePoint[];
  /** Shared objects of patches applied so far, in order (symbols of later patches may live there). */
  patches: string[];
  /**
   * The executable's `__graft_symtab`, in order: the symbols patches bind to by
   * index (graft_abi.h). Set by the first build and kept by every patch.
   * Absent in builds that export these symbols by name.
   */
  exeSymbols?: string[];
  /**
   * The program's threads (the main thread, and each start routine given to
   * pthread_create) and the update points each may reach: an update waits
   * for every thread at a safe point (lib/analysis/thread-entries.ts).
   */
  threads?: VdThread[];
  /**
   * For every function of the program (functionId: its code's section), what
   * runs after a thread blocked in a call made from it: a patch lists the
   * functions where that is all safe, and a thread waiting there counts as
   * arrived (lib/analysis/blocked-sites.ts, native/runtime/blocked.c).
   */
  blockingSites?: VdBlockingSite[];
}

export interface VdBlockingSite {
  uname: string;
  /** functionId(uname): 16 hex digits */
  id: string;
  function: string;
  file: string;
  line: number;
  typesUsedAfter: string[];
  functionsCalledAfter: string[];
  globalsUsedAfter: string[];
}

export interface VdThread {
  entry: string;
  uname: string;
  file: string;
  line: number;
  points: number[];
}
