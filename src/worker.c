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
#include "cache.h"
#include "config.h"
#include "fcgi.h"
#include "maint.h"
#include "signals.h"
#include "stats.h"
#include "store.h"
#include "util.h"
#include "worker.h"

/* Between requests of a worker without a master. */
struct worker_tick {
	const struct config	*cfg;
	struct stats		*stats;
	struct app		*app;
	int64_t			 next_ms;	/* monotonic: the next pass */
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
	/* With several hosts memcached must answer while the authority is
	 * down (SPEC 8): its tag key comes from the authority, so take it
	 * now, while it can be had. */
	if (config_database_is_pg(cfg->database))
		cache_warm(app_cache(&app));
	rc = fcgi_serve(&app, fd, cfg->io_timeout, NULL, NULL);
	app_free(&app);
	_exit(rc == 0 ? 0 : 1);
}

/*
 * The idle callback of a worker without a master: reap the last
 * maintenance pass without waiting, and start the next in a child when
 * due (skipped while the last one runs), so that a hanging mail command
 * never holds the only worker. Returns the milliseconds to the next.
 */
static int
worker_tick(void *arg)
{
	struct worker_tick	*t = arg;
	int64_t			 now = util_mono_usec() / 1000;

	maint_reap();
	if (now >= t->next_ms) {
		if (!maint_running()) {
			/* No SQLite connection may cross the fork; the next
			 * request opens the store again. */
			store_close(t->app->store);
			t->app->store = NULL;
			maint_run(t->cfg, t->stats);
		}
		t->next_ms = now + t->cfg->maintenance_interval * 1000;
	}
	return (int)(t->next_ms - now);
}

int
worker_serve_single(const struct config *cfg, struct stats *stats, int fd)
{
	struct sigaction	 sa;
	struct worker_tick	 tick;
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
	sa.sa_handler = SIG_DFL;	/* not SIG_IGN: maint_reap() waits */
	sigaction(SIGCHLD, &sa, NULL);
	signals_unblock();
	app_init(&app, cfg, stats, 0);
	tick.cfg = cfg;
	tick.stats = stats;
	tick.app = &app;
	tick.next_ms = 0;	/* a first pass at once */
	rc = fcgi_serve(&app, fd, cfg->io_timeout, worker_tick, &tick);
	app_free(&app);
	return rc == 0 ? 0 : 1;
}
