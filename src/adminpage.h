/*
 * The admin page's HTML (www/admin.html): figures, tables and the last
 * hour's chart, built from the statistics with every value escaped.
 */
#ifndef AUTHGW_ADMINPAGE_H
#define AUTHGW_ADMINPAGE_H

#include "metrics.h"
#include "stats.h"

struct app;
struct buf;
struct request;

/* Every figure of the page, the JSON and /metrics, read once. */
struct admin_view {
	struct metrics_state	 ms;
	const char		*memcached;	/* "off", "ok" or "down" */
	struct stats_point	 hist[STATS_HISTORY];
	double			 checks_rate;
	double			 hit_rate;
};

/*
 * Render the page of v for the admin admin_email into out, with the
 * sessions of the user asked for by ?email= and csrf in every form.
 * Returns 0, or -1 (template missing, out of memory).
 */
int	adminpage_render(struct app *, const struct request *,
	    const struct admin_view *v, const char *admin_email,
	    const char *csrf, struct buf *out);

#endif
