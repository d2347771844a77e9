/*
 * core.h - process lifecycle and the running version (private).
 *
 * THREAD SAFETY: grt_log() may be called from any thread. The running
 * version (digest, sequence, patch count) is guarded by an internal mutex:
 * the main thread writes it at commit, the control thread reads it. The
 * SIGURG handler may run in any thread (see core.c).
 */
#ifndef GRT_CORE_H
#define GRT_CORE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "graft_abi.h"

#define GRT_DIGEST_HEX 64
#define GRT_KEY_BYTES 32
#define GRT_KEY_ID_BYTES 8

#define GRT_WARN_UNUSED __attribute__((warn_unused_result))

/* Provided by the executable (the meta unit emitted by `graft compile`). */
extern const char grt_program_name[];
extern const char grt_version_digest[];
extern const char grt_trusted_keys[];
extern const int grt_insecure_unsigned;

/* A refusal: one of the reason codes of docs/bundle-format.md and
 * docs/control-protocol.md, and a message in words (one line). */
typedef struct grt_refusal {
    const char *code;
    char msg[1024];
} grt_refusal;

/* Fills r and returns err (a negative errno value), so that callers can
 * write `return grt_refuse(r, -EINVAL, "bad-format", "...")`. */
int grt_refuse(grt_refusal *r, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The running version. */
typedef struct grt_version {
    char digest[GRT_DIGEST_HEX + 1];
    uint64_t sequence;
    unsigned long patches;
} grt_version;

void grt_version_get(grt_version *out);
/* Called by the main thread at commit only. */
void grt_version_commit(const char *digest, uint64_t sequence);

/* The thread that ran the constructor (the one that runs main()), and its
 * kernel thread id (for a timer that signals it). */
pthread_t grt_main_thread(void);
pid_t grt_main_tid(void);

/* Diagnostics: to stderr with "graft[pid]: " only when GRAFT_LOG=stderr. */
void grt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int grt_log_enabled(void);

/* 1 while SIGURG still has the runtime's handler (without SA_RESTART). */
int grt_sigurg_ours(void);

/* Monotonic clock in microseconds. */
uint64_t grt_now_us(void);

/* After fork() the child has no control socket or thread: the runtime opens
 * its socket at the child's first update point (the control thread then
 * starts as in the parent: at the first request). Returns 1 when the call
 * was such a restart poke (and handled it; the caller settles grt_pending),
 * 0 otherwise. */
int grt_core_fork_poke(void);

/* Helpers shared by bundle.c and loader.c. */
int grt_is_hex_digest(const char *s, size_t len);
/* Reads a whole file (at most max bytes). Returns 0 or -errno. */
int grt_read_file(const char *path, size_t max, unsigned char **data, size_t *len) GRT_WARN_UNUSED;
/* Writes bytes to a fresh private file (mode 0700) in the runtime directory;
 * path receives its name. Returns 0 or -errno. */
int grt_write_private_file(const void *data, size_t len, char *path, size_t pathsz) GRT_WARN_UNUSED;

#endif /* GRT_CORE_H */
