/**
 * Which calls out of the program may call back into it before they return:
 * a library's event loop runs the handlers it was given (libevent's
 * event_loop calls memcached's event_handler), qsort its comparison. While
 * such a callback runs, the function that made the call is on the stack
 * below the library, and goes on in its old code when the callback returns:
 * it is a caller of every function whose address was taken, as a call
 * through a pointer is (lib/analysis/safety.ts).
 *
 * A call to a function outside the C library is taken to call back unless
 * the function is one documented to only register or read state
 * (LIBRARY_NO_CALLBACK); a call to the C library is taken not to, unless it
 * is one that takes a function to call (LIBC_CALLBACK_TAKERS). Not seen:
 * pthread_atfork's handlers (run by fork), fopencookie's and
 * register_printf_function's (run by stdio); docs/safety.md says so.
 */

/** Functions of the C library that call a function they are given before they return. */
export const LIBC_CALLBACK_TAKERS: ReadonlySet<string> = new Set([
  "qsort", "qsort_r", "bsearch", "lfind", "lsearch", "tsearch", "tfind", "tdelete", "twalk", "twalk_r", "tdestroy",
  "ftw", "ftw64", "nftw", "nftw64", "scandir", "scandir64", "scandirat", "scandirat64", "glob", "glob64",
  "pthread_once", "call_once", "dl_iterate_phdr", "argp_parse", "on_exit", "atexit",
]);

/**
 * Functions of other libraries that never call the program back before they
 * return (their documentation: they register, queue or read; the loop that
 * runs the callbacks is another call).
 */
export const LIBRARY_NO_CALLBACK: ReadonlySet<string> = new Set([
  // libevent 1.x and 2.x: registration; event_dispatch, event_loop, event_base_loop and event_base_dispatch do call back.
  "event_init", "event_base_new", "event_base_free", "event_reinit", "event_set", "event_base_set", "event_assign", "event_new", "event_free",
  "event_add", "event_del", "event_active", "event_pending", "event_initialized", "event_priority_init", "event_priority_set",
  "event_base_priority_init", "event_get_version", "event_get_method", "event_base_get_method", "event_once", "event_base_once",
  "event_loopexit", "event_base_loopexit", "event_loopbreak", "event_base_loopbreak",
  // Linux-PAM: these do not talk to the modules, so never to the conversation function.
  "pam_start", "pam_end", "pam_set_item", "pam_get_item", "pam_strerror", "pam_getenv", "pam_putenv", "pam_getenvlist",
  // libcrypt
  "crypt", "crypt_r",
]);

/** Whether a call to `name`, a function the program does not define, may run one of the program's functions before it returns. */
export function mayCallBack(name: string, libc: ReadonlySet<string>): boolean {
  if (LIBC_CALLBACK_TAKERS.has(name)) return true;
  if (libc.has(name) || LIBRARY_NO_CALLBACK.has(name)) return false;
  // Names with two underscores are the compiler's and the C library's own
  // (__builtin_expect, the headers' inline __bswap_32 behind htonl,
  // __errno_location behind errno); grt_ is Graft's runtime, which runs no
  // old code of the program; libcap's cap_ functions work on capability sets.
  return !/^(__|grt_|cap_)/.test(name);
}
