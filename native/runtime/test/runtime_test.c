/*
 * runtime_test.c - end-to-end tests of libgraft.
 *
 * Builds real test programs (prog.c + a generated meta.c, linked with
 * libgraft and -rdynamic) and real patches (patch.c, gcc -shared) at run
 * time, signs bundles with libsodium following docs/bundle-format.md, starts
 * the programs and drives them: commands on their stdin, requests on their
 * control socket.
 *
 * Environment (set by the Makefile): GRAFT_TEST_CC, GRAFT_TEST_CFLAGS,
 * GRAFT_TEST_LIB, GRAFT_TEST_SRC, GRAFT_TEST_INCLUDE, GRAFT_TEST_WORK;
 * optional GRAFT_TEST_WRAP (e.g. valgrind ...) and GRAFT_TEST_SLOW (a factor
 * for every timeout).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *cc, *cflags, *lib, *src, *inc, *work, *wrap;
static char lib_dir[PATH_MAX]; /* when lib is libgraft.so.1: its directory (rpath) */
static int slow = 1;
static char rtdir[PATH_MAX], tmpdir_path[PATH_MAX];
static char digest[5][65]; /* D0..D4: "aaa...", "bbb...", ... */

#define D0 digest[0]
#define D1 digest[1]
#define D2 digest[2]
#define D3 digest[3]

/* ---------- small utilities ---------- */

__attribute__((noreturn)) static void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stdout, "FATAL: ");
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    va_end(ap);
    exit(2);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    if (!v || !*v)
        fatal("%s is not set (run the tests with make test)", name);
    return v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char *fmt(const char *f, ...)
{
    static char bufs[8][PATH_MAX];
    static int i;
    char *b = bufs[i++ % 8];
    va_list ap;

    va_start(ap, f);
    vsnprintf(b, PATH_MAX, f, ap);
    va_end(ap);
    return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fatal("cannot write %s", path);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
        fatal("cannot read %s", path);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        fatal("cannot read %s", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    char *p;

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        fatal("mkdir %s: %s", tmp, strerror(errno));
}

/* Splits a space-separated string into argv (adds to *argc); returns the
 * copy the words live in, for free(). */
static char *split_into(const char *s, char **argv, int *argc, int max)
{
    char *copy = strdup(s), *save = NULL, *tok;

    for (tok = strtok_r(copy, " ", &save); tok && *argc < max - 1; tok = strtok_r(NULL, " ", &save))
        argv[(*argc)++] = tok;
    argv[*argc] = NULL;
    return copy;
}

static int run(char **argv)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int i;

        printf("command failed:");
        for (i = 0; argv[i]; i++)
            printf(" %s", argv[i]);
        printf("\n");
        return -1;
    }
    return 0;
}

/* ---------- building programs and patches ---------- */

/* Builds prog.c with a meta unit; returns the executable's path. */
static const char *build_prog(const char *name, const char *program, const char *keys, int insecure)
{
    static char out[8][PATH_MAX];
    static int n;
    char *exe = out[n++ % 8];
    char *dir = fmt("%s/%s", work, name);
    char meta[4096], *argv[128], *words;
    int argc = 0;

    mkdirs(dir);
    snprintf(meta, sizeof(meta),
             "const char grt_program_name[] = \"%s\";\n"
             "const char grt_version_digest[] = \"%s\";\n"
             "const char grt_trusted_keys[] = \"%s\";\n"
             "const int grt_insecure_unsigned = %d;\n",
             program, D0, keys, insecure);
    write_file(fmt("%s/meta.c", dir), meta, strlen(meta));
    snprintf(exe, PATH_MAX, "%s/prog", dir);
    argv[argc++] = (char *)cc;
    words = split_into(cflags, argv, &argc, 100);
    argv[argc++] = fmt("-I%s", inc);
    argv[argc++] = fmt("-I%s", src);
    argv[argc++] = fmt("%s/prog.c", src);
    argv[argc++] = fmt("%s/meta.c", dir);
    argv[argc++] = "-o";
    argv[argc++] = exe;
    argv[argc++] = "-rdynamic";
    argv[argc++] = (char *)lib;
    /* The shared runtime: found next to itself, as graft compile arranges it
     * with a copy beside the executable. */
    if (lib_dir[0])
        argv[argc++] = fmt("-Wl,-rpath,%s", lib_dir);
    /* No -lsodium: the runtime loads it when a bundle arrives. */
    argv[argc++] = "-lpthread";
    argv[argc++] = "-ldl";
    argv[argc] = NULL;
    if (run(argv) < 0)
        fatal("cannot build %s", exe);
    free(words);
    return exe;
}

/* Builds patch.c into DIR/patch.so with the given -D options (NULL-ended). */
static void build_patch(const char *dir, ...)
{
    char *argv[128], *words;
    const char *d;
    va_list ap;
    int argc = 0;

    mkdirs(dir);
    argv[argc++] = (char *)cc;
    words = split_into(cflags, argv, &argc, 100);
    argv[argc++] = "-shared";
    argv[argc++] = fmt("-I%s", inc);
    argv[argc++] = fmt("-I%s", src);
    va_start(ap, dir);
    while ((d = va_arg(ap, const char *)) != NULL && argc < 120)
        argv[argc++] = (char *)d;
    va_end(ap);
    argv[argc++] = fmt("%s/patch.c", src);
    argv[argc++] = "-o";
    argv[argc++] = fmt("%s/patch.so", dir);
    argv[argc] = NULL;
    if (run(argv) < 0)
        fatal("cannot build %s/patch.so", dir);
    free(words);
    /* A patch directory also holds the manifest; the runtime ignores it. */
    write_file(fmt("%s/manifest.json", dir), "{}\n", 3);
}

/* ---------- bundles ---------- */

typedef struct bundle {
    unsigned char *data;
    size_t len;
    size_t so_off;  /* where patch.so's bytes start */
    size_t sig_off; /* where the signature starts */
    size_t man_off; /* where the manifest starts */
} bundle;

