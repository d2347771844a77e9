/* vsftpd's str.c: the private fields under their own names */
#define PRIVATE_HANDS_OFF_p_buf p_buf
#define PRIVATE_HANDS_OFF_len len
#include "str.h"
int str_len(const struct mystr *s) { return (int)s->len + (s->p_buf != 0); }
