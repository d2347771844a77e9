/**
 * What a reviewer writes into a generated xform.c before approving a real
 * release's patch: the state the new release's own constructors would have set
 * up for values that already exist. Only memcached 1.2.3 -> 1.2.4 needs it:
 *
 * - conn gains `suffixlist` (with suffixsize, suffixcurr, suffixleft), which
 *   1.2.4's conn_new() allocates with SUFFIX_LIST_INITIAL (20) entries; a
 *   connection made by 1.2.3 must get its list too, or the first `gets` on it
 *   writes through a NULL list;
 * - settings gains `access`, the unix socket's mode, 0700 in settings_init().
 *
 * Each edit replaces the generated "starts zeroed" line, found by its text; a
 * line that is not there fails loudly (the generator changed, review again).
 */
export interface ReviewEdit {
  /** The generated line, as `graft patch` writes it. */
  generated: string;
  /** What the reviewer puts there instead. */
  reviewed: string;
}

export const MEMCACHED_124_REVIEW: readonly ReviewEdit[] = [
  {
    generated: "    /* new field suffixlist (char **): starts zeroed */",
    reviewed: "    new->suffixlist = malloc(sizeof(char *) * 20); /* review: as 1.2.4's conn_new() (SUFFIX_LIST_INITIAL) */",
  },
  {
    generated: "    /* new field suffixsize (int): starts zeroed */",
    reviewed: "    new->suffixsize = new->suffixlist ? 20 : 0; /* review: the list's size */",
  },
  {
    generated: "    /* new field suffixcurr (char **): starts zeroed */",
    reviewed: "    new->suffixcurr = new->suffixlist; /* review: as conn_new() */",
  },
  {
    generated: "    /* new field access (int): starts zeroed */",
    reviewed: "    new->access = 0700; /* review: settings_init()'s default */",
  },
];

/** The reviewed transformer file; throws when a generated line it edits is missing. */
export function applyReview(xform: string, edits: readonly ReviewEdit[]): string {
  let out = xform;
  for (const e of edits) {
    if (!out.includes(e.generated)) throw new Error(`review: the generated xform.c has no line ${JSON.stringify(e.generated)}`);
    out = out.replace(e.generated, e.reviewed);
  }
  return out;
}
