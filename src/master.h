/* The prefork master: socket, workers, signals, maintenance. */
#ifndef AUTHGW_MASTER_H
#define AUTHGW_MASTER_H

#include <sys/types.h>

#include <stddef.h>

struct config;

/*
 * Serve with listening socket fd (bound by us, inherited on fd 0, or fd 3
 * from systemd). With workers == 1 and an inherited socket the calling
 * process serves itself. Returns the process exit status.
 */
int	master_run(struct config *, int fd, int inherited);

/*
 * Who a unix listen socket is given to: when root, cfg->user's uid (if
 * set) and its primary group; socket_group, if set, names the group.
 * (uid_t)-1 and (gid_t)-1 mean unchanged. Returns 0, or -1 with a reason
 * in err: no such user or group, a configuration error.
 */
int	master_socket_owner(const struct config *, uid_t *, gid_t *,
	    char *err, size_t errsz);

/*
 * Bind cfg->listen; a unix socket is owned as master_socket_owner() says
 * and has socket_mode before anyone can connect. Returns the fd, or -1
 * with a reason in err.
 */
int	master_listen(const struct config *, char *err, size_t errsz);

#endif
