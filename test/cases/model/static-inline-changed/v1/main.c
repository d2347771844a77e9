#include <stdio.h>
#include "graft.h"

/* memcached 1.2.2 -> 1.2.3: `inline void process_stats_detail` becomes `inline static void`, and its body changes. */
inline static void stats_detail(const char *cmd) { printf("v1 %s\n", cmd); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); stats_detail("on"); }
}
