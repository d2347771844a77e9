/**
 * What changed between consecutive real releases, read by a person from the
 * releases' own diff (`diff -u -p` of the unpacked trees' .c and .h files,
 * each hunk read), and what the patch's manifest must therefore say. Only the
 * code that the builds here compile counts: vsftpd's builddefs.h has
 * `#undef VSF_BUILD_SSL` (ssl.c's SSL half is compiled out) and memcached is
 * configured without --enable-threads (thread.c's USE_THREADS half and the
 * mt_* prototypes are compiled out), so edits there change nothing.
 *
 * Lists are by a function's or global's plain name (`name` in the manifest).
 * "changed" means the function's own text changed in meaning: the manifest
 * status must be "changed" or "signature" (the ones in `signature` must be
 * "signature"). Functions the manifest lists as "caller" (they call a changed
 * function compiled into them, or one whose signature changed) or "retyped"
 * (they use a type whose layout changed) are not listed: those follow from
 * the other changes and from Graft's inlining choices, not from the diff.
 */
import type { PatchManifest } from "../../../lib/model/patch-manifest.js";
import type { RealProgram } from "./unpack.js";

export interface ExpectedChanges {
  program: RealProgram;
  from: string;
  to: string;
  functions: {
    changed: string[];
    /** Subset of `changed` whose type changed (return or parameter types). */
    signature: string[];
    added: string[];
    removed: string[];
    /**
     * Text differs, meaning does not (comments, layout, a top-level
     * qualifier on a parameter): status "noise" or "same", never in the patch.
     */
    noise: string[];
    /** Either way is right (see the comment at each use): not compared. */
    maybe?: string[];
    /** Text differs only in code compiled out here, or not at all: "same" (or not listed). */
    same: string[];
  };
  types: { added: string[]; changed: string[]; removed: string[]; same: string[] };
  globals: {
    added: string[];
    removed: string[];
    /** Type changed (an array that grows). */
    retyped: string[];
    /** Must be "same" (or not listed). */
    same: string[];
  };
}

/**
 * vsftpd 2.0.1 -> 2.0.2: ascii.c, ascii.h, ftpdataio.c, ftpdataio.h,
 * logging.c, postlogin.c, ssl.c, str.c, sysdeputil.c, sysutil.c, vsftpver.h
 * (plus 5 documents). VSF_VERSION ("2.0.1" -> "2.0.2") is used in main()
 * (main.c), handle_stat() (postlogin.c) and emit_greeting() (prelogin.c).
 */
const VSFTPD_201_202: ExpectedChanges = {
  program: "vsftpd",
  from: "2.0.1",
  to: "2.0.2",
  functions: {
    changed: [
      // ascii.c: returns struct ascii_to_bin_ret, parameters (char*, unsigned, int) instead of (const char*, char*, unsigned)
      "vsf_ascii_ascii_to_bin",
      // ftpdataio.c
      "vsf_ftpdataio_dispose_transfer_fd", "handle_io", "do_file_send_rwloop", "do_file_send_sendfile", "do_file_recv",
      // logging.c (static)
      "vsf_log_do_log_vsftpd_format",
      // postlogin.c
      "handle_retr", "handle_dir_common", "handle_upload_common",
      // str.c
      "str_empty",
      // sysdeputil.c (static; the Linux sendfile branch is the one compiled)
      "do_sendfile",
      // sysutil.c
      "vsf_sysutil_read", "vsf_sysutil_write", "vsf_sysutil_activate_linger", "vsf_sysutil_recv_peek",
      "vsf_sysutil_lock_file", "vsf_sysutil_accept_timeout", "vsf_sysutil_connect_timeout", "vsf_sysutil_sleep",
      // VSF_VERSION
      "main", "handle_stat", "emit_greeting",
    ],
    signature: ["vsf_ascii_ascii_to_bin"],
    added: ["check_abor"],
    removed: ["dispose_remote_transfer_fd"],
    // sysutil.c: one setsockopt call rejoined on one line
    noise: ["vsf_sysutil_deactivate_linger_failok"],
    // ssl.c: ssl_read/ssl_write changed only in the VSF_BUILD_SSL half
    same: ["ssl_read", "ssl_write", "vsf_standalone_main"],
  },
  types: { added: ["ascii_to_bin_ret"], changed: [], removed: [], same: ["vsf_transfer_ret", "vsf_session", "mystr"] },
  globals: { added: [], removed: [], retyped: [], same: [] },
};

