/*
 * imports.c - binding a patch's references to the executable by index.
 *
 * The executable exports no dynamic symbols for its slots, globals and type
 * registrations (graft_abi.h): it keeps their addresses in __graft_symtab.
 * A patch references them as weak undefined symbols, so dlopen succeeds and
 * leaves each reference 0, and names them in its import table. Here each
 * such relocation of the patch is applied again with the executable's
 * address: what ld.so would have done had the name been exported.
 *
 * The relocations are read from the patch's file (the private copy that was
 * just dlopened): its dynamic section holds link-time addresses, while the
 * mapped copy may have been rewritten by ld.so. Tables are read where they
 * are mapped, at the object's load bias plus their address.
 *
 * Nothing of the patch has run but its constructors, which graft patch keeps
 * free of program code.
 *
 * THREAD SAFETY: see imports.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "grt_alloc.h"
#include "imports.h"

/* Weak: a program built by hand (the runtime's own tests) has no table, and
 * its patches bind by name. */
extern void *const __graft_symtab[] __attribute__((weak));
extern const size_t __graft_symtab_len __attribute__((weak));

#define MAX_PHDRS 64
#define MAX_DYN 512

typedef struct elf_view {
    uintptr_t bias;
    Elf64_Phdr ph[MAX_PHDRS];
    unsigned nph;
    const Elf64_Sym *symtab;
    const char *strtab;
    size_t strsz;
    const Elf64_Rela *rela[2];
    size_t nrela[2];
    uintptr_t relro_start, relro_end; /* page-aligned, 0 when none */
    Elf64_Dyn dyn[MAX_DYN];
} elf_view;

