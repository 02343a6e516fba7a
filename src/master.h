/* The prefork master: socket, workers, signals, maintenance. */
#ifndef AUTHGW_MASTER_H
#define AUTHGW_MASTER_H

#include <stddef.h>

struct config;

/*
 * Serve with listening socket fd (bound by us, inherited on fd 0, or fd 3
 * from systemd). With workers == 1 and an inherited socket the calling
 * process serves itself. Returns the process exit status.
 */
int	master_run(struct config *, int fd, int inherited);

/* Bind cfg->listen. Returns the fd, or -1 with a reason in err. */
int	master_listen(const struct config *, char *err, size_t errsz);

#endif
