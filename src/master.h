/* The prefork master: socket, workers, signals, maintenance. */
#ifndef AUTHGW_MASTER_H
#define AUTHGW_MASTER_H

#include <signal.h>
#include <stddef.h>

struct config;

/*
 * Serve with listening socket fd (bound by us, inherited on fd 0, or fd 3
 * from systemd). With workers == 1 and an inherited socket the calling
 * process serves itself. Returns the process exit status.
 */
int	master_run(struct config *, int fd, int inherited);

/*
 * Block the signals the master handles, so that one arriving before the
 * handlers are in place waits instead of killing the process. Call before
 * binding the socket.
 */
void	master_block_signals(void);

/*
 * In a child of the master: on_stop for SIGTERM and SIGINT (without
 * SA_RESTART), SIGHUP ignored, SIGCHLD and SIGALRM default, then mask.
 */
void	master_child_signals(void (*on_stop)(int), const sigset_t *mask);

/* Undo master_block_signals() (plain CGI: the web server may kill us). */
void	master_unblock_signals(void);

/* Bind cfg->listen. Returns the fd, or -1 with a reason in err. */
int	master_listen(const struct config *, char *err, size_t errsz);

/* One maintenance pass (purge, mail) in a child process, reaped by the
 * master's waitpid; skipped while the previous one still runs. */
struct stats;
void	maint_run(const struct config *, struct stats *);
/* The same pass in the calling process (no master to reap a child). */
void	maint_run_inline(const struct config *, struct stats *);

#endif
