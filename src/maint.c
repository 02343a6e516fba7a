/* Periodic maintenance, run by the master: purge dead sessions and old
 * rate-limit records. */
#include "config.h"
#include "log.h"
#include "master.h"
#include "stats.h"
#include "store.h"
#include "util.h"

void
maint_run(const struct config *cfg, struct stats *stats)
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
	store_close(st);
}
