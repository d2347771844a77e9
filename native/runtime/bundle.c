/*
 * bundle.c - reading and verifying a patch bundle: docs/bundle-format.md.
 *
 * The running program trusts neither the delivering command nor the file
 * system: it reads the bundle itself and checks, in this order (each failure
 * has its reason code): the container's shape (bad-format), that it trusts
 * some key (unsigned), the key id (untrusted-key), the Ed25519 signature over
 * "graft-bundle-v1\n" || manifest (bad-signature) - before the manifest is
 * parsed - then the manifest (bad-format), every file's size and SHA-256
 * (digest-mismatch), the program name (wrong-program), the base digest
 * (wrong-base) and the sequence (replay). Only then is patch.so written to a
 * private file for dlopen.
 *
 * libsodium is not linked: a program needs it only when a bundle arrives, and
 * mapping it at start costs every process about 120 kB of resident memory.
 * The first verification dlopen()s it (RTLD_LOCAL: its symbols stay out of
 * the program's and the patches' namespace) and looks up the four functions
 * used below, once (pthread_once); the library then stays loaded. When it
 * cannot be loaded, bundles are refused as crypto-unavailable and the process
 * runs on. <sodium.h> is deliberately not included: a direct call to
 * libsodium would then not compile (in libgraft.so.1 it would only fail at
 * load time, as an undefined symbol). Hex is done here: it is needed before
 * the library is loaded.
 *
 * THREAD SAFETY: control thread only (the library is loaded under
 * pthread_once all the same).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "elf_check.h"
#include "core.h"
#include "grt_alloc.h"

#define GRT_MAX_KEYS 64
#define GRT_MAX_FILES 64
#define GRT_NAME_MAX 255

/* ---- libsodium, loaded at the first verification ---- */

/* The constants of <sodium.h> this file needs (fixed by the algorithms). */
#define GRT_SHA256_BYTES 32u    /* crypto_hash_sha256_BYTES */
#define GRT_SIG_BYTES 64u       /* crypto_sign_BYTES (Ed25519) */

/* The sonames tried in order: the ABI this runtime was written against
 * (libsodium 1.0.x), then the development link, for systems that name it
 * differently. */
static const char *const sodium_names[] = { "libsodium.so.23", "libsodium.so" };

static struct {
    pthread_once_t once;
    int ok;
    int (*init)(void);
    int (*sha256)(unsigned char *out, const unsigned char *in, unsigned long long inlen);
    int (*verify_detached)(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
                           const unsigned char *pk);
    int (*memcmp_ct)(const void *a, const void *b, size_t len); /* sodium_memcmp: constant time */
    char why[256]; /* when !ok: what failed, for the refusal */
} sodium = { .once = PTHREAD_ONCE_INIT };

/* Appends what went wrong to sodium.why, for the refusal. */
static void sodium_why(const char *what, const char *detail)
{
    size_t n = strlen(sodium.why);

    snprintf(sodium.why + n, sizeof(sodium.why) - n, "%s%s%s%s", n ? "; " : "", what, detail ? ": " : "",
             detail ? detail : "");
}

/* Returns 0 when every symbol was found and sodium_init() succeeded (the
 * handle is kept), or -1 (the handle is closed). */
static int sodium_try(const char *name)
{
    static const char *const syms[4] = { "sodium_init", "crypto_hash_sha256", "crypto_sign_verify_detached",
                                         "sodium_memcmp" };
    void *h, *f[4];
    int i;

    dlerror();
    h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();

        sodium_why(e ? e : name, e ? NULL : "dlopen failed");
        return -1;
    }
    for (i = 0; i < 4; i++) {
        dlerror();
        f[i] = dlsym(h, syms[i]);
        if (!f[i]) {
            const char *e = dlerror();

            sodium_why(e ? e : name, e ? NULL : syms[i]);
            dlclose(h);
            return -1;
        }
    }
    /* dlsym returns object pointers; POSIX guarantees that they convert to
     * function pointers (memcpy keeps -Wpedantic quiet about it). */
    memcpy(&sodium.init, &f[0], sizeof(f[0]));
    memcpy(&sodium.sha256, &f[1], sizeof(f[1]));
    memcpy(&sodium.verify_detached, &f[2], sizeof(f[2]));
    memcpy(&sodium.memcmp_ct, &f[3], sizeof(f[3]));
    if (sodium.init() < 0) {
        sodium_why(name, "sodium_init() failed");
        dlclose(h);
        return -1;
    }
    grt_log("loaded %s to verify bundles", name);
    return 0; /* the handle stays open for the life of the process */
}