static void put_le(unsigned char *p, uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void sha_hex(const unsigned char *d, size_t n, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, d, n);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* A bundle with patch.so and summary.json, signed with sk (key id of pk).
 * manifest_text, when given, replaces the generated manifest. */
static bundle make_bundle(const char *program, const char *base, const char *target, unsigned long long seq,
                          const unsigned char *so, size_t so_len, const unsigned char *pk,
                          const unsigned char *sk, const char *manifest_text)
{
    static const char summary[] = "{\"changed\":[\"answer\"]}\n";
    static const char ctx[] = "graft-bundle-v1\n";
    char man[4096], so_hex[65], sum_hex[65];
    unsigned char id[crypto_hash_sha256_BYTES], *msg;
    size_t mlen, pos = 0;
    bundle b;

    sha_hex(so, so_len, so_hex);
    sha_hex((const unsigned char *)summary, sizeof(summary) - 1, sum_hex);
    if (manifest_text)
        snprintf(man, sizeof(man), "%s", manifest_text);
    else
        snprintf(man, sizeof(man),
                 "graft-bundle 1\nprogram %s\nbase %s\ntarget %s\nsequence %llu\ncreated 2026-11-26T23:50:00Z\n"
                 "file patch.so %zu %s\nfile summary.json %zu %s\n",
                 program, base, target, seq, so_len, so_hex, sizeof(summary) - 1, sum_hex);
    mlen = strlen(man);
    b.len = 8 + 4 + mlen + 8 + 64 + (2 + 8 + 8 + so_len) + (2 + 12 + 8 + sizeof(summary) - 1);
    b.data = malloc(b.len);
    memcpy(b.data, "GRAFTB01", 8);
    pos = 8;
    put_le(b.data + pos, mlen, 4);
    pos += 4;
    b.man_off = pos;
    memcpy(b.data + pos, man, mlen);
    pos += mlen;
    crypto_hash_sha256(id, pk, crypto_sign_PUBLICKEYBYTES);
    memcpy(b.data + pos, id, 8);
    pos += 8;
    msg = malloc(sizeof(ctx) - 1 + mlen);
    memcpy(msg, ctx, sizeof(ctx) - 1);
    memcpy(msg + sizeof(ctx) - 1, man, mlen);
    crypto_sign_detached(b.data + pos, NULL, msg, sizeof(ctx) - 1 + mlen, sk);
    free(msg);
    b.sig_off = pos;
    pos += 64;
    put_le(b.data + pos, 8, 2);
    memcpy(b.data + pos + 2, "patch.so", 8);
    put_le(b.data + pos + 10, so_len, 8);
    pos += 18;
    b.so_off = pos;
    memcpy(b.data + pos, so, so_len);
    pos += so_len;
    put_le(b.data + pos, 12, 2);
    memcpy(b.data + pos + 2, "summary.json", 12);
    put_le(b.data + pos + 14, sizeof(summary) - 1, 8);
    pos += 22;
    memcpy(b.data + pos, summary, sizeof(summary) - 1);
    pos += sizeof(summary) - 1;
    if (pos != b.len)
        fatal("bundle layout bug");
    return b;
}

static const char *save_bundle(const char *name, const unsigned char *data, size_t len)
{
    char *path = fmt("%s/bundles/%s.graft", work, name);

    mkdirs(fmt("%s/bundles", work));
    write_file(path, data, len);
    return path;
}

/* ---------- running programs ---------- */

typedef struct proc {
    pid_t pid;
    int in, out;
    char sock[PATH_MAX];
    char buf[4096];
    size_t len;
} proc;

typedef struct start_opts {
    const char *runtime_dir; /* default: rtdir */
    const char *ld_path;     /* LD_LIBRARY_PATH */
    const char *log;         /* GRAFT_LOG */
    const char *err_path;    /* stderr to this file */
    int no_wait;             /* do not wait for the socket */
} start_opts;

static int start_prog_opts(proc *p, const char *exe, const char *mode, const start_opts *o)
{
    int in[2], out[2], i;

    memset(p, 0, sizeof(*p));
    if (pipe(in) < 0 || pipe(out) < 0)
        fatal("pipe");
    fflush(stdout);
    p->pid = fork();
    if (p->pid == 0) {
        char *argv[64];
        int argc = 0;

        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        setenv("GRAFT_RUNTIME_DIR", o->runtime_dir ? o->runtime_dir : rtdir, 1);
        if (o->ld_path)
            setenv("LD_LIBRARY_PATH", o->ld_path, 1);
        if (o->log)
            setenv("GRAFT_LOG", o->log, 1);
        else
            unsetenv("GRAFT_LOG");
        if (o->err_path) {
            int e = open(o->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(e, 2);
        }
        if (wrap)
            split_into(wrap, argv, &argc, 50);
        argv[argc++] = (char *)exe;
        argv[argc++] = (char *)mode;
        argv[argc] = NULL;
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in = in[1];
    p->out = out[0];
    if (snprintf(p->sock, sizeof(p->sock), "%s/%ld.sock", o->runtime_dir ? o->runtime_dir : rtdir,
                 (long)p->pid) >= (int)sizeof(p->sock))
        fatal("socket path too long");
    if (o->no_wait)
        return 0;
    for (i = 0; i < 1000 * slow; i++) {
        if (access(p->sock, F_OK) == 0)
            return 0;
        sleep_ms(10);
    }
    return -1;
}

static int start_prog(proc *p, const char *exe, const char *mode)
{
    start_opts o = { 0 };

    return start_prog_opts(p, exe, mode, &o);
}

static int wait_for_file(const char *path, int present)
{
    int i;

    for (i = 0; i < 1000 * slow; i++) {
        if ((access(path, F_OK) == 0) == present)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

/* Sends a command on the program's stdin and reads its reply line. */
static const char *cmd(proc *p, const char *line)
{
    static char reply[4096];
    char *nl;

    if (write(p->in, line, strlen(line)) < 0 || write(p->in, "\n", 1) < 0)
        return "(write failed)";
    for (;;) {
        struct pollfd pfd = { .fd = p->out, .events = POLLIN };
        ssize_t n;

        nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            size_t l = (size_t)(nl - p->buf);

            memcpy(reply, p->buf, l);
            reply[l] = '\0';
            p->len -= l + 1;
            memmove(p->buf, nl + 1, p->len);
            return reply;
        }
        if (poll(&pfd, 1, 5000 * slow) <= 0)
            return "(no reply)";
        n = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
        if (n <= 0)
            return "(eof)";
        p->len += (size_t)n;
    }
}

static int ctl_errno;

/* Connects and writes a request line, without the SIGURG that tells the
 * runtime a request waits (ctl_send sends it). */
static int ctl_send_quiet(proc *p, const char *req)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->sock) >= (int)sizeof(sa.sun_path))
        fatal("socket path too long: %s", p->sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ctl_errno = errno;
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
        ctl_errno = errno;
        close(fd);
        return -2;
    }
    return fd;
}

/* A request as docs/control-protocol.md asks: connect, write the line, then
 * SIGURG to the pid (the control thread starts at the next update point). */
static int ctl_send(proc *p, const char *req)
{
    int fd = ctl_send_quiet(p, req);

    if (fd >= 0 && p->pid > 0 && kill(p->pid, SIGURG) < 0) {
        ctl_errno = errno;
        close(fd);
        return -2;
    }
    return fd;
}

static const char *ctl_recv(int fd)
{
    static char reply[2048];
    size_t len = 0;

    if (fd < 0) {
        snprintf(reply, sizeof(reply), "(%s failed: %s)", fd == -1 ? "connect" : "send", strerror(ctl_errno));
        return reply;
    }
    while (len < sizeof(reply) - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pfd, 1, 30000 * slow) <= 0)
            break;
        n = recv(fd, reply + len, sizeof(reply) - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(reply, '\n', len))
            break;
    }
    close(fd);
    reply[len] = '\0';
    if (len && reply[len - 1] == '\n')
        reply[len - 1] = '\0';
    return reply;
}

