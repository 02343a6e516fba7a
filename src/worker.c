/* A worker process: its signals, its serving loop, and the maintenance it
 * runs between requests when there is no master. */
#include <sys/types.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "fcgi.h"
#include "maint.h"
#include "signals.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

/* Between requests of a worker without a master. */
struct worker_tick {
	const struct config	*cfg;
	struct stats		*stats;
	int64_t			 next_maint;
};

static void
on_worker_signal(int sig)
{
	(void)sig;
	fcgi_stop = 1;
}

void
worker_main(const struct config *cfg, struct stats *stats, int slot, int fd,
    const sigset_t *mask, pid_t master_pid)
{
	struct app		 app;
	int			 rc;

	signals_child(on_worker_signal, mask);

#ifdef __linux__
	/* A master killed with SIGKILL takes its workers with it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	if (getppid() != master_pid)
		_exit(0);
	atomic_store(&stats->w[slot].pid, (int64_t)getpid());
	app_init(&app, cfg, stats, slot);
	rc = fcgi_serve(&app, fd, NULL, NULL);
	app_free(&app);
	_exit(rc == 0 ? 0 : 1);
}

/* The idle callback of a worker without a master: maintenance when due. */
static void
worker_tick(void *arg)
{
	struct worker_tick	*t = arg;
	int64_t			 now = util_now();

	if (now < t->next_maint)
		return;
	maint_run_inline(t->cfg, t->stats);
	t->next_maint = now + t->cfg->maintenance_interval;
}

int
worker_serve_single(const struct config *cfg, struct stats *stats, int fd)
{
	struct sigaction	 sa;
	struct worker_tick	 tick = { cfg, stats, 0 };
	struct app		 app;
	int			 rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_worker_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signals_unblock();
	maint_run_inline(cfg, stats);
	app_init(&app, cfg, stats, 0);
	rc = fcgi_serve(&app, fd, worker_tick, &tick);
	app_free(&app);
	return rc == 0 ? 0 : 1;
}
