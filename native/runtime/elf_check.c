/*
 * elf_check.c - a patch.so is checked to be a whole ELF object before the
 * runtime writes its private copy and dlopen maps it (elf_check.h). Both the
 * signed path (bundle.c, after the digest check) and the insecure directory
 * path check the very bytes they then write: what is mapped is what was
 * checked, whatever happens to the original file afterwards.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "elf_check.h"

/* off + size <= len, without overflow. */
static int inside(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

int grt_elf_check(const unsigned char *data, size_t len, grt_refusal *r)
{
    Elf64_Ehdr eh;
    unsigned i;

    if (len < sizeof(eh) || memcmp(data, ELFMAG, SELFMAG) != 0)
        return grt_refuse(r, -EINVAL, "bad-format", "patch.so is not an ELF file (%zu bytes)", len);
    memcpy(&eh, data, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
        return grt_refuse(r, -EINVAL, "bad-format", "patch.so is not a 64-bit x86-64 ELF object");
    if (eh.e_type != ET_DYN)
        return grt_refuse(r, -EINVAL, "bad-format", "patch.so is not a shared object (ELF type %u)", eh.e_type);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
        !inside(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
        return grt_refuse(r, -EINVAL, "bad-format", "patch.so is truncated: its program headers end past its %zu bytes", len);
    if (eh.e_shoff != 0 && (eh.e_shentsize != sizeof(Elf64_Shdr) ||
                            !inside(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), len)))
        return grt_refuse(r, -EINVAL, "bad-format", "patch.so is truncated: its section headers end past its %zu bytes", len);
    for (i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;

        memcpy(&ph, data + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC)
            continue;
        if (ph.p_filesz > ph.p_memsz && ph.p_type == PT_LOAD)
            return grt_refuse(r, -EINVAL, "bad-format", "patch.so: segment %u has more bytes in the file than in memory", i);
        if (!inside(ph.p_offset, ph.p_filesz, len))
            return grt_refuse(r, -EINVAL, "bad-format",
                              "patch.so is truncated: segment %u ends at byte %llu, the file has %zu", i,
                              (unsigned long long)ph.p_offset + (unsigned long long)ph.p_filesz, len);
    }
    return 0;
}
