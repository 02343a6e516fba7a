/*
 * The listener (SPEC 8; doc/design.md "Several hosts"): with PostgreSQL,
 * one process per host, forked and supervised by the master, holds a
 * connection of its own that LISTENs for the authority's invalidation
 * notices and applies each to this host's table. It beats in the table
 * while it hears (shmcache_listener_beat): a host whose listener is down,
 * hung or reconnecting does not trust its table, and after a reconnection
 * the listener LISTENs first and then forgets everything the table held
 * (notices sent meanwhile were lost). It also writes this host's
 * heartbeat row for /admin's table of hosts.
 */
#ifndef AUTHGW_LISTENER_H
#define AUTHGW_LISTENER_H

#include <sys/types.h>

#include <stdint.h>

struct config;
struct stats;

/* 1 when cfg needs a listener (a PostgreSQL database). */
int	listener_wanted(const struct config *);

/*
 * The master's side: start the listener when it is wanted, not running
 * and its back-off (after a quick death) has run out. now_ms is the
 * master's monotonic clock; listener_next_ms says when to call again (0:
 * nothing pending).
 */
void	listener_start(const struct config *, struct stats *, int64_t now_ms);
int64_t	listener_next_ms(void);
/* 1 (and the state updated) if pid was the listener. */
int	listener_reaped(pid_t pid, int status, int64_t now_ms);
/* Signal the listener (SIGTERM: end; a reload ends it, and it starts
 * again with the new configuration). */
void	listener_signal(int sig);
int	listener_running(void);

/* The listener process itself, until SIGTERM; for tests too. */
void	listener_main(const struct config *, struct stats *)
	    __attribute__((noreturn));

#endif
