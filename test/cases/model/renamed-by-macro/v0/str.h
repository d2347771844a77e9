struct mystr { char *PRIVATE_HANDS_OFF_p_buf; unsigned int PRIVATE_HANDS_OFF_len; };
int str_len(const struct mystr *s);
