/* Periodic maintenance: purge dead sessions and old rate-limit records,
 * send queued mail. */
#ifndef AUTHGW_MAINT_H
#define AUTHGW_MAINT_H

struct config;
struct stats;

/*
 * One maintenance pass (purge, mail) in a child process, reaped by the
 * master's waitpid; skipped while the previous one still runs.
 */
void	maint_run(const struct config *, struct stats *);

/* The same pass in the calling process (no master to reap a child).
 * stats may be NULL. */
void	maint_run_inline(const struct config *, struct stats *);

#endif