static void sodium_load(void)
{
    size_t i;

    for (i = 0; i < sizeof(sodium_names) / sizeof(sodium_names[0]); i++)
        if (sodium_try(sodium_names[i]) == 0) {
            sodium.ok = 1;
            return;
        }
}

/* Loads libsodium on the first call; 0 when it is usable, else a refusal. */
static int need_sodium(grt_refusal *r)
{
    pthread_once(&sodium.once, sodium_load);
    if (sodium.ok)
        return 0;
    return grt_refuse(r, -ENOSYS, "crypto-unavailable",
                      "libsodium (libsodium.so.23) could not be loaded to verify the bundle: %s", sodium.why);
}

static void sha256(unsigned char out[GRT_SHA256_BYTES], const unsigned char *in, size_t len)
{
    sodium.sha256(out, in, (unsigned long long)len);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2 * n hex digits (either case, as sodium_hex2bin takes them) into n
 * bytes. Returns 0 or -EINVAL. */
static int hex_decode(unsigned char *out, size_t n, const char *hex, size_t len)
{
    size_t i;

    if (len != 2 * n)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

typedef struct mfile {
    char name[GRT_NAME_MAX + 1];
    uint64_t size;
    unsigned char sha[GRT_SHA256_BYTES];
    const unsigned char *data; /* set when found in the container */
} mfile;

typedef struct manifest {
    char program[GRT_NAME_MAX + 1];
    char base[GRT_DIGEST_HEX + 1];
    char target[GRT_DIGEST_HEX + 1];
    uint64_t sequence;
    int nfiles;
    mfile files[GRT_MAX_FILES];
} manifest;

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;

    while (n-- > 0)
        v = (v << 8) | p[n];
    return v;
}

int grt_parse_trusted_keys(const char *text, unsigned char (*keys)[GRT_KEY_BYTES], int max)
{
    int n = 0;

    while (*text) {
        const char *eol = strchr(text, '\n');
        size_t len = eol ? (size_t)(eol - text) : strlen(text);

        if (len > 0 && text[len - 1] == '\r')
            len--;
        if (len > 0) {
            if (len != 2 * GRT_KEY_BYTES || n >= max)
                return -EINVAL;
            if (hex_decode(keys[n], GRT_KEY_BYTES, text, len) < 0)
                return -EINVAL;
            n++;
        }
        if (!eol)
            break;
        text = eol + 1;
    }
    return n;
}

static int valid_file_name(const char *s, size_t n)
{
    size_t i;

    if (n < 1 || n > GRT_NAME_MAX)
        return 0;
    /* "." and ".." name directories, never a file of the bundle. */
    if (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.')))
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Decimal without sign or leading zeros, at most 2^53 - 1: one spelling per
 * number, and the same range as the TypeScript reader (lib/bundle). */
static int parse_u64(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t v;

    if (n < 1 || n > 16 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
        return -EINVAL;
    v = strtoull(s, NULL, 10);
    if (v > ((uint64_t)1 << 53) - 1)
        return -ERANGE;
    *out = v;
    return 0;
}

static int valid_program(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 1 || n > GRT_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

/* YYYY-MM-DDTHH:MM:SSZ */
static int valid_created(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    size_t i;

    if (strlen(s) != sizeof(shape) - 1)
        return 0;
    for (i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    return 1;
}

static int parse_file_line(manifest *m, char *line, grt_refusal *r)
{
    char *name, *size_s, *sha_s;
    mfile *f;
    int i;

    if (strncmp(line, "file ", 5) != 0)
        return grt_refuse(r, -EINVAL, "bad-format", "malformed manifest: expected \"file NAME SIZE SHA256\"");
    name = line + 5;
    size_s = strchr(name, ' ');
    if (!size_s)
        return grt_refuse(r, -EINVAL, "bad-format", "malformed manifest file line");
    *size_s++ = '\0';
    sha_s = strchr(size_s, ' ');
    if (!sha_s)
        return grt_refuse(r, -EINVAL, "bad-format", "malformed manifest file line");
    *sha_s++ = '\0';
    if (!valid_file_name(name, strlen(name)))
        return grt_refuse(r, -EINVAL, "bad-format", "file name in the manifest is not plain");
    if (m->nfiles >= GRT_MAX_FILES)
        return grt_refuse(r, -EINVAL, "bad-format", "more than %d files", GRT_MAX_FILES);
    for (i = 0; i < m->nfiles; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return grt_refuse(r, -EINVAL, "bad-format", "file %s is listed twice", name);
    f = &m->files[m->nfiles];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    if (parse_u64(size_s, &f->size) < 0 || !grt_is_hex_digest(sha_s, strlen(sha_s)) ||
        hex_decode(f->sha, sizeof(f->sha), sha_s, strlen(sha_s)) < 0)
        return grt_refuse(r, -EINVAL, "bad-format", "malformed manifest line for file %s", name);
    m->nfiles++;
    return 0;
}

/* Parses the (already authenticated) manifest. It accepts exactly what
 * lib/bundle's formatManifest writes: the fixed lines in their order, then
 * one or more file lines. */
static int parse_manifest(const unsigned char *text, size_t len, manifest *m, grt_refusal *r)
{
    static const char *const fixed[] = { "graft-bundle", "program", "base", "target", "sequence", "created" };
    char *buf, *line, *next;
    unsigned idx = 0;
    int err = 0;

    memset(m, 0, sizeof(*m));
    if (len == 0 || text[len - 1] != '\n' || memchr(text, '\0', len))
        return grt_refuse(r, -EINVAL, "bad-format", "malformed manifest (not newline-terminated text)");
    buf = grt_malloc(len + 1);
    if (!buf)
        return grt_refuse(r, -ENOMEM, "bad-format", "out of memory");
    memcpy(buf, text, len);
    buf[len] = '\0';

    for (line = buf; *line || idx < 6; line = next, idx++) {
        char *nl = strchr(line, '\n');
        char *v;

        if (!nl) {
            err = grt_refuse(r, -EINVAL, "bad-format", "manifest ends before the %s line", fixed[idx]);
            goto out;
        }
        *nl = '\0';
        next = nl + 1;
        if (idx >= 6) {
            err = parse_file_line(m, line, r);
            if (err < 0)
                goto out;
            continue;
        }
        v = strchr(line, ' ');
        if (!v || (size_t)(v - line) != strlen(fixed[idx]) || strncmp(line, fixed[idx], (size_t)(v - line)) != 0) {
            err = grt_refuse(r, -EINVAL, "bad-format", "manifest line %u: expected \"%s ...\"", idx + 1, fixed[idx]);
            goto out;
        }
        v++;
        switch (idx) {
        case 0:
            if (strcmp(v, "1") != 0)
                err = grt_refuse(r, -EINVAL, "bad-format", "manifest format is not \"graft-bundle 1\"");
            break;
        case 1:
            if (!valid_program(v))
                err = grt_refuse(r, -EINVAL, "bad-format", "malformed program name");
            else
                snprintf(m->program, sizeof(m->program), "%s", v);
            break;
        case 2:
        case 3:
            if (!grt_is_hex_digest(v, strlen(v)))
                err = grt_refuse(r, -EINVAL, "bad-format", "%s is not 64 lowercase hex characters", fixed[idx]);
            else
                memcpy(idx == 2 ? m->base : m->target, v, GRT_DIGEST_HEX + 1);
            break;
        case 4:
            if (parse_u64(v, &m->sequence) < 0)
                err = grt_refuse(r, -EINVAL, "bad-format", "malformed sequence");
            break;
        default:
            if (!valid_created(v))
                err = grt_refuse(r, -EINVAL, "bad-format", "created is not YYYY-MM-DDTHH:MM:SSZ");
            break;
        }
        if (err < 0)
            goto out;
    }
    if (m->nfiles == 0)
        err = grt_refuse(r, -EINVAL, "bad-format", "manifest lists no files");
out:
    grt_free(buf);
    return err;
}

static mfile *find_file(manifest *m, const char *name, size_t n)
{
    int i;

    for (i = 0; i < m->nfiles; i++)
        if (strlen(m->files[i].name) == n && memcmp(m->files[i].name, name, n) == 0)
            return &m->files[i];
    return NULL;
}

/* Walks the file section: the manifest's files in its order, each with its
 * size and SHA-256, and nothing after the last one. */
static int check_files(manifest *m, const unsigned char *p, size_t len, grt_refusal *r)
{
    size_t pos = 0;
    int i;

    for (i = 0; i < m->nfiles; i++) {
        unsigned char digest[GRT_SHA256_BYTES];
        mfile *f = &m->files[i];
        const char *name;
        size_t n;
        uint64_t s;

        if (pos == len)
            return grt_refuse(r, -EINVAL, "bad-format", "truncated: file %s is missing", f->name);
        if (len - pos < 2)
            return grt_refuse(r, -EINVAL, "bad-format", "truncated inside the name length of file %d", i + 1);
        n = (size_t)le(p + pos, 2);
        pos += 2;
        if (n < 1 || n > GRT_NAME_MAX)
            return grt_refuse(r, -EINVAL, "bad-format", "file %d has a name length of %zu", i + 1, n);
        if (len - pos < n)
            return grt_refuse(r, -EINVAL, "bad-format", "truncated inside the name of file %d", i + 1);
        name = (const char *)p + pos;
        pos += n;
        if (!valid_file_name(name, n))
            return grt_refuse(r, -EINVAL, "bad-format", "file %d has a name that is not plain", i + 1);
        if (n != strlen(f->name) || memcmp(name, f->name, n) != 0)
            return grt_refuse(r, -EINVAL, "bad-format",
                              find_file(m, name, n) ? "files out of order: found %.*s where the manifest lists %s"
                                                    : "file %.*s is not named in the manifest (expected %s)",
                              (int)n, name, f->name);
        if (len - pos < 8)
            return grt_refuse(r, -EINVAL, "bad-format", "truncated inside the size of %s", f->name);
        s = le(p + pos, 8);
        pos += 8;
        if (s != f->size)
            return grt_refuse(r, -EINVAL, "digest-mismatch", "%s is %" PRIu64 " bytes, the manifest says %" PRIu64,
                              f->name, s, f->size);
        if (len - pos < s)
            return grt_refuse(r, -EINVAL, "bad-format", "truncated inside %s", f->name);
        sha256(digest, p + pos, (size_t)s);
        if (sodium.memcmp_ct(digest, f->sha, sizeof(digest)) != 0)
            return grt_refuse(r, -EINVAL, "digest-mismatch", "SHA-256 of %s differs from the manifest", f->name);
        f->data = p + pos;
        pos += s;
    }
    if (pos != len)
        return grt_refuse(r, -EINVAL, "bad-format", "%zu trailing bytes after the last file", len - pos);
    return 0;
}

static int find_key(const unsigned char *key_id, unsigned char *pk, grt_refusal *r)
{
    unsigned char keys[GRT_MAX_KEYS][GRT_KEY_BYTES];
    char hex[2 * GRT_KEY_ID_BYTES + 1];
    int n, i;

    n = grt_parse_trusted_keys(grt_trusted_keys, keys, GRT_MAX_KEYS);
    if (n < 0)
        return grt_refuse(r, -EPERM, "unsigned", "the program's trusted key list is malformed: it accepts no bundle");
    if (n == 0)
        return grt_refuse(r, -EPERM, "unsigned", "the program trusts no signing key (built without --trust)");
    /* From here on the bundle is checked with libsodium: load it now. */
    if (need_sodium(r) < 0)
        return -ENOSYS;
    for (i = 0; i < n; i++) {
        unsigned char h[GRT_SHA256_BYTES];

        sha256(h, keys[i], GRT_KEY_BYTES);
        if (memcmp(h, key_id, GRT_KEY_ID_BYTES) == 0) {
            memcpy(pk, keys[i], GRT_KEY_BYTES);
            return 0;
        }
    }
    hex_encode(hex, key_id, GRT_KEY_ID_BYTES);
    return grt_refuse(r, -EPERM, "untrusted-key", "key id %s is not among the program's %d trusted key%s",
                      hex, n, n == 1 ? "" : "s");
}

static int verify(const unsigned char *d, size_t len, manifest *m, grt_refusal *r)
{
    static const char ctx[] = GRT_BUNDLE_SIG_CONTEXT;
    unsigned char pk[GRT_KEY_BYTES];
    const unsigned char *mtext, *key_id, *sig;
    unsigned char *signed_msg;
    size_t mlen, head;
    grt_version v;
    mfile *so;
    int err;

    /* 1. The container's shape. */
    if (len < 8 || memcmp(d, GRT_BUNDLE_MAGIC, 8) != 0) {
        if (len < 8 && memcmp(d, GRT_BUNDLE_MAGIC, len) == 0)
            return grt_refuse(r, -EINVAL, "bad-format", "truncated (%zu bytes)", len);
        return grt_refuse(r, -EINVAL, "bad-format", "bad magic: not a graft bundle");
    }
    if (len < 12)
        return grt_refuse(r, -EINVAL, "bad-format", "truncated (%zu bytes)", len);
    mlen = (size_t)le(d + 8, 4);
    if (mlen == 0 || mlen > GRT_BUNDLE_MAX_MANIFEST)
        return grt_refuse(r, -EINVAL, "bad-format", "manifest length %zu is 0 or above 1 MiB", mlen);
    head = 12 + mlen + GRT_KEY_ID_BYTES + GRT_SIG_BYTES;
    if (len < head)
        return grt_refuse(r, -EINVAL, "bad-format", "truncated (%zu bytes, header needs %zu)", len, head);
    mtext = d + 12;
    key_id = mtext + mlen;
    sig = key_id + GRT_KEY_ID_BYTES;

    /* 2. The key, then the signature over the raw manifest bytes, before
     * anything in them is believed. */
    err = find_key(key_id, pk, r);
    if (err < 0)
        return err;
    signed_msg = grt_malloc(sizeof(ctx) - 1 + mlen);
    if (!signed_msg)
        return grt_refuse(r, -ENOMEM, "bad-format", "out of memory");
    memcpy(signed_msg, ctx, sizeof(ctx) - 1);
    memcpy(signed_msg + sizeof(ctx) - 1, mtext, mlen);
    err = sodium.verify_detached(sig, signed_msg, (unsigned long long)(sizeof(ctx) - 1 + mlen), pk);
    grt_free(signed_msg);
    if (err != 0)
        return grt_refuse(r, -EPERM, "bad-signature", "the signature does not verify over the manifest");

    /* 3. The manifest, then the files it names. */
    err = parse_manifest(mtext, mlen, m, r);
    if (err < 0)
        return err;
    so = find_file(m, "patch.so", 8);
    if (!so)
        return grt_refuse(r, -EINVAL, "bad-format", "the manifest lists no patch.so");
    err = check_files(m, d + head, len - head, r);
    if (err < 0)
        return err;

    /* 4. That it is meant for this process, now. */
    if (strcmp(m->program, grt_program_name) != 0)
        return grt_refuse(r, -EPERM, "wrong-program", "bundle for program \"%s\", this is \"%s\"",
                          m->program, grt_program_name);
    grt_version_get(&v);
    if (strcmp(m->base, v.digest) != 0)
        return grt_refuse(r, -EPERM, "wrong-base", "bundle applies to version %.12s..., running %.12s...",
                          m->base, v.digest);
    if (m->sequence <= v.sequence)
        return grt_refuse(r, -EPERM, "replay", "sequence %" PRIu64 " is not above the running sequence %" PRIu64,
                          m->sequence, v.sequence);
    return 0;
}

int grt_bundle_open(const char *path, grt_bundle *out, grt_refusal *r)
{
    unsigned char *data = NULL;
    manifest *m = NULL;
    size_t len = 0;
    mfile *so;
    int err;

    memset(out, 0, sizeof(*out));
    err = grt_read_file(path, GRT_BUNDLE_MAX_SIZE, &data, &len);
    if (err == -EFBIG)
        return grt_refuse(r, err, "bad-format", "bundle larger than %zu bytes", GRT_BUNDLE_MAX_SIZE);
    if (err < 0)
        return grt_refuse(r, err, "bad-request", "cannot read %s: %s", path, strerror(-err));
    m = grt_malloc(sizeof(*m));
    if (!m) {
        err = grt_refuse(r, -ENOMEM, "bad-format", "out of memory");
        goto out;
    }
    err = verify(data, len, m, r);
    if (err < 0)
        goto out;
    so = find_file(m, "patch.so", 8);
    err = grt_elf_check(so->data, (size_t)so->size, r);
    if (err < 0)
        goto out;
    err = grt_write_private_file(so->data, (size_t)so->size, out->so_path, sizeof(out->so_path));
    if (err < 0) {
        out->so_path[0] = '\0';
        grt_refuse(r, err, "load-failed", "cannot write a private copy of patch.so: %s", strerror(-err));
        goto out;
    }
    out->has_target = 1;
    memcpy(out->target, m->target, sizeof(out->target));
    out->sequence = m->sequence;
out:
    grt_free(m);
    grt_free(data);
    return err;
}

/*
 * A patch directory's manifest.json (written by graft patch) names its base:
 * refuse a wrong base before anything is loaded, as for a bundle, so that no
 * code of a patch for another version runs (its constructors, or a dlopen
 * failing on symbols that version does not have). Only the "base" string is
 * read; without a manifest the loader's check of the patch's own base_digest
 * still applies after loading.
 */
static int check_dir_base(const char *dir, grt_refusal *r)
{
    static const char key[] = "\"base\": \"";
    unsigned char *data = NULL;
    char path[PATH_MAX];
    size_t len = 0;
    grt_version v;
    const char *at;
    int n, err = 0;

    n = snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return grt_refuse(r, -ENAMETOOLONG, "bad-request", "path too long");
    if (grt_read_file(path, 1u << 24, &data, &len) < 0)
        return 0;
    at = memmem(data, len, key, sizeof(key) - 1);
    grt_version_get(&v);
    if (at && (size_t)((const unsigned char *)at - data) + sizeof(key) - 1 + GRT_DIGEST_HEX <= len &&
        memcmp(at + sizeof(key) - 1, v.digest, GRT_DIGEST_HEX) != 0)
        err = grt_refuse(r, -ESTALE, "wrong-base", "patch applies to version %.12s..., running %.12s...",
                         at + sizeof(key) - 1, v.digest);
    grt_free(data);
    return err;
}

int grt_bundle_open_dir(const char *dir, grt_bundle *out, grt_refusal *r)
{
    unsigned char *data = NULL;
    char path[PATH_MAX];
    size_t len = 0;
    grt_version v;
    int err, n;

    memset(out, 0, sizeof(*out));
    if (grt_insecure_unsigned != 1)
        return grt_refuse(r, -EPERM, "unsigned",
                          "a bare patch directory is accepted only by a program built with "
                          "--insecure-accept-unsigned-patches");
    err = check_dir_base(dir, r);
    if (err < 0)
        return err;
    n = snprintf(path, sizeof(path), "%s/patch.so", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return grt_refuse(r, -ENAMETOOLONG, "bad-request", "path too long");
    err = grt_read_file(path, GRT_BUNDLE_MAX_SIZE, &data, &len);
    if (err < 0)
        return grt_refuse(r, err, "bad-request", "cannot read %s: %s", path, strerror(-err));
    err = grt_elf_check(data, len, r);
    if (err < 0) {
        grt_free(data);
        return err;
    }
    err = grt_write_private_file(data, len, out->so_path, sizeof(out->so_path));
    grt_free(data);
    if (err < 0) {
        out->so_path[0] = '\0';
        return grt_refuse(r, err, "load-failed", "cannot write a private copy of patch.so: %s", strerror(-err));
    }
    grt_version_get(&v);
    out->has_target = 0;
    out->sequence = v.sequence + 1;
    return 0;
}

void grt_bundle_close(grt_bundle *b)
{
    if (b->so_path[0]) {
        unlink(b->so_path);
        b->so_path[0] = '\0';
    }
}
