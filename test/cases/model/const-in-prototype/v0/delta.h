char *add_delta(int *value, int incr, unsigned int delta, char *buf);
