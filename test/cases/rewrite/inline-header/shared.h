/* C99's idiom for an inline function in a header: every unit has the inline definition, one unit the external one. */
struct acc { int n; int total; };
inline int mean(const struct acc *a) { return a->n ? a->total / a->n : 0; }
int report(struct acc *a);