static const char *ctl(proc *p, const char *req)
{
    return ctl_recv(ctl_send(p, req));
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int stop_prog(proc *p)
{
    int status = -1, i;

    if (write(p->in, "quit\n", 5) < 0) {
        /* already gone */
    }
    for (i = 0; i < 1000 * slow; i++) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid)
            break;
        sleep_ms(10);
    }
    if (i == 1000 * slow) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &status, 0);
    }
    close(p->in);
    close(p->out);
    return status;
}

/* A refusal with the given code, and the program still answers status
 * with the expected version and sequence. */
static void expect_refusal(proc *p, const char *what, const char *req, const char *code, const char *version,
                           unsigned seq)
{
    char want[128], wantst[256];
    const char *r = ctl(p, req);
    char got[2048];

    snprintf(got, sizeof(got), "%s", r);
    snprintf(want, sizeof(want), "refused %s ", code);
    test_check(fmt("%s -> refused %s", what, code), starts(got, want), "reply: %s", got);
    r = ctl(p, "status");
    snprintf(wantst, sizeof(wantst), "version=%s sequence=%u ", version, seq);
    test_check(fmt("  ... and the program still answers status at sequence %u", seq),
               starts(r, "ok program=") && strstr(r, wantst), "reply: %s", r);
}

static const char *apply_req(const char *path, int timeout_ms)
{
    return fmt("apply %s %d", path, timeout_ms * slow);
}

/* ---------- the tests ---------- */

static unsigned char pk1[crypto_sign_PUBLICKEYBYTES], sk1[crypto_sign_SECRETKEYBYTES];
static unsigned char pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];