/**
 * vsftpd 2.0.2 -> 2.0.3: ftpcmdio.c/.h, ftpdataio.c, main.c, parseconf.c,
 * postlogin.c, prelogin.c, ssl.c (SSL half only), standalone.c (an #include
 * only), sysutil.c/.h, tunables.c/.h, vsftpver.h, and ipv6parse.c/.h renamed
 * ipaddrparse.c/.h (vsf_sysutil_parse_ipv6 and its static helpers unchanged,
 * two functions added).
 */
const VSFTPD_202_203: ExpectedChanges = {
  program: "vsftpd",
  from: "2.0.2",
  to: "2.0.3",
  functions: {
    changed: [
      // ftpcmdio.c (static): calls vsf_cmdio_write_exit instead of write_noblock + exit
      "handle_alarm_timeout",
      // ftpdataio.c
      "vsf_ftpdataio_get_port_fd", "handle_sigalrm",
      // main.c (also VSF_VERSION), die_unless_privileged: new message
      "main", "die_unless_privileged",
      // postlogin.c (handle_stat: VSF_VERSION)
      "handle_pasv", "handle_port", "handle_eprt", "data_transfer_checks_ok", "handle_stat",
      // prelogin.c (emit_greeting: also VSF_VERSION)
      "emit_greeting", "handle_user_command",
      // sysutil.c: die() messages, linger, set_ipv4addr's new AF_INET6 branch
      "vsf_sysutil_activate_keepalive", "vsf_sysutil_activate_reuseaddr", "vsf_sysutil_set_nodelay",
      "vsf_sysutil_activate_oobinline", "vsf_sysutil_activate_linger", "vsf_sysutil_sockaddr_set_ipv4addr",
    ],
    signature: [],
    added: [
      "vsf_cmdio_write_exit",
      "vsf_sysutil_shutdown_read_failok", "vsf_sysutil_sockaddr_ipv4_v6",
      "vsf_sysutil_parse_ipv4", "vsf_sysutil_parse_uchar_string_sep",
    ],
    removed: ["vsf_cmdio_write_noblock", "vsf_sysutil_sockaddr_same_family"],
    // postlogin.c: a comment added inside the ABOR branch
    noise: ["handle_sigurg"],
    // moved from ipv6parse.c to ipaddrparse.c unchanged; ssl.c's non-SSL half unchanged; standalone.c: only an #include
    same: ["vsf_sysutil_parse_ipv6", "ipv6_parse_main", "ipv6_parse_hex", "ipv4_parse_dotquad", "ssl_init", "ssl_read", "ssl_write", "vsf_standalone_main"],
  },
  types: { added: [], changed: [], removed: [], same: ["vsf_session", "vsf_sysutil_sockaddr", "parseconf_bool_setting", "parseconf_str_setting"] },
  globals: {
    added: [
      // tunables.c
      "tunable_force_anon_logins_ssl", "tunable_force_anon_data_ssl", "tunable_rsa_private_key_file", "tunable_dsa_private_key_file",
      // new static locals (sysutil.c, ipaddrparse.c)
      "vsf_sysutil_sockaddr_set_ipv4addr/s_p_sockaddr", "vsf_sysutil_sockaddr_ipv4_v6/ret", "vsf_sysutil_parse_ipv4/items",
      "vsf_sysutil_parse_uchar_string_sep/s_tmp_str", "vsf_sysutil_parse_uchar_string_sep/s_rhs_sep_str",
    ],
    // postlogin.c: handle_port's loop moved to vsf_sysutil_parse_uchar_string_sep, with its two static locals
    removed: ["handle_port/s_tmp_str", "handle_port/s_rhs_comma_str"],
    // parseconf.c: the bool and string tables grow by two entries each
    retyped: ["parseconf_bool_array", "parseconf_str_array"],
    // static locals of the functions that moved from ipv6parse.c to ipaddrparse.c unchanged: the same storage;
    // ftpdataio.c get_port_fd's s_p_addr moved from an inner block to the function's top: same function, same name
    same: [
      "vsf_sysutil_parse_ipv6/s_ret", "vsf_sysutil_parse_ipv6/s_rhs_ret", "vsf_sysutil_parse_ipv6/s_lhs_str", "vsf_sysutil_parse_ipv6/s_rhs_str",
      "ipv6_parse_main/s_lhs_str", "ipv6_parse_main/s_rhs_str", "vsf_ftpdataio_get_port_fd/s_p_addr",
    ],
  },
};

