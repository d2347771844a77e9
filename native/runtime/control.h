/*
 * control.h - the control socket server (private). See docs/control-protocol.md.
 *
 * THREAD SAFETY: grt_control_start() runs in the constructor (or in a forked
 * child at its first update point). The control thread it (eagerly) or
 * grt_control_poke() (lazily, at the first update point after a client's
 * SIGURG) starts serves every request, one at a time. grt_control_signal()
 * runs in the SIGURG handler, in any thread, and is async-signal-safe.
 */
#ifndef GRT_CONTROL_H
#define GRT_CONTROL_H

#include <stddef.h>

#include "core.h"

/* Creates the runtime directory and the socket (listening as soon as its
 * file appears). With lazy == 0 it also starts the control thread; with
 * lazy == 1 the thread waits for a client's SIGURG and an update point.
 * Returns 0 or -errno (the program goes on without updates). */
int grt_control_start(int lazy) GRT_WARN_UNUSED;

/* From the SIGURG handler: when the socket listens and no thread serves it,
 * marks the control thread as wanted and sets grt_pending. Returns 1 when it
 * did. Async-signal-safe. */
int grt_control_signal(void);

/* From an update point: starts the control thread if it is wanted. Returns 1
 * when it consumed a want (the caller then settles grt_pending), 0 otherwise. */
int grt_control_poke(void);

/* 1 while the control thread is wanted but not started (seq_cst load). */
int grt_control_wanted(void);

/* Removes the socket file (at exit, in the process that created it). */
void grt_control_stop(void);

/* After fork(), in the child: forget the parent's socket without unlinking it. */
void grt_control_forget(void);

/* The runtime directory ("" when the socket could not be created). */
const char *grt_control_dir(void);

#endif /* GRT_CONTROL_H */
