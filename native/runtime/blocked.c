/*
 * blocked.c - where in the program a thread waits.
 *
 * An idle thread waits in a blocking call (epoll_wait inside libevent, say)
 * and may never reach an update point while the others are parked. It can
 * count as arrived when everything it will run from there on is safe for
 * the patch: that is the rest of the innermost function of the program on
 * its stack and of that function's callers, which `graft patch` judged for
 * every function (safe_blocked[] in the descriptor). Library frames above
 * it call back into the program only through function pointers, which lead
 * to the stable entries and so to the new code.
 *
 * Every function of the program has its code in its own section, all of
 * them gathered in graft_text, and a table gives the bounds of each function
 * a waiting thread can be in (graft_abi.h): a return address is in the
 * program's code exactly when it is inside graft_text, whatever else
 * (libraries linked statically, the runtime, stubs) the executable holds,
 * and a frame there that no entry covers ends the search (not judged).
 * The tables are the executable's and one per committed patch, newest last;
 * an entry is stale once a later table has the same id, since the version
 * data then describes the later body.
 *
 * THREAD SAFETY: tables[] grows only at a commit (every program thread
 * parked, the reader threads too) and is read by threads of the program
 * during an update, under the transition's lock; the count is published
 * with release/acquire.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "blocked.h"
#include "graft_abi.h"

/* Weak: the runtime's own test programs have no table. */
#pragma weak grt_program_fntab

/* thread_gate.c's trampoline, where every thread of the program but main starts. */
extern const char __start_grt_trampoline_text[] __attribute__((weak, visibility("hidden")));
extern const char __stop_grt_trampoline_text[] __attribute__((weak, visibility("hidden")));

#define MAX_TABLES 256
#define MAX_FRAMES 128

static grt_fn_table tables[MAX_TABLES];
static int ntables;
static uintptr_t sigreturn_pc;

static uintptr_t at(const grt_fn_range *e, int32_t off)
{
    return (uintptr_t)e + (uintptr_t)(intptr_t)off;
}

/* The entry covering pc, or NULL; *program is set when pc is in the
 * program's code at all (an uncovered frame there is not judged). */
static const grt_fn_range *find(uintptr_t pc, int *table, int *program)
{
    int n = __atomic_load_n(&ntables, __ATOMIC_ACQUIRE), i;

    *program = 0;
    for (i = n - 1; i >= 0; i--) {
        const grt_fn_range *e;

        /* A return address is one past its call: the call's last byte is inside. */
        if (!((uintptr_t)tables[i].text_begin < pc && pc <= (uintptr_t)tables[i].text_end))
            continue;
        *program = 1;
        for (e = tables[i].begin; e && e < tables[i].end; e++) {
            if (e->begin != e->end && at(e, e->begin) < pc && pc <= at(e, e->end)) {
                *table = i;
                return e;
            }
        }
        return NULL;
    }
    return NULL;
}

static int replaced_after(int table, uint64_t id)
{
    int n = __atomic_load_n(&ntables, __ATOMIC_ACQUIRE), i;

    for (i = table + 1; i < n; i++) {
        const grt_fn_range *e;

        for (e = tables[i].begin; e && e < tables[i].end; e++)
            if (e->id == id && e->begin != e->end)
                return 1;
    }
    return 0;
}

static int is_sigreturn(uintptr_t pc)
{
    return sigreturn_pc && pc >= sigreturn_pc - 1 && pc <= sigreturn_pc + 16;
}

/* The frame a thread's walk ends at: main's in the executable for the main
 * thread, the runtime's trampoline for the others. */
static int is_base(uintptr_t pc, int main_thread)
{
    const grt_fn_range *e;
    int t, program;

    if (!main_thread)
        return __start_grt_trampoline_text && (uintptr_t)__start_grt_trampoline_text < pc &&
               pc <= (uintptr_t)__stop_grt_trampoline_text;
    e = find(pc, &t, &program);
    return e && t == 0 && grt_blocked_name(e) && strcmp(grt_blocked_name(e), "main") == 0;
}