/**
 * memcached 1.2.2 -> 1.2.3: assoc.c, items.c, memcached.c, memcached.h,
 * slabs.c, thread.c (all but the #include of string.h under USE_THREADS),
 * configure.ac (AC_INIT version: VERSION in config.h). VERSION is used in
 * process_stat, process_command, usage, usage_license.
 */
const MEMCACHED_122_123: ExpectedChanges = {
  program: "memcached",
  from: "1.2.2",
  to: "1.2.3",
  functions: {
    // process_stat: VERSION, and the rusage code now inside #ifndef WIN32 (compiled the same)
    changed: ["process_stat", "process_command", "usage", "usage_license"],
    signature: [],
    added: [],
    removed: [],
    // do_add_delta: `int incr` -> `const int incr` in the definition: a top-level qualifier, not part of
    // the function's type (C11 6.7.6.3p15), and the body is the same.
    // process_stats_detail: `inline void` -> `inline static void` in the same file, same body: the same
    // function (lib/cfront/identity.ts keeps its identity), so only its text differs
    noise: ["do_add_delta", "process_stats_detail"],
    same: ["clock_handler", "conn_new", "do_item_alloc"],
  },
  // item: `void *end[0]` -> `void *end[]`, same layout
  types: { added: [], changed: [], removed: [], same: ["_stritem", "conn", "settings", "stats"] },
  globals: { added: [], removed: [], retyped: [], same: [] },
};

/**
 * memcached 1.2.3 -> 1.2.4: assoc.c, items.c, memcached.c, memcached.h,
 * slabs.c and stats.c (comments only), items.h, thread.c (USE_THREADS half
 * only: compiled out), configure.ac (version). The cas and gets commands,
 * append/prepend, 64-bit incr/decr, item stats into a malloc'd buffer, an
 * access mask for the unix socket.
 */
