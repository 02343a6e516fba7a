/* Signal masks and handlers shared by the process roles (master, worker,
 * maintenance child, plain CGI). Handlers only ever set flags. */
#ifndef AUTHGW_SIGNALS_H
#define AUTHGW_SIGNALS_H

#include <signal.h>

/*
 * Block the signals the master handles (SIGCHLD, SIGTERM, SIGINT, SIGHUP,
 * SIGALRM), so that one arriving before the handlers are in place waits
 * instead of killing the process. Call before binding the socket. The mask
 * in force before the first call is kept for signals_saved_mask().
 */
void	signals_block(void);

/* Undo signals_block() (plain CGI: the web server may kill us). */
void	signals_unblock(void);

/* The mask from before signals_block(), or the current one if not blocked. */
void	signals_saved_mask(sigset_t *out);

/*
 * In a child of the master: on_stop for SIGTERM and SIGINT (without
 * SA_RESTART), SIGHUP ignored, SIGCHLD and SIGALRM default, then mask.
 */
void	signals_child(void (*on_stop)(int), const sigset_t *mask);

#endif
