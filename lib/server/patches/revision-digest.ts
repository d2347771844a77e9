import crypto from "node:crypto";

/** What a revision's approval is of: everything that goes into its bundle. */
export interface RevisionContent {
  patchId: number;
  number: number;
  manifest: string;
  patchSource: string;
  xformSource: string;
  versionData: string | null;
}

/**
 * SHA-256 of a revision's content. A reviewer approves the digest the page
 * showed them; an edit in place between loading the page and approving, or
 * after the approval, changes it, and a bundle is built only when every
 * approval names the digest of what is built.
 */
export function revisionDigest(r: RevisionContent): string {
  const fields = [String(r.patchId), String(r.number), r.manifest, r.patchSource, r.xformSource, r.versionData ?? ""];
  // Length-prefixed, so that moving text from one field to the next changes the digest.
  const h = crypto.createHash("sha256").update("graft-revision/1\n");
  for (const f of fields) h.update(`${Buffer.byteLength(f)}:`).update(f);
  return h.digest("hex");
}

/** The approvals that do not name `digest` (legacy ones name none). */
export function staleApprovals<T extends { decision: string; digest: string }>(reviews: T[], digest: string): T[] {
  return reviews.filter((r) => r.decision === "approve" && r.digest !== digest);
}
