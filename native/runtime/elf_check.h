/*
 * elf_check.h - the shape of a patch.so before it is mapped (private).
 *
 * THREAD SAFETY: pure; any thread.
 */
#ifndef GRT_ELF_CHECK_H
#define GRT_ELF_CHECK_H

#include <stddef.h>

#include "core.h"

/* Checks that the bytes are a whole x86-64 ELF shared object: every
 * segment, the program and section header tables inside the file. A
 * truncated file would otherwise be mapped by dlopen past its end, and the
 * first touch of the missing pages kills the process with SIGBUS. Returns 0,
 * or -EINVAL with the reason in r (code "bad-format"). */
int grt_elf_check(const unsigned char *data, size_t len, grt_refusal *r) GRT_WARN_UNUSED;

#endif /* GRT_ELF_CHECK_H */
