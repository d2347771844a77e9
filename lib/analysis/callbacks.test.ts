import { describe, expect, it } from "vitest";
import { mayCallBack } from "./callbacks.js";

describe("calls that may call back into the program", () => {
  const libc = new Set(["qsort", "read", "memcpy", "pthread_once", "printf"]);
  it("the C library's calls do not, but those that take a function to call do", () => {
    expect(mayCallBack("read", libc)).toBe(false);
    expect(mayCallBack("printf", libc)).toBe(false);
    expect(mayCallBack("qsort", libc)).toBe(true);
    expect(mayCallBack("pthread_once", libc)).toBe(true);
    expect(mayCallBack("bsearch", new Set())).toBe(true);
  });
  it("another library's calls do, unless documented to only register or read", () => {
    expect(mayCallBack("event_base_loop", libc)).toBe(true);
    expect(mayCallBack("event_dispatch", libc)).toBe(true);
    expect(mayCallBack("pam_authenticate", libc)).toBe(true);
    expect(mayCallBack("SSL_read", libc)).toBe(true);
    expect(mayCallBack("event_add", libc)).toBe(false);
    expect(mayCallBack("pam_start", libc)).toBe(false);
    expect(mayCallBack("cap_set_proc", libc)).toBe(false);
  });
  it("the compiler's and the headers' own names, and Graft's runtime, do not", () => {
    expect(mayCallBack("__builtin_expect", libc)).toBe(false);
    expect(mayCallBack("__bswap_32", libc)).toBe(false);
    expect(mayCallBack("grt_update_point", libc)).toBe(false);
  });
});