const MEMCACHED_123_124: ExpectedChanges = {
  program: "memcached",
  from: "1.2.3",
  to: "1.2.4",
  functions: {
    changed: [
      // assoc.c: `int oldbucket` -> `unsigned int oldbucket`
      "assoc_find", "_hashitem_before", "assoc_insert",
      // items.c (do_item_update: `if (f & ITEM_LINKED)` -> `if ((f & ITEM_LINKED) != 0)`, the same
      // machine code but a different expression; do_item_get_notedeleted: `it &&` -> `it != NULL &&`, `0` -> NULL)
      "do_item_alloc", "do_item_link", "do_item_update", "do_item_get_notedeleted",
      // memcached.c (conn_init, save_pid: `!(x = f())` -> `(x = f()) == NULL`; process_command: MAX_TOKENS 6 -> 7
      // sizes its tokens[] array, and the new commands)
      "settings_init", "add_msghdr", "conn_init", "conn_new", "conn_cleanup", "conn_free", "complete_nread",
      "do_store_item", "process_stats_detail", "process_stat", "process_command", "drive_machine", "usage", "save_pid", "main",
      // VERSION (config.h, from configure.ac's AC_INIT: 1.2.3 -> 1.2.4) is also printed by usage_license
      "usage_license",
      // and the ones whose type changed, below
      "do_conn_add_to_freelist", "process_get_command", "process_update_command", "process_arithmetic_command", "do_add_delta",
      "server_socket_unix",
    ],
    signature: [
      // int -> bool return
      "do_conn_add_to_freelist",
      // a new bool parameter (return_cas, handle_cas)
      "process_get_command", "process_update_command",
      // const int incr -> const bool incr
      "process_arithmetic_command",
      // (item*, const int, unsigned int, char*) -> (item*, const bool, const int64_t, char*)
      "do_add_delta",
      // a new int access_mask parameter
      "server_socket_unix",
    ],
    added: [
      // items.c (static by its forward declaration)
      "get_cas_id",
      // items.c: item_cachedump/item_stats/item_stats_sizes renamed do_*, item_stats with a new signature
      "do_item_cachedump", "do_item_stats", "do_item_stats_sizes",
      // memcached.c
      "suffix_init", "do_suffix_from_freelist", "do_suffix_add_to_freelist", "write_and_free",
    ],
    removed: ["item_cachedump", "item_stats", "item_stats_sizes"],
    // comments only (assoc.c hash(): `// ...` -> `/* ... */` on #endif lines; stats.c stats_prefix_find(): a comment;
    // items.c: `/*` -> `/**` above functions)
    noise: ["hash", "stats_prefix_find", "item_delete_lock_over", "do_item_get_nocheck", "item_free", "item_size_ok", "slabs_init"],
    // assoc.c: `expanding = 1/0` -> `expanding = true/false`, the same after preprocessing (stdbool's macros), but
    // `expanding` changes type (int -> bool); assoc_init and assoc_delete are unchanged but use the retyped globals:
    // changed or not, both are defensible
    maybe: ["assoc_expand", "do_assoc_move_next_bucket", "assoc_init", "assoc_delete"],
    same: ["clock_handler", "set_current_time", "delete_handler"],
  },
  // memcached.h: item gains cas_id (before end[]), conn gains suffixlist/suffixsize/suffixcurr/suffixleft,
  // struct settings gains access; enum conn_states only gains a trailing comma
  types: { added: [], changed: ["_stritem", "conn", "settings"], removed: [], same: ["stats", "token_s"] },
  globals: {
    // memcached.c: the suffix free list; items.c: get_cas_id's static counter
    added: ["freesuffix", "freesuffixtotal", "freesuffixcurr", "get_cas_id/cas_id"],
    removed: [],
    // assoc.c: int -> unsigned int (hashpower, hash_items, expand_bucket), int -> bool (expanding)
    retyped: ["hashpower", "hash_items", "expanding", "expand_bucket"],
    // memcached.c: `todelete = 0` -> `= NULL`: the initial value only
    same: ["todelete", "settings", "stats"],
  },
};

export const EXPECTED_STEPS: readonly ExpectedChanges[] = [VSFTPD_201_202, VSFTPD_202_203, MEMCACHED_122_123, MEMCACHED_123_124];

export function expectedStep(program: RealProgram, from: string, to: string): ExpectedChanges {
  const e = EXPECTED_STEPS.find((s) => s.program === program && s.from === from && s.to === to);
  if (!e) throw new Error(`no expected changes for ${program} ${from} -> ${to}`);
  return e;
}

/**
 * Statuses Graft derives from other changes, not from the function's own text:
 * "caller" (calls a changed function compiled into it, or one whose signature
 * changed), "retyped" (uses a type whose layout changed).
 */
const DERIVED = ["caller", "retyped"];

/** A type's plain name in the manifest: the struct tag, or the typedef name. */
function typeNames(t: PatchManifest["types"][number]): string[] {
  return [t.key, t.spelling, t.spelling.replace(/^(struct|union|enum) /, "")];
}