static void test_signed(void)
{
    char keyhex[2 * crypto_sign_PUBLICKEYBYTES + 1], keys[256], want[256];
    const char *exe, *r, *path;
    unsigned char *so1, *so2, *sofail, *t;
    size_t so1_len, so2_len, sofail_len;
    bundle good1, b;
    struct stat st;
    proc p;

    printf("-- signed bundles, idle program blocked in poll()\n");
    sodium_bin2hex(keyhex, sizeof(keyhex), pk1, sizeof(pk1));
    snprintf(keys, sizeof(keys), "%s\\n", keyhex);
    exe = build_prog("signed", "testprog", keys, 0);
    build_patch(fmt("%s/p-v1", work), "-DPATCH_PROGRAM=\"testprog\"", fmt("-DPATCH_BASE=\"%s\"", D0),
                fmt("-DPATCH_TARGET=\"%s\"", D1), "-DPATCH_ANSWER=43", "-DPATCH_TYPE_FROM=0", NULL);
    build_patch(fmt("%s/p-v2", work), "-DPATCH_PROGRAM=\"testprog\"", fmt("-DPATCH_BASE=\"%s\"", D1),
                fmt("-DPATCH_TARGET=\"%s\"", D2), "-DPATCH_ANSWER=44", "-DPATCH_TYPE_FROM=1", NULL);
    build_patch(fmt("%s/p-initfail", work), "-DPATCH_PROGRAM=\"testprog\"", fmt("-DPATCH_BASE=\"%s\"", D1),
                fmt("-DPATCH_TARGET=\"%s\"", D3), "-DPATCH_ANSWER=99", "-DPATCH_INIT_FAIL", NULL);
    so1 = read_file(fmt("%s/p-v1/patch.so", work), &so1_len);
    so2 = read_file(fmt("%s/p-v2/patch.so", work), &so2_len);
    sofail = read_file(fmt("%s/p-initfail/patch.so", work), &sofail_len);

    if (start_prog(&p, exe, "idle") < 0)
        fatal("the program did not create its socket %s", p.sock);
    test_cond("socket created at $GRAFT_RUNTIME_DIR/<pid>.sock", access(p.sock, F_OK) == 0);
    test_cond("socket mode 0600", stat(p.sock, &st) == 0 && (st.st_mode & 0777) == 0600);
    test_cond("runtime directory mode 0700", stat(rtdir, &st) == 0 && (st.st_mode & 0777) == 0700);
    r = ctl(&p, "status");
    snprintf(want, sizeof(want), "ok program=testprog version=%s sequence=0 patches=0 pid=%ld", D0, (long)p.pid);
    test_check("status before any patch", strcmp(r, want) == 0, "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("the program runs its original code", strcmp(r, "answer=42") == 0, "reply: %s", r);
    r = cmd(&p, "mapped libsodium");
    test_check("libsodium is not mapped at start, nor once the control thread serves (status)",
               strcmp(r, "mapped=0") == 0, "reply: %s", r);

    /* requests that are not understood */
    expect_refusal(&p, "unknown request", "hello", "bad-request", D0, 0);
    expect_refusal(&p, "relative path", "apply some/file.graft 100", "bad-request", D0, 0);
    expect_refusal(&p, "missing file", "apply /nonexistent/x.graft 100", "bad-request", D0, 0);

    /* every refusal of docs/bundle-format.md */
    good1 = make_bundle("testprog", D0, D1, 1, so1, so1_len, pk1, sk1, NULL);
    t = malloc(good1.len + 16);

    memcpy(t, good1.data, good1.len);
    t[0] = 'X';
    expect_refusal(&p, "bad magic", apply_req(save_bundle("badmagic", t, good1.len), 1000), "bad-format", D0, 0);
    expect_refusal(&p, "empty file", apply_req(save_bundle("empty", t, 0), 1000), "bad-format", D0, 0);
    expect_refusal(&p, "truncated in the header", apply_req(save_bundle("trunc1", good1.data, 40), 1000),
                   "bad-format", D0, 0);
    r = cmd(&p, "mapped libsodium");
    test_check("refusals of the container's shape do not load libsodium", strcmp(r, "mapped=0") == 0,
               "reply: %s", r);
    expect_refusal(&p, "truncated by one byte", apply_req(save_bundle("trunc2", good1.data, good1.len - 1), 1000),
                   "bad-format", D0, 0);
    expect_refusal(&p, "truncated inside patch.so",
                   apply_req(save_bundle("trunc3", good1.data, good1.so_off + 100), 1000), "bad-format", D0, 0);
    memcpy(t, good1.data, good1.len);
    memcpy(t + good1.len, "trailing", 8);
    expect_refusal(&p, "trailing bytes", apply_req(save_bundle("trailing", t, good1.len + 8), 1000), "bad-format",
                   D0, 0);
    b = make_bundle("testprog", D0, D1, 1, so1, so1_len, pk2, sk2, NULL);
    expect_refusal(&p, "signed with an untrusted key", apply_req(save_bundle("untrusted", b.data, b.len), 1000),
                   "untrusted-key", D0, 0);
    free(b.data);
    r = cmd(&p, "mapped libsodium");
    test_check("the key checks loaded libsodium (dlopen at the first verification)", strcmp(r, "mapped=1") == 0,
               "reply: %s", r);
    memcpy(t, good1.data, good1.len);
    t[good1.sig_off + 10] ^= 0x01;
    expect_refusal(&p, "signature byte flipped (libsodium loaded lazily)",
                   apply_req(save_bundle("badsig", t, good1.len), 1000), "bad-signature", D0, 0);
    memcpy(t, good1.data, good1.len);
    {
        char *seq = memmem(t + good1.man_off, good1.sig_off - good1.man_off, "sequence 1", 10);
        seq[9] = '9'; /* a manifest edited after signing */
    }
    expect_refusal(&p, "manifest edited after signing", apply_req(save_bundle("editedman", t, good1.len), 1000),
                   "bad-signature", D0, 0);
    memcpy(t, good1.data, good1.len);
    t[good1.so_off + so1_len / 2] ^= 0x40;
    expect_refusal(&p, "one byte of patch.so tampered", apply_req(save_bundle("tampered", t, good1.len), 1000),
                   "digest-mismatch", D0, 0);
    b = make_bundle("otherprog", D0, D1, 1, so1, so1_len, pk1, sk1, NULL);
    expect_refusal(&p, "bundle for another program", apply_req(save_bundle("wrongprog", b.data, b.len), 1000),
                   "wrong-program", D0, 0);
    free(b.data);
    b = make_bundle("testprog", D2, D3, 1, so1, so1_len, pk1, sk1, NULL);
    expect_refusal(&p, "bundle for another base version", apply_req(save_bundle("wrongbase", b.data, b.len), 1000),
                   "wrong-base", D0, 0);
    free(b.data);
    b = make_bundle("testprog", D0, D1, 0, so1, so1_len, pk1, sk1, NULL);
    expect_refusal(&p, "sequence not above the running one", apply_req(save_bundle("seq0", b.data, b.len), 1000),
                   "replay", D0, 0);
    free(b.data);
    b = make_bundle("testprog", D0, D1, 1, so1, so1_len, pk1, sk1,
                    fmt("graft-bundle 1\nprogram testprog\nbase %s\ntarget %s\nsequence 1\n"
                        "file patch.so 1 %s\n", D0, D1, D2));
    expect_refusal(&p, "signed but malformed manifest (no created line)",
                   apply_req(save_bundle("malformed", b.data, b.len), 1000), "bad-format", D0, 0);
    free(b.data);
    b = make_bundle("testprog", D0, D2, 1, so1, so1_len, pk1, sk1, NULL);
    expect_refusal(&p, "manifest target differs from the patch's", apply_req(save_bundle("target", b.data, b.len), 1000),
                   "digest-mismatch", D0, 0);
    free(b.data);
    {
        char so_hex[65], sum_hex[65];
        static const char summary[] = "{\"changed\":[\"answer\"]}\n";

        sha_hex(so1, so1_len, so_hex);
        sha_hex((const unsigned char *)summary, sizeof(summary) - 1, sum_hex);
        b = make_bundle("testprog", D0, D1, 1, so1, so1_len, pk1, sk1,
                        fmt("graft-bundle 1\nprogram testprog\nbase %s\ntarget %s\nsequence 1\n"
                            "created 2026-11-26T23:50:00Z\nfile summary.json %zu %s\nfile patch.so %zu %s\n",
                            D0, D1, sizeof(summary) - 1, sum_hex, so1_len, so_hex));
        expect_refusal(&p, "files not in manifest order", apply_req(save_bundle("order", b.data, b.len), 1000),
                       "bad-format", D0, 0);
        free(b.data);
    }
    memcpy(t, good1.data, good1.len);
    t[10] = 0x20; /* manifest length 2 MiB */
    expect_refusal(&p, "manifest length above 1 MiB", apply_req(save_bundle("bigman", t, good1.len), 1000),
                   "bad-format", D0, 0);
    {
        char *fifo = fmt("%s/bundles/fifo.graft", work);

        unlink(fifo);
        if (mkfifo(fifo, 0600) == 0)
            expect_refusal(&p, "a FIFO as bundle path (must not hang)", apply_req(fifo, 1000), "bad-request", D0, 0);
        expect_refusal(&p, "a device as bundle path", "apply /dev/null 1000", "bad-request", D0, 0);
    }
    expect_refusal(&p, "bare patch directory without the insecure build flag",
                   apply_req(fmt("%s/p-v1", work), 1000), "unsigned", D0, 0);
    test_cond("no private copy of patch.so is left behind",
              access(fmt("%s/p-v1/patch.so", work), F_OK) == 0 &&
                  system(fmt("ls %s | grep -q '^patch-'", rtdir)) != 0);

    /* the update itself */
    path = save_bundle("good1", good1.data, good1.len);
    r = ctl(&p, apply_req(path, 5000));
    snprintf(want, sizeof(want), "sequence=1 version=%s", D1);
    test_check("v1 applied to the idle program (woken by SIGURG) at point 1",
               starts(r, "applied pause_us=") && strstr(r, " point=1 ") && strstr(r, want), "reply: %s", r);
    r = cmd(&p, "eintr");
    test_check("the blocking poll() returned EINTR", starts(r, "eintr=") && atoi(r + 6) > 0, "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("the function pointer was switched", strcmp(r, "answer=43") == 0, "reply: %s", r);
    r = cmd(&p, "describe 0");
    test_check("object 0 transformed lazily to v1 on first access", strcmp(r, "v1 x=10 y=20") == 0, "reply: %s", r);
    r = cmd(&p, "stats");
    test_check("type at version 1, one value transformed", strcmp(r, "current=1 transformed=1 unknown=0") == 0,
               "reply: %s", r);
    r = ctl(&p, "status");
    snprintf(want, sizeof(want), "ok program=testprog version=%s sequence=1 patches=1 pid=", D1);
    test_check("status after v1", starts(r, want), "reply: %s", r);

    expect_refusal(&p, "the same bundle again", apply_req(path, 1000), "wrong-base", D1, 1);
    mkdirs(fmt("%s/dir with spaces", work));
    write_file(fmt("%s/dir with spaces/b 1.graft", work), good1.data, good1.len);
    expect_refusal(&p, "the same bundle under a path with spaces",
                   apply_req(fmt("%s/dir with spaces/b 1.graft", work), 1000), "wrong-base", D1, 1);
    b = make_bundle("testprog", D1, D2, 1, so2, so2_len, pk1, sk1, NULL);
    expect_refusal(&p, "replayed sequence number", apply_req(save_bundle("replay", b.data, b.len), 1000), "replay",
                   D1, 1);
    free(b.data);

    b = make_bundle("testprog", D1, D3, 2, sofail, sofail_len, pk1, sk1, NULL);
    r = ctl(&p, apply_req(save_bundle("initfail", b.data, b.len), 5000));
    test_check("init failure -> refused init-failed with the patch's message",
               starts(r, "refused init-failed ") && strstr(r, "the new cache could not be allocated"), "reply: %s", r);
    free(b.data);
    r = cmd(&p, "answer");
    test_check("init failure: nothing switched", strcmp(r, "answer=43") == 0, "reply: %s", r);
    r = ctl(&p, "status");
    snprintf(want, sizeof(want), "version=%s sequence=1 patches=1 ", D1);
    test_check("init failure: version and sequence unchanged", strstr(r, want) != NULL, "reply: %s", r);

    b = make_bundle("testprog", D1, D2, 2, so2, so2_len, pk1, sk1, NULL);
    r = ctl(&p, apply_req(save_bundle("good2", b.data, b.len), 5000));
    snprintf(want, sizeof(want), "sequence=2 version=%s", D2);
    test_check("v2 applied on top of v1", starts(r, "applied ") && strstr(r, want), "reply: %s", r);
    free(b.data);
    r = cmd(&p, "answer");
    test_check("v2's function is called", strcmp(r, "answer=44") == 0, "reply: %s", r);
    r = cmd(&p, "describe 0");
    test_check("object 0 (at v1) brought to v2", strcmp(r, "v2 x=10 y=20 z=30") == 0, "reply: %s", r);
    r = cmd(&p, "describe 1");
    test_check("object 1 (still v0) runs the chain v0 -> v1 -> v2", strcmp(r, "v2 x=20 y=40 z=60") == 0,
               "reply: %s", r);
    r = cmd(&p, "garbage 3");
    r = cmd(&p, "describe 3");
    test_check("a garbage version is taken as the wanted version", starts(r, "v2 x=40 "), "reply: %s", r);
    r = cmd(&p, "stats");
    test_check("type at version 2; 3 values transformed, 1 unknown",
               strcmp(r, "current=2 transformed=3 unknown=1") == 0, "reply: %s", r);

    test_check("the program exits normally", stop_prog(&p) == 0, "see above");
    test_cond("the socket is removed at exit", access(p.sock, F_OK) != 0);
    free(t);
    free(good1.data);
    free(so1);
    free(so2);
    free(sofail);
}

static void test_unsigned_program(void)
{
    const char *exe, *r;
    unsigned char *so;
    size_t so_len;
    bundle b;
    proc p;

    printf("-- a program without trusted keys\n");
    exe = build_prog("nokeys", "testprog", "", 0);
    so = read_file(fmt("%s/p-v1/patch.so", work), &so_len);
    if (start_prog(&p, exe, "idle") < 0)
        fatal("no socket %s", p.sock);
    b = make_bundle("testprog", D0, D1, 1, so, so_len, pk1, sk1, NULL);
    expect_refusal(&p, "a signed bundle for a program that trusts no key",
                   apply_req(save_bundle("nokeys", b.data, b.len), 1000), "unsigned", D0, 0);
    r = cmd(&p, "mapped libsodium");
    test_check("  ... refused without loading libsodium", strcmp(r, "mapped=0") == 0, "reply: %s", r);
    test_check("the program exits normally", stop_prog(&p) == 0, "see above");
    free(b.data);
    free(so);
}

/* libsodium cannot be loaded: a directory in LD_LIBRARY_PATH (searched by
 * dlopen before the system's) holds empty objects under both of its names. */
static void test_no_sodium(void)
{
    char keyhex[2 * crypto_sign_PUBLICKEYBYTES + 1], keys[256];
    char fake[PATH_MAX], *argv[8];
    const char *exe, *r;
    unsigned char *so;
    size_t so_len;
    start_opts o = { 0 };
    bundle b;
    proc p;

    printf("-- libsodium cannot be loaded\n");
    snprintf(fake, sizeof(fake), "%s/fake-sodium", work);
    mkdirs(fake);
    {
        static const char empty[] = "int graft_test_not_libsodium;\n";

        write_file(fmt("%s/empty.c", fake), empty, sizeof(empty) - 1);
    }
    argv[0] = (char *)cc;
    argv[1] = "-shared";
    argv[2] = "-fPIC";
    argv[3] = fmt("%s/empty.c", fake);
    argv[4] = "-o";
    argv[5] = fmt("%s/libsodium.so.23", fake);
    argv[6] = NULL;
    if (run(argv) < 0)
        fatal("cannot build %s", argv[5]);
    unlink(fmt("%s/libsodium.so", fake));
    if (symlink("libsodium.so.23", fmt("%s/libsodium.so", fake)) < 0)
        fatal("symlink: %s", strerror(errno));

    sodium_bin2hex(keyhex, sizeof(keyhex), pk1, sizeof(pk1));
    snprintf(keys, sizeof(keys), "%s\\n", keyhex);
    exe = build_prog("nosodium", "testprog", keys, 0);
    so = read_file(fmt("%s/p-v1/patch.so", work), &so_len);
    o.ld_path = fake;
    if (start_prog_opts(&p, exe, "idle", &o) < 0)
        fatal("no socket %s", p.sock);
    b = make_bundle("testprog", D0, D1, 1, so, so_len, pk1, sk1, NULL);
    r = ctl(&p, apply_req(save_bundle("nosodium", b.data, b.len), 1000));
    test_check("a good bundle without a usable libsodium -> refused crypto-unavailable, naming the library",
               starts(r, "refused crypto-unavailable ") && strstr(r, "libsodium.so.23") &&
                   strstr(r, "undefined symbol"), "reply: %s", r);
    r = ctl(&p, "status");
    test_check("  ... the program still answers status at sequence 0", starts(r, "ok program=testprog ") &&
               strstr(r, " sequence=0 "), "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("  ... and runs its original code", strcmp(r, "answer=42") == 0, "reply: %s", r);
    r = ctl(&p, apply_req(save_bundle("nosodium", b.data, b.len), 1000));
    test_check("  ... a second bundle gets the same refusal (loaded once, not retried)",
               starts(r, "refused crypto-unavailable "), "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");
    free(b.data);
    free(so);
}

static void test_loop(void)
{
    const char *exe, *r;
    char want[256];
    int fd;
    proc p;

    printf("-- insecure patch directories, a busy loop with unsafe points\n");
    exe = build_prog("loop", "looper", "", 1);
#define LOOPER "-DPATCH_PROGRAM=\"looper\""
    build_patch(fmt("%s/l-unsafe", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D0), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=50", "-DPATCH_UNSAFE=7", NULL);
    build_patch(fmt("%s/l-abi", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D0), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=51", "-DPATCH_ABI=99", NULL);
    build_patch(fmt("%s/l-base", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D2), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=52", NULL);
    build_patch(fmt("%s/l-nosym", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D0), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=53", "-DPATCH_NO_SYMBOL", NULL);
    build_patch(fmt("%s/l-prog", work), "-DPATCH_PROGRAM=\"other\"", fmt("-DPATCH_BASE=\"%s\"", D0),
                fmt("-DPATCH_TARGET=\"%s\"", D1), "-DPATCH_ANSWER=54", NULL);
    build_patch(fmt("%s/l-step", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D0), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=55", "-DPATCH_TYPE_FROM=1", NULL);
    build_patch(fmt("%s/l-imp-index", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D0), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=56", "-DPATCH_IMPORT_INDEX=5", NULL);
    build_patch(fmt("%s/l-imp-named", work), LOOPER, fmt("-DPATCH_BASE=\"%s\"", D0), fmt("-DPATCH_TARGET=\"%s\"", D1),
                "-DPATCH_ANSWER=57", "-DPATCH_IMPORT_INDEX=0", NULL);
    mkdirs(fmt("%s/l-notelf", work));
    write_file(fmt("%s/l-notelf/patch.so", work), "not an ELF file\n", 16);
    mkdirs(fmt("%s/l-empty", work));
    {
        /* The first half of a good patch: mapped, it would SIGBUS the program. */
        size_t n;
        unsigned char *so = read_file(fmt("%s/l-unsafe/patch.so", work), &n);

        mkdirs(fmt("%s/l-trunc", work));
        write_file(fmt("%s/l-trunc/patch.so", work), so, n / 2);
        free(so);
    }

    if (start_prog(&p, exe, "loop") < 0)
        fatal("no socket %s", p.sock);
    expect_refusal(&p, "patch ABI 99", apply_req(fmt("%s/l-abi", work), 1000), "abi", D0, 0);
    expect_refusal(&p, "unsigned patch for another base", apply_req(fmt("%s/l-base", work), 1000), "wrong-base", D0,
                   0);
    expect_refusal(&p, "patch without __graft_patch", apply_req(fmt("%s/l-nosym", work), 1000), "load-failed", D0, 0);
    expect_refusal(&p, "patch.so that is not an ELF object", apply_req(fmt("%s/l-notelf", work), 1000),
                   "bad-format", D0, 0);
    expect_refusal(&p, "a truncated patch.so, refused before it is mapped", apply_req(fmt("%s/l-trunc", work), 1000),
                   "bad-format", D0, 0);
    expect_refusal(&p, "directory without patch.so", apply_req(fmt("%s/l-empty", work), 1000), "bad-request", D0, 0);
    expect_refusal(&p, "patch for another program", apply_req(fmt("%s/l-prog", work), 1000), "wrong-program", D0, 0);
    expect_refusal(&p, "type step that does not continue the chain", apply_req(fmt("%s/l-step", work), 1000), "abi",
                   D0, 0);
    expect_refusal(&p, "import with an index past the program's table", apply_req(fmt("%s/l-imp-index", work), 1000),
                   "abi", D0, 0);
    expect_refusal(&p, "import the dynamic linker bound by name", apply_req(fmt("%s/l-imp-named", work), 1000), "abi",
                   D0, 0);
    r = cmd(&p, "answer");
    test_check("after the refusals the original code runs", strcmp(r, "answer=42") == 0, "reply: %s", r);

    /* Only point 7 is reached, and the patch is unsafe there. */
    fd = ctl_send(&p, apply_req(fmt("%s/l-unsafe", work), 800));
    sleep_ms(200);
    r = ctl(&p, apply_req(fmt("%s/l-v1", work), 1000));
    test_check("a second apply while one waits -> refused busy", starts(r, "refused busy "), "reply: %s", r);
    r = ctl(&p, "status");
    test_check("status is answered while an apply waits", starts(r, "ok program=looper ") && strstr(r, "sequence=0"),
               "reply: %s", r);
    r = ctl_recv(fd);
    test_check("only unsafe points reached -> refused timeout naming point 7",
               starts(r, "refused timeout ") && strstr(r, "point 7 (unsafe"), "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("after the timeout nothing is switched", strcmp(r, "answer=42") == 0, "reply: %s", r);
    r = ctl(&p, "status");
    snprintf(want, sizeof(want), "version=%s sequence=0 patches=0 ", D0);
    test_check("after the timeout the version is unchanged", strstr(r, want) != NULL, "reply: %s", r);

    /* Cancel racing the main thread's claim (PENDING -> CHECKING -> PENDING
     * every millisecond at point 7): short timeouts, many times. */
    {
        int i, timeouts = 0;

        for (i = 1; i <= 25; i++) {
            r = ctl(&p, fmt("apply %s/l-unsafe %d", work, i));
            timeouts += starts(r, "refused timeout ");
        }
        test_check("25 short timeouts racing the main thread: all refused timeout", timeouts == 25,
                   "%d timeouts, last reply: %s", timeouts, r);
        r = cmd(&p, "answer");
        test_check("  ... and the program runs its original code", strcmp(r, "answer=42") == 0, "reply: %s", r);
    }

    r = cmd(&p, "mode both");
    r = ctl(&p, apply_req(fmt("%s/l-unsafe", work), 5000));
    snprintf(want, sizeof(want), "sequence=1 version=%s", D1);
    test_check("point 7 skipped, applied at the next safe point (8)",
               starts(r, "applied ") && strstr(r, " point=8 ") && strstr(r, want), "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("the unsigned patch's function runs", strcmp(r, "answer=50") == 0, "reply: %s", r);
    test_check("the program exits normally", stop_prog(&p) == 0, "see above");
    test_cond("the socket is removed at exit", access(p.sock, F_OK) != 0);
}

static int file_contains(const char *path, const char *needle)
{
    size_t len;
    unsigned char *d = read_file(path, &len);
    int found;

    d[len] = '\0';
    found = needle ? strstr((char *)d, needle) != NULL : len == 0;
    free(d);
    return found;
}

static void test_process(void)
{
    const char *exe = build_prog("loop", "looper", "", 1);
    const char *r;
    char want[256], *log = fmt("%s/log-on.txt", work), *nolog = fmt("%s/log-off.txt", work);
    char *bad = fmt("%s/rt-shared", work);
    start_opts o = { 0 };
    proc p, child;
    long cpid;

    printf("-- process life: logging, no socket, blocking read(), fork, other users\n");
    o.log = "stderr";
    o.err_path = log;
    if (start_prog_opts(&p, exe, "loop", &o) < 0)
        fatal("no socket %s", p.sock);
    r = ctl(&p, "status");
    test_check("GRAFT_LOG=stderr: the program works", starts(r, "ok program=looper "), "reply: %s", r);
    test_check("GRAFT_LOG=stderr: exits normally", stop_prog(&p) == 0, "see above");
    test_check("GRAFT_LOG=stderr: diagnostics on stderr with graft[pid]: prefix",
               file_contains(log, fmt("graft[%ld]: listening on ", (long)p.pid)), "see %s", log);

    o.log = NULL;
    o.err_path = nolog;
    if (start_prog_opts(&p, exe, "loop", &o) < 0)
        fatal("no socket %s", p.sock);
    r = ctl(&p, "hello");
    test_check("without GRAFT_LOG: requests served", starts(r, "refused bad-request"), "reply: %s", r);
    test_check("without GRAFT_LOG: exits normally", stop_prog(&p) == 0, "see above");
    test_check("without GRAFT_LOG: nothing on stderr", file_contains(nolog, NULL), "see %s", nolog);

    o.runtime_dir = "/nonexistent-graft-dir/sub";
    o.log = "stderr";
    o.err_path = log;
    o.no_wait = 1;
    start_prog_opts(&p, exe, "loop", &o);
    r = cmd(&p, "answer");
    test_check("runtime directory cannot be created: the program still runs", strcmp(r, "answer=42") == 0,
               "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");
    test_check("  ... and says why on stderr", file_contains(log, "no control socket"), "see %s", log);

    mkdirs(bad);
    chmod(bad, 0777);
    o.runtime_dir = bad;
    start_prog_opts(&p, exe, "loop", &o);
    r = cmd(&p, "answer");
    test_check("a runtime directory writable by others is refused; the program runs",
               strcmp(r, "answer=42") == 0 && access(p.sock, F_OK) != 0, "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");

    /* Blocked in read(): returns EINTR only if SIGURG's handler lacks SA_RESTART. */
    if (start_prog(&p, exe, "read") < 0)
        fatal("no socket %s", p.sock);
    r = ctl(&p, apply_req(fmt("%s/l-unsafe", work), 5000));
    test_check("a program blocked in read() is updated at its next point",
               starts(r, "applied ") && strstr(r, " point=1 "), "reply: %s", r);
    r = cmd(&p, "eintr");
    test_check("  ... read() returned EINTR (no SA_RESTART)", starts(r, "eintr=") && atoi(r + 6) > 0, "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("  ... and runs the new code", strcmp(r, "answer=50") == 0, "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");

    /* fork(): the child gets its own socket at its first update point. */
    if (start_prog(&p, exe, "idle") < 0)
        fatal("no socket %s", p.sock);
    r = cmd(&p, "fork");
    cpid = starts(r, "child=") ? atol(r + 6) : -1;
    memset(&child, 0, sizeof(child));
    child.pid = (pid_t)cpid; /* ctl() signals it */
    if (snprintf(child.sock, sizeof(child.sock), "%s/%ld.sock", rtdir, cpid) >= (int)sizeof(child.sock))
        fatal("path too long");
    test_check("a forked child opens its own socket", cpid > 0 && wait_for_file(child.sock, 1), "reply: %s", r);
    r = ctl(&child, "status");
    snprintf(want, sizeof(want), "pid=%ld", cpid);
    test_check("  ... which answers status with its pid", starts(r, "ok program=looper ") && strstr(r, want),
               "reply: %s", r);
    r = ctl(&child, apply_req(fmt("%s/l-unsafe", work), 5000));
    test_check("  ... and takes a patch", starts(r, "applied ") && strstr(r, " point=1 "), "reply: %s", r);
    test_check("  ... then exits and removes its socket", wait_for_file(child.sock, 0), "%s", child.sock);
    if (cpid > 0 && kill((pid_t)cpid, 0) == 0) {
        kill((pid_t)cpid, SIGKILL); /* only if the test above failed */
        unlink(child.sock);
    }
    r = cmd(&p, "answer");
    test_check("the parent is not patched", strcmp(r, "answer=42") == 0, "reply: %s", r);
    r = ctl(&p, "status");
    test_check("the parent still answers on its own socket", starts(r, "ok ") && strstr(r, "sequence=0 "),
               "reply: %s", r);

    /* Another user: the directory and the socket keep it out; with the
     * socket opened up, SO_PEERCRED still does. */
    if (geteuid() == 0) {
        int status = -1;
        pid_t pid;

        chmod(tmpdir_path, 0755);
        chmod(rtdir, 0755);
        chmod(p.sock, 0666);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            struct sockaddr_un sa = { .sun_family = AF_UNIX };
            char buf[64];
            int fd;

            if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(3);
            memcpy(sa.sun_path, p.sock, strlen(p.sock) + 1);
            fd = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                _exit(4); /* the test wants to reach the SO_PEERCRED check */
            /* The server may already have closed: EPIPE is fine. */
            if (send(fd, "status\n", 7, MSG_NOSIGNAL) < 0) {
                /* closed */
            }
            _exit(recv(fd, buf, sizeof(buf), 0) > 0 ? 1 : 0); /* closed without a reply */
        }
        waitpid(pid, &status, 0);
        chmod(rtdir, 0700);
        chmod(tmpdir_path, 0700);
        chmod(p.sock, 0600);
        test_check("a connection from another uid is closed without a reply",
                   WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    }
    test_check("the parent exits normally", stop_prog(&p) == 0, "see above");
}

/* Sends a command until it replies `want` (at most about 2 s); returns the last reply. */
static const char *cmd_until(proc *p, const char *line, const char *want)
{
    const char *r = cmd(p, line);
    int i;

    for (i = 0; i < 200 * slow && strcmp(r, want) != 0; i++) {
        sleep_ms(10);
        r = cmd(p, line);
    }
    return r;
}

static void test_lazy(void)
{
    const char *exe = build_prog("loop", "looper", "", 1);
    const char *r;
    char want[256], *stale;
    struct pollfd pfd;
    pid_t dead;
    int fd;
    proc p;

    printf("-- the control thread starts at the first request (lazy)\n");
    /* The socket a process killed by a signal left behind: a dead pid's. */
    fflush(stdout);
    dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    stale = fmt("%s/%ld.sock", rtdir, (long)dead);
    mkdirs(rtdir);
    write_file(stale, "", 0);
    if (start_prog(&p, exe, "idle") < 0)
        fatal("no socket %s", p.sock);
    r = cmd(&p, "threads");
    test_check("a fresh process has one thread, though its socket exists", strcmp(r, "threads=1") == 0,
               "reply: %s", r);
    test_check("  ... and has not swept the stale socket of a dead pid yet", access(stale, F_OK) == 0, "%s", stale);
    r = cmd(&p, "pending");
    test_check("  ... and grt_pending is 0 (the fast path stays fast)", strcmp(r, "pending=0") == 0, "reply: %s", r);

    /* A request without the SIGURG waits in the listen queue. */
    fd = ctl_send_quiet(&p, "status");
    sleep_ms(300);
    pfd.fd = fd;
    pfd.events = POLLIN;
    test_check("a request without SIGURG gets no reply (no thread serves the socket)",
               fd >= 0 && poll(&pfd, 1, 0) == 0, "fd %d", fd);
    r = cmd(&p, "threads");
    test_check("  ... and starts no thread", strcmp(r, "threads=1") == 0, "reply: %s", r);
    if (fd >= 0)
        kill(p.pid, SIGURG);
    r = ctl_recv(fd);
    snprintf(want, sizeof(want), "ok program=looper version=%s sequence=0 patches=0 pid=%ld", D0, (long)p.pid);
    test_check("the SIGURG that follows: the idle program reaches its point, which starts the thread, which answers",
               strcmp(r, want) == 0, "reply: %s", r);
    test_check("  ... the control thread swept the stale socket when it started", access(stale, F_OK) != 0, "%s",
               stale);
    r = cmd(&p, "threads");
    test_check("  ... now two threads (the control thread keeps running)", strcmp(r, "threads=2") == 0, "reply: %s", r);
    r = cmd_until(&p, "pending", "pending=0");
    test_check("  ... and grt_pending is back to 0", strcmp(r, "pending=0") == 0, "reply: %s", r);
    r = ctl(&p, "status");
    test_check("a second request is served by the same thread", starts(r, "ok program=looper "), "reply: %s", r);
    r = cmd(&p, "threads");
    test_check("  ... still two threads", strcmp(r, "threads=2") == 0, "reply: %s", r);
    kill(p.pid, SIGURG);
    r = cmd_until(&p, "pending", "pending=0");
    test_check("a SIGURG once the thread runs does not set grt_pending", strcmp(r, "pending=0") == 0, "reply: %s", r);
    r = ctl(&p, apply_req(fmt("%s/l-unsafe", work), 5000));
    test_check("apply after the lazy start", starts(r, "applied ") && strstr(r, " point=1 "), "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("  ... runs the new code", strcmp(r, "answer=50") == 0, "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");

    /* The request's SIGURG arrives after the main thread's update point but
     * before it blocks in read(): no EINTR. The runtime's wake-up timer
     * re-sends SIGURG until a point is reached. */
    if (start_prog(&p, exe, "read") < 0)
        fatal("no socket %s", p.sock);
    r = cmd(&p, "spin 300");
    sleep_ms(100);
    fd = ctl_send(&p, "status");
    r = ctl_recv(fd);
    test_check("a SIGURG that misses the blocking read(): the request is still answered",
               starts(r, "ok program=looper "), "reply: %s", r);
    /* The read() itself starts the control thread on its way in (blocking.c): no EINTR is needed. */
    r = cmd(&p, "eintr");
    test_check("  ... and the read() that began after the signal returned normally or with EINTR", starts(r, "eintr="),
               "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");

    /* A SIGURG without a request, in a busy loop (points every millisecond). */
    if (start_prog(&p, exe, "loop") < 0)
        fatal("no socket %s", p.sock);
    r = cmd(&p, "threads");
    test_check("busy loop: one thread at first", strcmp(r, "threads=1") == 0, "reply: %s", r);
    kill(p.pid, SIGURG);
    r = cmd_until(&p, "threads", "threads=2");
    test_check("a spurious SIGURG starts the thread at the next point", strcmp(r, "threads=2") == 0, "reply: %s", r);
    r = cmd_until(&p, "pending", "pending=0");
    test_check("  ... and does not leave grt_pending set after it", strcmp(r, "pending=0") == 0, "reply: %s", r);
    r = ctl(&p, "status");
    test_check("  ... and status is answered", starts(r, "ok program=looper "), "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");
}

/* An event-driven program whose only update point is in its handler, idle:
 * the control socket answers anyway, an apply answers within its timeout,
 * and one that was refused or abandoned is never applied later. */
static void test_idle_events(void)
{
    const char *exe = build_prog("loop", "looper", "", 1);
    const char *patch = fmt("%s/l-unsafe", work);
    uint64_t t0;
    struct timespec now;
    const char *r;
    int fd;
    proc p;

    printf("-- an idle event loop (update point only in the handler)\n");
    if (start_prog(&p, exe, "events") < 0)
        fatal("no socket %s", p.sock);
    r = ctl(&p, "status");
    test_check("status is answered though no update point runs (the thread starts on the way out of epoll_wait)",
               starts(r, "ok program=looper ") && strstr(r, " sequence=0 "), "reply: %s", r);
    t0 = now_ms();
    r = ctl(&p, apply_req(patch, 500));
    test_check("apply with a 500 ms timeout: refused at the timeout, within a second of it",
               starts(r, "refused timeout ") && now_ms() - t0 < 1500 * (uint64_t)slow, "after %lu ms: %s",
               (unsigned long)(now_ms() - t0), r);
    /* The test program has no table of its functions (graft compile makes one): its wait is in no known function. */
    test_check("  ... naming the main thread, blocked in a call not known to be safe",
               strstr(r, "main thread") && strstr(r, "blocked in a call (not known to be safe"), "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("  ... and the handler's point that comes later applies nothing", strcmp(r, "answer=42") == 0,
               "reply: %s", r);

    fd = ctl_send(&p, apply_req(patch, 5000));
    sleep_ms(200);
    close(fd);
    sleep_ms(300);
    r = cmd(&p, "answer");
    r = cmd(&p, "answer");
    test_check("an apply whose requester closed its connection is cancelled: a later point applies nothing",
               strcmp(r, "answer=42") == 0, "reply: %s", r);
    r = ctl(&p, "status");
    test_check("  ... still sequence 0", starts(r, "ok program=looper ") && strstr(r, " sequence=0 "), "reply: %s", r);

    clock_gettime(CLOCK_MONOTONIC, &now);
    r = ctl(&p, fmt("apply %s 5000 until=%llu", patch, (unsigned long long)now.tv_sec * 1000ull - 1000ull));
    test_check("an apply read after its deadline (until=) is refused unloaded",
               starts(r, "refused timeout ") && strstr(r, "after its deadline"), "reply: %s", r);
    r = ctl(&p, "apply /x 5000 until=soon");
    test_check("  ... a malformed until= is a bad request", starts(r, "refused bad-request "), "reply: %s", r);

    /* A client that half-closes after its request still wants the reply. */
    fd = ctl_send(&p, apply_req(patch, 5000));
    if (fd >= 0)
        shutdown(fd, SHUT_WR);
    sleep_ms(200);
    r = cmd(&p, "answer");
    r = ctl_recv(fd);
    test_check("with a request to handle, the handler's point applies it (the requester half-closed: not abandoned)",
               starts(r, "applied ") && strstr(r, " threads=1 "), "reply: %s", r);
    r = cmd(&p, "answer");
    test_check("  ... and the new code runs", strcmp(r, "answer=50") == 0, "reply: %s", r);
    test_check("  ... and exits normally", stop_prog(&p) == 0, "see above");
}

int main(void)
{
    const char *s;
    int i;

    test_suite_name = "runtime_test";
    cc = env("GRAFT_TEST_CC");
    cflags = env("GRAFT_TEST_CFLAGS");
    lib = env("GRAFT_TEST_LIB");
    if (strstr(lib, ".so")) {
        const char *slash = strrchr(lib, '/');

        snprintf(lib_dir, sizeof(lib_dir), "%.*s", slash ? (int)(slash - lib) : 1, slash ? lib : ".");
    }
    src = env("GRAFT_TEST_SRC");
    inc = env("GRAFT_TEST_INCLUDE");
    work = env("GRAFT_TEST_WORK");
    wrap = getenv("GRAFT_TEST_WRAP");
    if (wrap && !*wrap)
        wrap = NULL;
    s = getenv("GRAFT_TEST_SLOW");
    if (s && atoi(s) > 0)
        slow = atoi(s);
    if (sodium_init() < 0)
        fatal("sodium_init");
    for (i = 0; i < 5; i++) {
        memset(digest[i], 'a' + i, 64);
        digest[i][64] = '\0';
    }
    mkdirs(work);
    /* Sockets live in a short private directory under /tmp (a socket path
     * has at most 107 bytes); the runtime creates rt/ itself (mode 0700). */
    {
        char tmpl[] = "/tmp/graft-test-XXXXXX";

        if (!mkdtemp(tmpl))
            fatal("mkdtemp: %s", strerror(errno));
        snprintf(tmpdir_path, sizeof(tmpdir_path), "%s", tmpl);
        snprintf(rtdir, sizeof(rtdir), "%s/rt", tmpl);
    }
    crypto_sign_keypair(pk1, sk1);
    crypto_sign_keypair(pk2, sk2);

    test_signed();
    test_unsigned_program();
    test_no_sodium();
    test_loop();
    test_lazy();
    test_idle_events();
    test_process();
    if (system(fmt("rm -rf '%s'", tmpdir_path)) != 0)
        printf("cannot remove %s\n", tmpdir_path);
    test_report();
    return 0;
}