int grt_blocked_where(grt_blocked_frames *w, int main_thread)
{
    void *frames[MAX_FRAMES];
    int n, i;

    w->n = 0;
    n = backtrace(frames, MAX_FRAMES);
    /* Frame 0 is this function. Every frame to the thread's start is looked
     * at: a signal frame anywhere means the wait is inside a handler, and
     * every function of the program on the way must be one the patch can
     * judge (a callback a library called, say qsort's comparator, returns
     * into its caller's old code, which its own callers' analysis does not
     * see). A walk that stops short (a frame the unwinder cannot pass, a
     * stack deeper than MAX_FRAMES) proves nothing: not judged. */
    for (i = 1; i < n; i++) {
        uintptr_t pc = (uintptr_t)frames[i];
        const grt_fn_range *e;
        int t, program;

        if (is_sigreturn(pc))
            return GRT_BLOCKED_SIGNAL;
        e = find(pc, &t, &program);
        if (!e && program)
            return GRT_BLOCKED_UNKNOWN; /* a function of the program that no entry judges */
        if (e) {
            if (replaced_after(t, e->id))
                return GRT_BLOCKED_STALE;
            if (w->n == GRT_BLOCKED_MAX)
                return GRT_BLOCKED_UNKNOWN;
            w->fn[w->n++] = e;
        }
        if (w->n && is_base(pc, main_thread))
            return GRT_BLOCKED_AT;
    }
    return GRT_BLOCKED_UNKNOWN;
}

const char *grt_blocked_name(const grt_fn_range *fn)
{
    return fn->name ? (const char *)at(fn, fn->name) : NULL;
}

int grt_blocked_all_safe(const grt_patch *p, const grt_blocked_frames *w)
{
    int i;

    for (i = 0; i < w->n; i++)
        if (!grt_blocked_safe(p, w->fn[i]))
            return 0;
    return w->n > 0;
}

int grt_blocked_safe(const grt_patch *p, const grt_fn_range *fn)
{
    size_t lo = 0, hi = p->nsafe_blocked;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (p->safe_blocked[mid] == fn->id)
            return 1;
        if (p->safe_blocked[mid] < fn->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void grt_blocked_commit(const grt_patch *p)
{
    int n = __atomic_load_n(&ntables, __ATOMIC_RELAXED);

    if (!p->fns || !p->fns->text_begin || p->fns->text_begin >= p->fns->text_end)
        return;
    if (n == MAX_TABLES) {
        /* Past 255 patches the oldest tables stay: the newest are not
         * recorded, and a thread blocked in their code is not taken as
         * arrived (find() does not see it): refused, never unsafe. */
        return;
    }
    tables[n] = *p->fns;
    __atomic_store_n(&ntables, n + 1, __ATOMIC_RELEASE);
}

static void learn_sigreturn(int sig)
{
    (void)sig;
    sigreturn_pc = (uintptr_t)__builtin_return_address(0);
}

void grt_blocked_init(void)
{
    struct sigaction sa, old;
    sigset_t set, oldset;

    /* Not backtrace() here: its first call loads libgcc_s, which every
     * process (vsftpd forks one per session) would then carry. The first
     * update that looks at a waiting thread loads it, in that thread, in an
     * ordinary context; no parked thread holds the loader's lock. */
    if (&grt_program_fntab != NULL && grt_program_fntab.text_begin && grt_program_fntab.text_begin < grt_program_fntab.text_end) {
        tables[0] = grt_program_fntab;
        __atomic_store_n(&ntables, 1, __ATOMIC_RELEASE);
    }
    /* Where a handler returns to: SIGWINCH is ignored by default, and only
     * this thread runs while constructors do. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = learn_sigreturn;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGWINCH, &sa, &old) != 0)
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_UNBLOCK, &set, &oldset);
    raise(SIGWINCH);
    pthread_sigmask(SIG_SETMASK, &oldset, NULL);
    sigaction(SIGWINCH, &old, NULL);
}
