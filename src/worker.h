/* A worker process: serves FastCGI requests on the listening socket until
 * told to stop. */
#ifndef AUTHGW_WORKER_H
#define AUTHGW_WORKER_H

#include <signal.h>
#include <sys/types.h>

struct config;
struct stats;

/*
 * The body of a worker forked by the master: signals as a child (mask
 * restored to mask), then serve in slot until SIGTERM. Exits the process
 * (0 on an orderly stop); never returns. A worker whose parent is no
 * longer master_pid exits at once.
 */
void	worker_main(const struct config *, struct stats *, int slot, int fd,
	    const sigset_t *mask, pid_t master_pid) __attribute__((noreturn));

/*
 * Serve alone, without a master (one worker on an inherited socket):
 * maintenance passes run in a child started between requests (or when
 * idle) and reaped without waiting. Returns the exit status.
 */
int	worker_serve_single(const struct config *, struct stats *, int fd);

#endif
