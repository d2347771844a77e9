/*
 * imports.h - binding a patch's references to the executable by index (private).
 *
 * THREAD SAFETY: control thread only, right after dlopen and before any
 * other use of the patch.
 */
#ifndef GRT_IMPORTS_H
#define GRT_IMPORTS_H

#include "core.h"

/* Binds every reference of the patch loaded from so_path (handle: its dlopen
 * handle) to a symbol of p->imports: the GOT entry or data word gets
 * __graft_symtab[index] (plus the addend for R_X86_64_64). Everything is
 * checked before the first write: an import table that is not sorted or
 * points past the executable's table, a relocation type the runtime does
 * not bind, or a reference the dynamic linker bound by name is a refusal
 * (code "abi") and nothing has been written. A patch without imports is
 * left alone. Returns 0 or -errno. */
int grt_imports_bind(void *handle, const char *so_path, const grt_patch *p, grt_refusal *r) GRT_WARN_UNUSED;

#endif /* GRT_IMPORTS_H */
