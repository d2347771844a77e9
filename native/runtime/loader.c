/*
 * loader.c - dlopen a patch and check it against the running program.
 *
 * RTLD_NOW: every symbol is resolved here (those of the executable then
 * bound by index, imports.c), in the control thread, so that a
 * missing one is a refusal and not a crash at the update point. RTLD_GLOBAL:
 * a later patch resolves symbols of earlier ones. Everything happens before
 * the main thread is involved; a refused patch is closed again.
 *
 * THREAD SAFETY: control thread only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "core.h"
#include "imports.h"
#include "loader.h"
#include "patch.h"

int grt_loader_open(const grt_bundle *b, grt_loaded *out, grt_refusal *r)
{
    const grt_patch *p;
    grt_version v;
    void *h;
    int err;

    memset(out, 0, sizeof(*out));
    dlerror();
    h = dlopen(b->so_path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        const char *e = dlerror();
        return grt_refuse(r, -ENOEXEC, "load-failed", "dlopen: %s", e ? e : "unknown error");
    }
    p = dlsym(h, "__graft_patch");
    if (!p) {
        const char *e = dlerror();
        err = grt_refuse(r, -ENOENT, "load-failed", "dlsym(__graft_patch): %s", e ? e : "not found");
        goto err;
    }
    if (p->abi != GRT_ABI_VERSION) {
        err = grt_refuse(r, -EPROTO, "abi", "patch ABI %u, runtime ABI %u", (unsigned)p->abi, GRT_ABI_VERSION);
        goto err;
    }
    if (!p->program || strcmp(p->program, grt_program_name) != 0) {
        err = grt_refuse(r, -EPERM, "wrong-program", "patch for program \"%s\", this is \"%s\"",
                         p->program ? p->program : "(null)", grt_program_name);
        goto err;
    }
    grt_version_get(&v);
    if (!p->base_digest || strcmp(p->base_digest, v.digest) != 0) {
        err = grt_refuse(r, -EPERM, "wrong-base", "patch applies to version %.12s..., running %.12s...",
                         p->base_digest ? p->base_digest : "(null)", v.digest);
        goto err;
    }
    if (!p->target_digest || !grt_is_hex_digest(p->target_digest, strlen(p->target_digest))) {
        err = grt_refuse(r, -EINVAL, "abi", "patch target digest is not 64 hex characters");
        goto err;
    }
    /* A signed bundle names the target: the object must agree with it. */
    if (b->has_target && strcmp(p->target_digest, b->target) != 0) {
        err = grt_refuse(r, -EPERM, "digest-mismatch", "patch.so targets version %.12s..., the manifest says %.12s...",
                         p->target_digest, b->target);
        goto err;
    }
    /* Only a patch for this very version is bound; before anything reads the
     * descriptor's pointers into the executable. */
    err = grt_imports_bind(h, b->so_path, p, r);
    if (err < 0)
        goto err;
    err = grt_patch_verify(p, r);
    if (err < 0)
        goto err;
    out->handle = h;
    out->patch = p;
    return 0;

err:
    dlclose(h);
    return err;
}

void grt_loader_close(grt_loaded *l)
{
    if (l->handle && dlclose(l->handle) != 0)
        grt_log("dlclose: %s", dlerror());
    l->handle = NULL;
    l->patch = NULL;
}
