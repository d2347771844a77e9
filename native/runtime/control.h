/*
 * control.h - the control socket server (private). See docs/control-protocol.md.
 *
 * THREAD SAFETY: grt_control_start() runs in the constructor (or in a forked
 * child at its first update point); everything else runs in the control
 * thread it starts. Requests are served one at a time by that thread.
 */
#ifndef GRT_CONTROL_H
#define GRT_CONTROL_H

#include <stddef.h>

#include "core.h"

/* Creates the runtime directory and the socket and starts the control thread.
 * Returns 0 or -errno (the program goes on without updates). */
int grt_control_start(void) GRT_WARN_UNUSED;

/* Removes the socket file (at exit, in the process that created it). */
void grt_control_stop(void);

/* After fork(), in the child: forget the parent's socket without unlinking it. */
void grt_control_forget(void);

/* The runtime directory ("" when the socket could not be created). */
const char *grt_control_dir(void);

#endif /* GRT_CONTROL_H */
