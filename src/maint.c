/* Periodic maintenance: purge dead sessions, old rate-limit records,
 * expired reset links and old sign-in records, send queued mail. The master (or a worker without one) runs it in a
 * child process each tick, so a slow mail command never delays it. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mail.h"
#include "maint.h"
#include "signals.h"
#include "stats.h"
#include "store.h"
#include "util.h"

static volatile sig_atomic_t	maint_stop;
static pid_t			maint_pid;	/* the pass in flight, 0: none */

static void
on_maint_signal(int sig)
{
	(void)sig;
	maint_stop = 1;
}

void
maint_run_inline(const struct config *cfg, struct stats *stats)
{
	struct store	*st;
	char		 err[512];
	int64_t		 n = 0;

	/* Opened and closed each pass, so no connection crosses a fork. */
	if ((st = store_open(cfg->database, 0, err, sizeof(err))) == NULL) {
		log_error("maintenance: %s", err);
		return;
	}
	if (store_attempts_purge(st, util_now() - cfg->login_window, &n) ==
	    STORE_OK && n > 0)
		log_debug("maintenance: purged %lld attempt records",
		    (long long)n);
	n = 0;
	if (store_session_purge(st, util_now(), &n) == STORE_OK && n > 0) {
		log_info("maintenance: purged %lld expired sessions",
		    (long long)n);
		stats_add(stats, STAT_SESSIONS_EXPIRED, (uint64_t)n);
	}
	n = 0;
	if (store_reset_purge(st, util_now(), &n) == STORE_OK && n > 0)
		log_debug("maintenance: purged %lld expired reset links",
		    (long long)n);
	n = 0;
	/* Expired API tokens stay listed (as expired) for 30 days. */
	if (store_token_purge(st, util_now() - 30 * 86400, &n) == STORE_OK &&
	    n > 0)
		log_debug("maintenance: purged %lld expired API tokens",
		    (long long)n);
	n = 0;
	if (store_totp_purge(st, util_now(), &n) == STORE_OK && n > 0)
		log_debug("maintenance: purged %lld used pending logins",
		    (long long)n);
	n = 0;
	/* notify_login's records: 90 days (each user's newest stays). */
	if (store_login_seen_purge(st, util_now() - 90 * 86400, &n) ==
	    STORE_OK && n > 0)
		log_debug("maintenance: purged %lld old sign-in records",
		    (long long)n);
	mail_send_pending(cfg, st, stats, &maint_stop);
	store_close(st);
}

int
maint_running(void)
{
	return maint_pid > 0;
}

/*
 * The pass in flight is known by its pid until its parent reaps it, and a
 * pid cannot be reused before that: so, unlike a kill(pid, 0) probe, a
 * process that later takes the same pid is never mistaken for it.
 */
void
maint_run(const struct config *cfg, struct stats *stats)
{
	sigset_t		 none;
	pid_t			 pid;

	/* One pass at a time: a slow mail command delays the next. */
	if (maint_pid > 0)
		return;
	if ((pid = fork()) == -1) {
		log_error("maintenance: fork: %s", strerror(errno));
		return;
	}
	if (pid > 0) {
		maint_pid = pid;	/* until maint_reaped() */
		return;
	}
	sigemptyset(&none);
	signals_child(on_maint_signal, &none);	/* finish the mail */
	maint_run_inline(cfg, stats);
	_exit(0);
}

int
maint_reaped(pid_t pid, int status)
{
	if (pid <= 0 || pid != maint_pid)
		return 0;
	maint_pid = 0;
	if (WIFSIGNALED(status))
		log_warn("maintenance pass (pid %ld) killed by signal %d",
		    (long)pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warn("maintenance pass (pid %ld) exited with %d",
		    (long)pid, WEXITSTATUS(status));
	return 1;
}

void
maint_reap(void)
{
	pid_t	 pid;
	int	 status;

	if (maint_pid <= 0)
		return;
	if ((pid = waitpid(maint_pid, &status, WNOHANG)) == maint_pid)
		(void)maint_reaped(pid, status);
	else if (pid == -1 && errno == ECHILD)
		maint_pid = 0;	/* reaped by the system (SIGCHLD ignored) */
}
