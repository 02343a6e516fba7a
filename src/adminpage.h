/*
 * The admin page's HTML (www/admin.html): figures, tables and the last
 * hour's chart, built from the statistics with every value escaped.
 */
#ifndef AUTHGW_ADMINPAGE_H
#define AUTHGW_ADMINPAGE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "stats.h"
#include "store.h"

#define ADMIN_SESSIONS_MAX	100	/* sessions listed on the page */
#define ADMIN_HOSTS_MAX		64	/* hosts listed (several hosts) */
#define ADMIN_HOSTS_SEEN	60	/* seconds: a host seen since is listed */

struct buf;

/* Every figure of the page, the JSON and /metrics, read once. */
struct admin_view {
	struct metrics_state	 ms;
	const char		*memcached;	/* "off", "ok" or "down" */
	/* Several hosts (PostgreSQL, SPEC 8): the authority's name on the
	 * page, this host's listener, and every host seen in the last
	 * minute by its heartbeat row (hosts_known 0: could not be read). */
	int			 shared;
	int			 listener_up;
	int			 hosts_known;
	struct store_host	 hosts[ADMIN_HOSTS_MAX];
	size_t			 nhosts;
	struct stats_point	 hist[STATS_HISTORY];
	double			 checks_rate;
	double			 hit_rate;
};

/* The search of a user's live sessions (?email= on the page). */
enum admin_search_state {
	ADMIN_SEARCH_NONE = 0,		/* nothing asked for */
	ADMIN_SEARCH_BAD_EMAIL,
	ADMIN_SEARCH_NOT_FOUND,
	ADMIN_SEARCH_ERROR,		/* the database is unusable */
	ADMIN_SEARCH_FOUND
};

struct admin_search {
	enum admin_search_state	 state;
	struct user		 user;		/* FOUND: pwhash left empty */
	struct session		*sessions;	/* FOUND: the newest live ones */
	size_t			 n;		/* at most ADMIN_SESSIONS_MAX */
};

/* What the page shows beside the figures: who, where, what was asked. */
struct adminpage_ctx {
	const char		*www_dir;
	const char		*prefix;
	const char		*admin_email;
	const char		*csrf;		/* in every form */
	const char		*query_email;	/* ?email= as given, or NULL */
	const struct stats	*stats;
	int64_t			 now;
};

/*
 * Render the page of v and search s into out. Returns 0, or -1 (template
 * missing, out of memory).
 */
int	adminpage_render(const struct adminpage_ctx *,
	    const struct admin_view *v, const struct admin_search *s,
	    struct buf *out);

#endif
