#ifndef CSERIAL_H
#define CSERIAL_H
#include <stddef.h>

/// Opens a pseudo-terminal master (posix_openpt, grantpt, unlockpt) and writes the slave's path
/// into `name`. Returns the master descriptor, or -1 with errno set.
int cserial_open_pty(char *name, size_t length);

#endif
