/*
 * bundle.h - reading and verifying a patch bundle (private).
 * See docs/bundle-format.md.
 *
 * THREAD SAFETY: runs in the control thread only.
 */
#ifndef GRT_BUNDLE_H
#define GRT_BUNDLE_H

#include <limits.h>
#include <stdint.h>

#include "core.h"

#define GRT_BUNDLE_MAGIC "GRAFTB01"
#define GRT_BUNDLE_SIG_CONTEXT "graft-bundle-v1\n"
#define GRT_BUNDLE_MAX_MANIFEST (1u << 20)
#define GRT_BUNDLE_MAX_SIZE ((size_t)512 << 20)

/* What a verified bundle (or an insecure patch directory) yields. */
typedef struct grt_bundle {
    char so_path[PATH_MAX];      /* private copy of patch.so, to dlopen */
    int has_target;              /* 1 for a bundle: target below is signed */
    char target[GRT_DIGEST_HEX + 1];
    uint64_t sequence;           /* the sequence after applying */
} grt_bundle;

/* Verifies the bundle file at path against the running program (trusted
 * keys, signature, file digests, program, base, sequence) and writes its
 * patch.so to a private file. On refusal, r says why. */
int grt_bundle_open(const char *path, grt_bundle *out, grt_refusal *r) GRT_WARN_UNUSED;

/* The insecure path: a directory holding patch.so, accepted only by a program
 * built with grt_insecure_unsigned = 1. */
int grt_bundle_open_dir(const char *dir, grt_bundle *out, grt_refusal *r) GRT_WARN_UNUSED;

/* Removes the private copy of patch.so. */
void grt_bundle_close(grt_bundle *b);

/* Exposed for tests: parses grt_trusted_keys-style text into keys.
 * Returns the number of keys, or -EINVAL on a malformed line. */
int grt_parse_trusted_keys(const char *text, unsigned char (*keys)[GRT_KEY_BYTES], int max);

#endif /* GRT_BUNDLE_H */