function sorted(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

/**
 * Where the manifest disagrees with the expected changes, one line per
 * disagreement (empty: it agrees). Function and global names may repeat
 * (statics of different files): a name is "added" if any entry of that name
 * is added, and so on.
 */
export function compareWithExpected(m: PatchManifest, e: ExpectedChanges): string[] {
  const out: string[] = [];
  const maybe = new Set(e.functions.maybe ?? []);
  const fnBy = (pred: (s: string) => boolean) => sorted(m.functions.filter((f) => pred(f.status) && !maybe.has(f.name)).map((f) => f.name));
  const diffSets = (what: string, got: string[], want: string[]) => {
    const g = new Set(got);
    const w = new Set(want);
    const missing = [...w].filter((x) => !g.has(x));
    const extra = [...g].filter((x) => !w.has(x));
    if (missing.length) out.push(`${what}: expected but not reported: ${missing.join(", ")}`);
    if (extra.length) out.push(`${what}: reported but not in the release diff: ${extra.join(", ")}`);
  };
  diffSets("functions changed/signature", fnBy((s) => s === "changed" || s === "signature"), e.functions.changed);
  diffSets("functions with signature status", fnBy((s) => s === "signature"), e.functions.signature);
  diffSets("functions added", fnBy((s) => s === "added"), e.functions.added);
  diffSets("functions removed", fnBy((s) => s === "removed"), e.functions.removed);
  for (const n of e.functions.noise) {
    const bad = m.functions.filter((f) => f.name === n && !["noise", "same", ...DERIVED].includes(f.status));
    for (const f of bad) out.push(`function ${n} (${f.uname}): status ${f.status}, expected noise or same${f.note ? ` (${f.note})` : ""}`);
  }
  for (const n of e.functions.same) {
    const bad = m.functions.filter((f) => f.name === n && !["same", ...DERIVED].includes(f.status));
    for (const f of bad) out.push(`function ${n} (${f.uname}): status ${f.status}, expected same${f.note ? ` (${f.note})` : ""}`);
  }
  const tyMatch = (names: string[], s: string) => {
    const got = m.types.filter((t) => t.status === s);
    const missing = names.filter((n) => !got.some((t) => typeNames(t).includes(n)));
    const extra = got.filter((t) => !names.some((n) => typeNames(t).includes(n))).map((t) => t.spelling);
    if (missing.length) out.push(`types ${s}: expected but not reported: ${missing.join(", ")}`);
    if (extra.length) out.push(`types ${s}: reported but not in the release diff: ${extra.join(", ")}`);
  };
  tyMatch(e.types.added, "added");
  tyMatch(e.types.changed, "changed");
  tyMatch(e.types.removed, "removed");
  for (const n of e.types.same) {
    for (const t of m.types.filter((x) => typeNames(x).includes(n) && x.status !== "same")) out.push(`type ${t.spelling}: status ${t.status}, expected same`);
  }
  // A global is named by its plain name, or "function/name" for a static local.
  const glMatch = (spec: string, g: PatchManifest["globals"][number]) => {
    const slash = spec.indexOf("/");
    if (slash < 0) return g.name === spec;
    const fn = spec.slice(0, slash);
    const name = spec.slice(slash + 1);
    return g.name === name && (g.id.endsWith(`__${fn}__${name}`) || g.id.includes(`:${fn}:`) || g.id.includes(`/${fn}/`));
  };
  const glSets = (what: string, status: string, want: string[]) => {
    const got = m.globals.filter((g) => g.status === status);
    const missing = want.filter((w) => !got.some((g) => glMatch(w, g)));
    const extra = got.filter((g) => !want.some((w) => glMatch(w, g))).map((g) => `${g.name} (${g.id})`);
    if (missing.length) out.push(`${what}: expected but not reported: ${missing.join(", ")}`);
    if (extra.length) out.push(`${what}: reported but not in the release diff: ${extra.join(", ")}`);
  };
  glSets("globals added", "added", e.globals.added);
  glSets("globals removed", "removed", e.globals.removed);
  glSets("globals retyped", "retyped", e.globals.retyped);
  for (const w of e.globals.same) {
    for (const g of m.globals.filter((x) => glMatch(w, x) && x.status !== "same")) out.push(`global ${w} (${g.id}): status ${g.status}, expected same${g.note ? ` (${g.note})` : ""}`);
  }
  return out;
}
