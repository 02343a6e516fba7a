/* Periodic maintenance: purge dead sessions and old rate-limit records,
 * send queued mail. */
#ifndef AUTHGW_MAINT_H
#define AUTHGW_MAINT_H

#include <sys/types.h>

struct config;
struct stats;

/*
 * One maintenance pass (purge, mail) in a child process; skipped while
 * the previous one is still running. The caller reaps the child and says
 * so with maint_reaped(), or lets maint_reap() do it.
 */
void	maint_run(const struct config *, struct stats *);

/* 1 while a pass started by maint_run() has not been reaped. */
int	maint_running(void);

/*
 * The caller's waitpid() returned pid with status: if that was the
 * maintenance pass, the next maint_run() may start another (a death by
 * a signal is logged). Returns 1 if it was, 0 otherwise.
 */
int	maint_reaped(pid_t pid, int status);

/* Reap the pass if it has ended, without waiting (a process that does
 * not reap its children otherwise). */
void	maint_reap(void);

/* The same pass in the calling process (the "maintenance" command, run
 * from cron for plain CGI). stats may be NULL. */
void	maint_run_inline(const struct config *, struct stats *);

#endif