static int read_at(int fd, void *buf, size_t len, off_t off)
{
    unsigned char *p = buf;

    while (len) {
        ssize_t n = pread(fd, p, len, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Whether [vaddr, vaddr+len) lies in one loaded segment (with the given flag, if any). */
static int in_segment(const elf_view *v, uint64_t vaddr, uint64_t len, unsigned flag)
{
    unsigned i;

    for (i = 0; i < v->nph; i++) {
        const Elf64_Phdr *ph = &v->ph[i];

        if (ph->p_type != PT_LOAD || (flag && !(ph->p_flags & flag)))
            continue;
        if (vaddr >= ph->p_vaddr && len <= ph->p_memsz && vaddr - ph->p_vaddr <= ph->p_memsz - len)
            return 1;
    }
    return 0;
}

static int read_view(int fd, const char *so_path, elf_view *v, grt_refusal *r)
{
    Elf64_Ehdr eh;
    Elf64_Dyn *dyn = v->dyn;
    uint64_t symtab = 0, strtab = 0, rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela), jmprel = 0, pltrelsz = 0;
    uint64_t syment = sizeof(Elf64_Sym), pltrel = DT_RELA;
    size_t ndyn = 0, i;
    long page = sysconf(_SC_PAGESIZE);
    int err;

    if ((err = read_at(fd, &eh, sizeof(eh), 0)) < 0)
        return grt_refuse(r, err, "abi", "%s: cannot read the ELF header", so_path);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
        return grt_refuse(r, -ENOEXEC, "abi", "patch imports are bound on x86-64 ELF objects only");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
        return grt_refuse(r, -ENOEXEC, "abi", "%s: %u program headers", so_path, (unsigned)eh.e_phnum);
    v->nph = eh.e_phnum;
    if ((err = read_at(fd, v->ph, v->nph * sizeof(Elf64_Phdr), (off_t)eh.e_phoff)) < 0)
        return grt_refuse(r, err, "abi", "%s: cannot read the program headers", so_path);
    for (i = 0; i < v->nph; i++) {
        const Elf64_Phdr *ph = &v->ph[i];

        if (ph->p_type == PT_DYNAMIC) {
            ndyn = ph->p_filesz / sizeof(Elf64_Dyn);
            if (ndyn > MAX_DYN)
                return grt_refuse(r, -ENOEXEC, "abi", "%s: %zu dynamic entries", so_path, ndyn);
            if ((err = read_at(fd, dyn, ndyn * sizeof(Elf64_Dyn), (off_t)ph->p_offset)) < 0)
                return grt_refuse(r, err, "abi", "%s: cannot read the dynamic section", so_path);
        } else if (ph->p_type == PT_GNU_RELRO && ph->p_memsz) {
            v->relro_start = (v->bias + ph->p_vaddr) & ~(uintptr_t)(page - 1);
            v->relro_end = (v->bias + ph->p_vaddr + ph->p_memsz + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
        }
    }
    for (i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
        uint64_t val = dyn[i].d_un.d_val;

        switch (dyn[i].d_tag) {
        case DT_SYMTAB: symtab = val; break;
        case DT_STRTAB: strtab = val; break;
        case DT_STRSZ: v->strsz = val; break;
        case DT_SYMENT: syment = val; break;
        case DT_RELA: rela = val; break;
        case DT_RELASZ: relasz = val; break;
        case DT_RELAENT: relaent = val; break;
        case DT_JMPREL: jmprel = val; break;
        case DT_PLTRELSZ: pltrelsz = val; break;
        case DT_PLTREL: pltrel = val; break;
        case DT_TEXTREL:
            return grt_refuse(r, -ENOEXEC, "abi", "%s has text relocations", so_path);
        case DT_FLAGS:
            if (val & DF_TEXTREL)
                return grt_refuse(r, -ENOEXEC, "abi", "%s has text relocations", so_path);
            break;
        default: break;
        }
    }
    if (!symtab || !strtab || !v->strsz || syment != sizeof(Elf64_Sym) || relaent != sizeof(Elf64_Rela) || pltrel != DT_RELA)
        return grt_refuse(r, -ENOEXEC, "abi", "%s: no dynamic symbol table or relocations of the expected form", so_path);
    if (!in_segment(v, strtab, v->strsz, 0) || (relasz && !in_segment(v, rela, relasz, 0)) ||
        (pltrelsz && !in_segment(v, jmprel, pltrelsz, 0)))
        return grt_refuse(r, -ENOEXEC, "abi", "%s: dynamic tables outside its segments", so_path);
    v->symtab = (const Elf64_Sym *)(v->bias + symtab);
    v->strtab = (const char *)(v->bias + strtab);
    v->rela[0] = relasz ? (const Elf64_Rela *)(v->bias + rela) : NULL;
    v->nrela[0] = relasz / sizeof(Elf64_Rela);
    v->rela[1] = pltrelsz ? (const Elf64_Rela *)(v->bias + jmprel) : NULL;
    v->nrela[1] = pltrelsz / sizeof(Elf64_Rela);
    return 0;
}

static int cmp_import(const void *key, const void *elem)
{
    return strcmp(key, ((const grt_import *)elem)->name);
}

/* The import a relocation binds, or NULL when it is not one. */
static int import_of(const elf_view *v, const grt_patch *p, const Elf64_Rela *rel, const grt_import **out,
                     const char **name, grt_refusal *r)
{
    uint64_t si = ELF64_R_SYM(rel->r_info);
    /* In integers: a bad index must not form an out-of-bounds pointer. */
    uint64_t symaddr = ((uintptr_t)v->symtab - v->bias) + si * sizeof(Elf64_Sym);
    const Elf64_Sym *s;

    *out = NULL;
    if (si == 0)
        return 0;
    if (!in_segment(v, symaddr, sizeof(Elf64_Sym), 0))
        return grt_refuse(r, -ENOEXEC, "abi", "relocation against symbol %lu outside the symbol table", (unsigned long)si);
    s = &v->symtab[si];
    if (s->st_shndx != SHN_UNDEF)
        return 0;
    if (s->st_name >= v->strsz || !memchr(v->strtab + s->st_name, '\0', v->strsz - s->st_name))
        return grt_refuse(r, -ENOEXEC, "abi", "symbol %lu has no name in the string table", (unsigned long)si);
    *name = v->strtab + s->st_name;
    *out = bsearch(*name, p->imports, p->nimports, sizeof(grt_import), cmp_import);
    if (*out && ELF64_ST_BIND(s->st_info) != STB_WEAK)
        return grt_refuse(r, -EINVAL, "abi", "import %s is not a weak reference: the dynamic linker bound it by name", *name);
    return 0;
}

/* Walks every relocation of the patch that binds an import; with write = 0
 * only checks, with write = 1 applies. */
static int walk(const elf_view *v, const grt_patch *p, int write, grt_refusal *r)
{
    unsigned t;
    size_t i;
    int err;

    for (t = 0; t < 2; t++)
        for (i = 0; i < v->nrela[t]; i++) {
            const Elf64_Rela *rel = &v->rela[t][i];
            unsigned type = (unsigned)ELF64_R_TYPE(rel->r_info);
            const grt_import *imp;
            const char *name = NULL;
            uint64_t *where, want, bound;

            if ((err = import_of(v, p, rel, &imp, &name, r)) < 0)
                return err;
            if (!imp)
                continue;
            if (!in_segment(v, rel->r_offset, sizeof(uint64_t), PF_W))
                return grt_refuse(r, -ENOEXEC, "abi", "relocation of %s outside the patch's writable segments", name);
            where = (uint64_t *)(v->bias + rel->r_offset);
            switch (type) {
            case R_X86_64_GLOB_DAT:
            case R_X86_64_JUMP_SLOT:
                want = (uintptr_t)__graft_symtab[imp->index];
                bound = 0;
                break;
            case R_X86_64_64:
                want = (uintptr_t)__graft_symtab[imp->index] + (uint64_t)rel->r_addend;
                bound = (uint64_t)rel->r_addend;
                break;
            default:
                return grt_refuse(r, -EINVAL, "abi", "relocation type %u against %s is not one the runtime binds", type, name);
            }
            if (!write) {
                /* A weak reference the dynamic linker found a definition for
                 * would mean two objects define the symbol: refuse. */
                if (*where != bound)
                    return grt_refuse(r, -EINVAL, "abi", "import %s was already bound by name", name);
            } else {
                *where = want;
            }
        }
    return 0;
}

static int check_table(const grt_patch *p, grt_refusal *r)
{
    size_t i;

    if (!p->imports)
        return grt_refuse(r, -EINVAL, "abi", "patch lists %zu imports but no table", p->nimports);
    if (!__graft_symtab || !&__graft_symtab_len)
        return grt_refuse(r, -EINVAL, "abi", "patch binds %zu symbols by index, but this program has no symbol table", p->nimports);
    for (i = 0; i < p->nimports; i++) {
        const grt_import *imp = &p->imports[i];

        if (!imp->name)
            return grt_refuse(r, -EINVAL, "abi", "import %zu has no name", i);
        if (imp->index >= __graft_symtab_len)
            return grt_refuse(r, -EINVAL, "abi", "import %s has index %u, the program's table has %zu entries",
                              imp->name, (unsigned)imp->index, __graft_symtab_len);
        if (i && strcmp(p->imports[i - 1].name, imp->name) >= 0)
            return grt_refuse(r, -EINVAL, "abi", "imports are not sorted by name at %s", imp->name);
    }
    return 0;
}

int grt_imports_bind(void *handle, const char *so_path, const grt_patch *p, grt_refusal *r)
{
    struct link_map *lm = NULL;
    elf_view *v;
    int fd, err;

    if (p->nimports == 0)
        return 0;
    if ((err = check_table(p, r)) < 0)
        return err;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
        return grt_refuse(r, -EINVAL, "abi", "dlinfo: %s", dlerror());
    /* An elf_view is 12 KB: on the heap, not the control thread's stack. */
    v = grt_malloc(sizeof(*v));
    if (!v)
        return grt_refuse(r, -ENOMEM, "load-failed", "out of memory binding the patch's imports");
    memset(v, 0, sizeof(*v));
    v->bias = lm->l_addr;
    fd = open(so_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = grt_refuse(r, -errno, "abi", "open %s: %s", so_path, strerror(errno));
        goto out;
    }
    err = read_view(fd, so_path, v, r);
    close(fd);
    if (err < 0)
        goto out;
    if ((err = walk(v, p, 0, r)) < 0)
        goto out;
    if (v->relro_start && mprotect((void *)v->relro_start, v->relro_end - v->relro_start, PROT_READ | PROT_WRITE) != 0) {
        err = grt_refuse(r, -errno, "abi", "mprotect: %s", strerror(errno));
        goto out;
    }
    err = walk(v, p, 1, r);
    /* Read-only again, as ld.so left it; failing that, the patch is only less protected. */
    if (v->relro_start && mprotect((void *)v->relro_start, v->relro_end - v->relro_start, PROT_READ) != 0)
        grt_log("mprotect(PROT_READ) of the patch's RELRO: %s", strerror(errno));
out:
    grt_free(v);
    return err;
}
