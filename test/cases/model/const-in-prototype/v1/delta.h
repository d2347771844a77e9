char *add_delta(int *value, int incr, const unsigned int delta, char *buf);
