/** What `graft patch` found and did: written as PATCHDIR/manifest.json, shown by the dashboard, bundled as summary.json. */
export type FunctionStatus = "added" | "removed" | "changed" | "signature" | "noise" | "retyped" | "caller" | "same";
export type TypeStatus = "added" | "removed" | "changed" | "same";
export type FieldStatus = "same" | "added" | "removed" | "retyped";
export type GlobalStatus = "added" | "removed" | "retyped" | "same";

export interface FunctionChange {
  name: string;
  uname: string;
  status: FunctionStatus;
  file: string;
  line: number;
  /** Why a function whose body did not change is in the patch, or what the noise was. */
  note?: string;
  oldSignature?: string;
  newSignature?: string;
  oldSource?: string;
  newSource?: string;
}

export interface FieldChange {
  name: string;
  status: FieldStatus;
  oldType?: string;
  newType?: string;
}

export interface TypeChange {
  key: string;
  spelling: string;
  status: TypeStatus;
  from?: number;
  to?: number;
  outOfLine?: boolean;
  fields: FieldChange[];
}

export interface GlobalChange {
  id: string;
  name: string;
  status: GlobalStatus;
  oldType?: string;
  newType?: string;
  symbol?: string;
  note?: string;
}

export interface PointVerdict {
  id: number;
  file: string;
  line: number;
  function: string;
  safe: boolean;
  reasons: string[];
}

/** Whether a thread blocked in a call made from a function (poll, accept, read...) counts as arrived for this patch. */
export interface BlockedVerdict {
  /** functionId(uname) */
  id: string;
  uname: string;
  function: string;
  file: string;
  line: number;
  safe: boolean;
  reasons: string[];
}

export interface ThreadVerdict {
  entry: string;
  file: string;
  line: number;
  points: { id: number; safe: boolean }[];
  /** Whether the thread, blocked in a call made from its entry function (its idle wait), counts as arrived. */
  blockedInEntry?: { safe: boolean; reasons: string[] };
}

export interface PatchManifest {
  format: "graft-patch/1";
  program: string;
  base: string;
  target: string;
  sequence: number;
  createdAt: string;
  functions: FunctionChange[];
  types: TypeChange[];
  globals: GlobalChange[];
  safety: PointVerdict[];
  /**
   * The running program's threads and the points each may reach, with the
   * verdict for this patch: the update applies once every thread waits at
   * one of its safe points. Absent for a base built before threads were
   * recorded.
   */
  threads?: ThreadVerdict[];
  /** Symbols of the generated transformers the reviewer may edit, by type step. */
  transformers: { type: string; from: number; to: number; function: string }[];
  warnings: string[];
}
