/*
 * The admin page's HTML: the template www/admin.html gets plain variables
 * (escaped by the template) and four raw parts built here (the workers'
 * and latency tables, the chart, the sessions found), in which every
 * value goes through template_escape() and only literal markup does not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adminpage.h"
#include "log.h"
#include "stats.h"
#include "template.h"
#include "util.h"

#define ADMIN_TEXT_MAX		512	/* one formatted value of the page */
#define ADMIN_VARS_MAX		64	/* template variables of the page */
#define ADMIN_VAR_TEXT		96	/* bytes of one formatted variable */

/* Chart geometry (SVG user units): plot area, one slot per minute. */
#define CHART_W			720
#define CHART_H			200
#define CHART_PLOT_W		650
#define CHART_TOP		28
#define CHART_BOTTOM		172
#define CHART_SLOT		((double)CHART_PLOT_W / STATS_HISTORY)

/* HTML under construction: the first failure is remembered. */
struct html {
	struct buf	*out;
	int		 failed;
};

static void	 html_printf(struct html *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Append literal markup (program text, never data). */
static void
html_puts(struct html *h, const char *markup)
{
	if (!h->failed && buf_puts(h->out, markup) == -1)
		h->failed = 1;
}

/* Format and append HTML-escaped: for every value that is not markup. */
static void
html_printf(struct html *h, const char *fmt, ...)
{
	char	 text[ADMIN_TEXT_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    (!h->failed && template_escape(h->out, text, (size_t)n) == -1))
		h->failed = 1;
}

enum time_fmt {
	TIME_FULL,	/* "2024-05-01 12:34:56 UTC" */
	TIME_DAY,	/* "2024-05-01 12:34" */
	TIME_HHMM	/* "12:34" */
};

/* t (unix time) as UTC text into out; "?" if it cannot be shown. */
static void
fmt_time(char *out, size_t outsz, int64_t t, enum time_fmt f)
{
	static const char *const fmts[] = {
		[TIME_FULL] = "%Y-%m-%d %H:%M:%S UTC",
		[TIME_DAY] = "%Y-%m-%d %H:%M",
		[TIME_HHMM] = "%H:%M",
	};

	(void)util_time_utc(t, fmts[f], out, outsz);
}

/* A duration for people: "3 d 4 h", "2 h 5 min", "4 min 10 s", "9 s". */
static void
fmt_duration(char *out, size_t outsz, int64_t s)
{
	int	 n;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		n = snprintf(out, outsz, "%lld d %lld h", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		n = snprintf(out, outsz, "%lld h %lld min", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		n = snprintf(out, outsz, "%lld min %lld s", (long long)(s / 60),
		    (long long)(s % 60));
	else
		n = snprintf(out, outsz, "%lld s", (long long)s);
	if (n < 0 || (size_t)n >= outsz)
		(void)util_strlcpy(out, "?", outsz);
}

/* Page variables: names with formatted text kept alongside. */
struct page_vars {
	struct tvar	 v[ADMIN_VARS_MAX];
	char		 text[ADMIN_VARS_MAX][ADMIN_VAR_TEXT];
	size_t		 n;
	int		 overflow;	/* a variable did not fit */
};

static void	 pv_printf(struct page_vars *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * A variable whose value is s (kept by the caller): escaped by the
 * template, or with raw inserted as is (HTML built here).
 */
static void
pv_str(struct page_vars *pv, const char *name, const char *s, int raw)
{
	if (pv->n >= ADMIN_VARS_MAX) {
		pv->overflow = 1;
		return;
	}
	pv->v[pv->n++] = (struct tvar){ .name = name, .value = s, .raw = raw };
}

/* A variable formatted into the table; "?" if it did not fit. */
static void
pv_printf(struct page_vars *pv, const char *name, const char *fmt, ...)
{
	va_list	 ap;
	char	*t;
	int	 n;

	if (pv->n >= ADMIN_VARS_MAX) {
		pv->overflow = 1;
		return;
	}
	t = pv->text[pv->n];
	va_start(ap, fmt);
	n = vsnprintf(t, ADMIN_VAR_TEXT, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= ADMIN_VAR_TEXT)
		(void)util_strlcpy(t, "?", ADMIN_VAR_TEXT);
	pv_str(pv, name, t, 0);
}

static void
pv_count(struct page_vars *pv, const char *name, const struct stats *st,
    enum stat_counter c)
{
	pv_printf(pv, name, "%llu", (unsigned long long)stats_get(st, c));
}

/* The counters and gauges of the page. */
static void
page_figures(struct page_vars *pv, const struct stats *st,
    const struct admin_view *v)
{
	static const enum stat_counter shown[] = {
		STAT_CHECKS, STAT_CACHE_HITS, STAT_CACHE_MISSES,
		STAT_CACHE_ERRORS, STAT_LOGINS_OK, STAT_LOGINS_FAILED,
		STAT_LOGINS_RATE_LIMITED, STAT_SESSIONS_CREATED,
		STAT_SESSIONS_EXTENDED, STAT_SESSIONS_EXPIRED, STAT_LOGOUTS,
		STAT_MAILS_QUEUED, STAT_MAILS_SENT, STAT_MAILS_FAILED,
		STAT_STORE_ERRORS, STAT_HASH_BUSY, STAT_PASSWORD_RESETS,
		STAT_TOKENS_CHECKED,
	};
	size_t	 i;

	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		pv_count(pv, stats_name(shown[i]), st, shown[i]);
	pv_printf(pv, "checks_rate", "%.2f", v->checks_rate);
	if (stats_get(st, STAT_CACHE_HITS) + stats_get(st, STAT_CACHE_MISSES))
		pv_printf(pv, "hit_rate", "%.1f %%", v->hit_rate * 100.0);
	else
		pv_str(pv, "hit_rate", "\xe2\x80\x93", 0);	/* en dash */
	if (v->ms.sessions_active >= 0)
		pv_printf(pv, "sessions_active", "%lld",
		    (long long)v->ms.sessions_active);
	else
		pv_str(pv, "sessions_active", "?", 0);
	if (v->ms.outbox >= 0)
		pv_printf(pv, "outbox", "%lld", (long long)v->ms.outbox);
	else
		pv_str(pv, "outbox", "?", 0);
	pv_str(pv, "db_name", v->shared ? "PostgreSQL" : "SQLite", 0);
	if (v->ms.users_totp >= 0)
		pv_printf(pv, "users_totp", "%lld",
		    (long long)v->ms.users_totp);
	else
		pv_str(pv, "users_totp", "?", 0);
	pv_str(pv, "sqlite", v->ms.sqlite_up ? "ok" : "error", 0);
	pv_str(pv, "sqlite_class", v->ms.sqlite_up ? "ok" : "bad", 0);
	pv_str(pv, "memcached", v->memcached, 0);
	pv_str(pv, "memcached_class", v->ms.memcached_up < 0 ? "off" :
	    v->ms.memcached_up ? "ok" : "bad", 0);
}

static void
page_times(struct page_vars *pv, const struct stats *st, int64_t now)
{
	char	 t[64];

	fmt_duration(t, sizeof(t), now - st->started);
	pv_printf(pv, "uptime", "%s", t);
	fmt_time(t, sizeof(t), st->started, TIME_FULL);
	pv_printf(pv, "started", "%s", t);
	fmt_time(t, sizeof(t), now, TIME_FULL);
	pv_printf(pv, "now", "%s", t);
}

static void
html_worker_rows(struct html *h, const struct stats *st, int n)
{
	int	 i;

	for (i = 0; i < n && i < CONFIG_WORKERS_MAX; i++) {
		html_puts(h, "<tr><td>");
		html_printf(h, "%d", i);
		html_puts(h, "</td><td class=\"num\">");
		html_printf(h, "%lld", (long long)atomic_load(&st->w[i].pid));
		html_puts(h, "</td><td class=\"num\">");
		html_printf(h, "%llu", (unsigned long long)
		    atomic_load(&st->w[i].requests));
		html_puts(h, "</td><td class=\"num\">");
		html_printf(h, "%llu", (unsigned long long)
		    atomic_load(&st->w[i].restarts));
		html_puts(h, "</td></tr>\n");
	}
	if (n <= 0)
		html_puts(h, "<tr><td colspan=\"4\">No worker processes "
		    "(one process serves)</td></tr>\n");
}

/*
 * Several hosts: this host's listener and every host seen in the last
 * minute (their heartbeat rows); nothing on one host with SQLite.
 */
static void
html_hosts(struct html *h, const struct admin_view *v, int64_t now)
{
	const struct store_host	*ho;
	char			 t[64];
	size_t			 i;

	if (!v->shared)
		return;
	html_puts(h, "<h2>Hosts <span class=\"muted\">&middot; this host's "
	    "listener: <span class=\"state ");
	html_puts(h, v->listener_up ? "ok\">ok" : "bad\">down");
	html_puts(h, "</span></span></h2>\n<div class=\"scroll\"><table>\n"
	    "<thead><tr><th>Host</th><th class=\"num\">Uptime</th>"
	    "<th class=\"num\">Checks</th><th class=\"num\">Cache hit rate"
	    "</th><th class=\"num\">Workers</th><th class=\"num\">Seen</th>"
	    "</tr></thead>\n<tbody>\n");
	for (i = 0; i < v->nhosts; i++) {
		ho = &v->hosts[i];
		html_puts(h, "<tr><td>");
		html_printf(h, "%s", ho->name);
		html_puts(h, "</td><td class=\"num\">");
		fmt_duration(t, sizeof(t), now - ho->started);
		html_printf(h, "%s", t);
		html_puts(h, "</td><td class=\"num\">");
		html_printf(h, "%lld", (long long)ho->checks);
		html_puts(h, "</td><td class=\"num\">");
		if (ho->cache_hits + ho->cache_misses > 0)
			html_printf(h, "%.1f %%", 100.0 * stats_hit_rate(
			    (uint64_t)ho->cache_hits,
			    (uint64_t)ho->cache_misses));
		else
			html_puts(h, "&ndash;");
		html_puts(h, "</td><td class=\"num\">");
		html_printf(h, "%lld", (long long)ho->workers);
		html_puts(h, "</td><td class=\"num\">");
		fmt_duration(t, sizeof(t), now - ho->seen);
		html_printf(h, "%s ago", t);
		html_puts(h, "</td></tr>\n");
	}
	if (!v->hosts_known)
		html_puts(h, "<tr><td colspan=\"6\">Unknown: the database "
		    "cannot be read.</td></tr>\n");
	else if (v->nhosts == 0)
		html_puts(h, "<tr><td colspan=\"6\">No host seen in the last "
		    "minute.</td></tr>\n");
	html_puts(h, "</tbody>\n</table></div>\n");
}

/* "50 µs", "1.6 ms" for a latency bound in microseconds. */
static void
fmt_usec(char *out, size_t outsz, uint64_t usec)
{
	int	 n;

	if (usec < 1000)
		n = snprintf(out, outsz, "%llu \xc2\xb5s",
		    (unsigned long long)usec);
	else
		n = snprintf(out, outsz, "%llu.%llu ms",
		    (unsigned long long)(usec / 1000),
		    (unsigned long long)(usec % 1000 / 100));
	if (n < 0 || (size_t)n >= outsz)
		(void)util_strlcpy(out, "?", outsz);
}

static void
html_latency_rows(struct html *h, const uint64_t *c, uint64_t total,
    uint64_t max)
{
	char	 t[32];
	size_t	 i;

	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++) {
		html_puts(h, "<tr><th scope=\"row\">");
		html_puts(h, i < STATS_LATENCY_BUCKETS ? "&le; " : "&gt; ");
		fmt_usec(t, sizeof(t), stats_latency_bounds[
		    i < STATS_LATENCY_BUCKETS ? i : STATS_LATENCY_BUCKETS - 1]);
		html_printf(h, "%s", t);
		html_puts(h, "</th><td class=\"num\">");
		html_printf(h, "%llu", (unsigned long long)c[i]);
		html_puts(h, "</td><td class=\"num\">");
		html_printf(h, "%.1f %%", total ? 100.0 * (double)c[i] /
		    (double)total : 0.0);
		html_puts(h, "</td><td class=\"barcell\">");
		if (c[i] > 0) {
			html_puts(h, "<span class=\"bar\" style=\"width:");
			html_printf(h, "%.1f%%", 100.0 * (double)c[i] /
			    (double)max);
			html_puts(h, "\"></span>");
		}
		html_puts(h, "</td></tr>\n");
	}
}

/* The bucket bound 95 % of the checks stayed within, for people. */
static void
page_latency_p95(struct page_vars *pv, const uint64_t *c, uint64_t total)
{
	char		 t[32];
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i < STATS_LATENCY_BUCKETS && total > 0; i++) {
		cum += c[i];
		if ((double)cum >= 0.95 * (double)total)
			break;
	}
	if (total == 0) {
		pv_str(pv, "latency_p95", "no checks yet", 0);
		return;
	}
	fmt_usec(t, sizeof(t), stats_latency_bounds[
	    i < STATS_LATENCY_BUCKETS ? i : STATS_LATENCY_BUCKETS - 1]);
	pv_printf(pv, "latency_p95", "95 %% %s %s",
	    i < STATS_LATENCY_BUCKETS ? "within" : "over", t);
}

/* The latency table rows and the count and mean variables. */
static void
page_latency(struct page_vars *pv, struct html *h, const struct stats *st)
{
	uint64_t	 c[STATS_LATENCY_BUCKETS + 1], total = 0, max = 0;
	uint64_t	 sum = atomic_load(&st->check_latency_sum_usec);
	size_t		 i;

	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++) {
		c[i] = atomic_load(&st->check_latency[i]);
		total += c[i];
		if (c[i] > max)
			max = c[i];
	}
	html_latency_rows(h, c, total, max);
	page_latency_p95(pv, c, total);
	pv_printf(pv, "latency_count", "%llu", (unsigned long long)total);
	if (total == 0)
		pv_str(pv, "latency_mean", "\xe2\x80\x93", 0);
	else if (sum / total < 1000)
		pv_printf(pv, "latency_mean", "%llu \xc2\xb5s",
		    (unsigned long long)(sum / total));
	else
		pv_printf(pv, "latency_mean", "%.1f ms",
		    (double)sum / (double)total / 1000.0);
}

/* Append ` name="v"` (v a coordinate) to an SVG element. */
static void
svg_attr(struct html *h, const char *name, double v)
{
	html_puts(h, " ");
	html_puts(h, name);
	html_puts(h, "=\"");
	html_printf(h, "%.1f", v);
	html_puts(h, "\"");
}

/* A text label at (x, y); class may be NULL. */
static void
svg_text(struct html *h, double x, double y, const char *cls,
    const char *text)
{
	html_puts(h, cls != NULL ? "<text class=\"" : "<text");
	if (cls != NULL) {
		html_puts(h, cls);
		html_puts(h, "\"");
	}
	svg_attr(h, "x", x);
	svg_attr(h, "y", y);
	html_puts(h, ">");
	html_printf(h, "%s", text);
	html_puts(h, "</text>\n");
}

/* One minute's bar, with a tooltip. */
static void
chart_bar(struct html *h, const struct stats_point *p, size_t k,
    uint64_t max)
{
	uint64_t	 n = p->v[SERIES_CHECKS];
	uint64_t	 lookups = p->v[SERIES_CACHE_HITS] +
			    p->v[SERIES_CACHE_MISSES];
	double		 hgt;
	char		 hhmm[16];

	hgt = (double)n / (double)max * (CHART_BOTTOM - CHART_TOP);
	if (hgt < 1.5)
		hgt = 1.5;
	fmt_time(hhmm, sizeof(hhmm), p->minute * 60, TIME_HHMM);
	html_puts(h, p->partial ? "<rect class=\"col partial\"" :
	    "<rect class=\"col\"");
	svg_attr(h, "x", (double)k * CHART_SLOT + 1.5);
	svg_attr(h, "y", CHART_BOTTOM - hgt);
	svg_attr(h, "width", CHART_SLOT - 3.0);
	svg_attr(h, "height", hgt);
	html_puts(h, "><title>");
	html_printf(h, "%s UTC: %llu checks", hhmm, (unsigned long long)n);
	if (lookups > 0)
		html_printf(h, ", cache hit rate %.1f %%", 100.0 *
		    (double)p->v[SERIES_CACHE_HITS] / (double)lookups);
	html_puts(h, "</title></rect>\n");
}

/* The hit rate of minute k as a point of the line; 0 if it had no
 * cache lookups. */
static int
chart_rate_point(const struct stats_point *p, size_t k, double *x, double *y)
{
	uint64_t	 hits = p->v[SERIES_CACHE_HITS];
	uint64_t	 lookups = hits + p->v[SERIES_CACHE_MISSES];

	if (!p->valid || lookups == 0)
		return 0;
	*x = ((double)k + 0.5) * CHART_SLOT;
	*y = CHART_BOTTOM - (double)hits / (double)lookups *
	    (CHART_BOTTOM - CHART_TOP);
	return 1;
}

/* The hit rate as lines over the minutes that had lookups, a dot each. */
static void
chart_rate(struct html *h, const struct stats_point *pts)
{
	double	 x, y;
	size_t	 k, run = 0;

	for (k = 0; k < STATS_HISTORY; k++) {
		if (!chart_rate_point(&pts[k], k, &x, &y)) {
			if (run > 0)
				html_puts(h, "\"/>\n");
			run = 0;
			continue;
		}
		html_puts(h, run == 0 ? "<polyline class=\"rate\" points=\"" :
		    " ");
		html_printf(h, "%.1f,%.1f", x, y);
		run++;
	}
	if (run > 0)
		html_puts(h, "\"/>\n");
	for (k = 0; k < STATS_HISTORY; k++) {
		if (!chart_rate_point(&pts[k], k, &x, &y))
			continue;
		html_puts(h, "<circle class=\"dot\" r=\"2.5\"");
		svg_attr(h, "cx", x);
		svg_attr(h, "cy", y);
		html_puts(h, "/>\n");
	}
}

/* The axes: grid lines at 0, 50 and 100 % with labels, the time axis. */
static void
chart_axes(struct html *h, uint64_t max)
{
	static const char *const pct[] = { "0 %", "50 %", "100 %" };
	char		 top[32];
	double		 y;
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
		y = CHART_BOTTOM - (double)i / 2.0 * (CHART_BOTTOM - CHART_TOP);
		html_puts(h, "<line class=\"grid\" x1=\"0\"");
		svg_attr(h, "x2", CHART_PLOT_W);
		svg_attr(h, "y1", y);
		svg_attr(h, "y2", y);
		html_puts(h, "/>\n");
		svg_text(h, CHART_W - 2, y + 4.0, "end", pct[i]);
	}
	n = snprintf(top, sizeof(top), "%llu / min", (unsigned long long)max);
	if (n > 0 && (size_t)n < sizeof(top) && max > 0)
		svg_text(h, 0, CHART_TOP - 8, NULL, top);
	svg_text(h, 0, CHART_H - 8, NULL, "60 min ago");
	svg_text(h, CHART_PLOT_W / 2.0, CHART_H - 8, "mid", "30 min");
	svg_text(h, CHART_PLOT_W, CHART_H - 8, "end", "now");
}

/*
 * The last hour as an inline SVG: checks per minute as bars (scaled to
 * the busiest minute), the cache hit rate as a line over 0..100 %.
 */
static void
html_chart(struct html *h, const struct stats_point *pts, uint64_t *maxp)
{
	uint64_t	 max = 0;
	size_t		 k;

	for (k = 0; k < STATS_HISTORY; k++)
		if (pts[k].valid && pts[k].v[SERIES_CHECKS] > max)
			max = pts[k].v[SERIES_CHECKS];
	*maxp = max;
	html_puts(h, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 ");
	html_printf(h, "%d %d", CHART_W, CHART_H);
	html_puts(h, "\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>Checks "
	    "per minute and cache hit rate over the last hour</title>\n");
	chart_axes(h, max);
	for (k = 0; k < STATS_HISTORY && max > 0; k++)
		if (pts[k].valid && pts[k].v[SERIES_CHECKS] > 0)
			chart_bar(h, &pts[k], k, max);
	chart_rate(h, pts);
	if (max == 0)
		svg_text(h, CHART_PLOT_W / 2.0, CHART_TOP + 60, "mid",
		    "no checks in the last hour");
	html_puts(h, "</svg>");
}

/* The rows of the sessions found: form state and where they go. */
struct search_html {
	struct html		*h;
	const char		*prefix;
	const char		*csrf;
};

static void
html_session_row(struct search_html *s, const struct session *se)
{
	char	 t[3][64];

	fmt_time(t[0], sizeof(t[0]), se->created, TIME_DAY);
	fmt_time(t[1], sizeof(t[1]), se->last_seen, TIME_DAY);
	fmt_time(t[2], sizeof(t[2]), se->expires, TIME_DAY);
	html_puts(s->h, "<tr><td class=\"mono\">");
	html_printf(s->h, "%s", se->public_id);
	html_puts(s->h, "</td><td class=\"nowrap\">");
	html_printf(s->h, "%s", t[0]);
	html_puts(s->h, "</td><td class=\"nowrap\">");
	html_printf(s->h, "%s", t[1]);
	html_puts(s->h, "</td><td class=\"nowrap\">");
	html_printf(s->h, "%s", t[2]);
	html_puts(s->h, "</td><td class=\"mono\">");
	html_printf(s->h, "%s", se->ip);
	html_puts(s->h, "</td><td class=\"ua\">");
	html_printf(s->h, "%s", se->user_agent);
	html_puts(s->h, "</td><td class=\"nowrap\"><form method=\"post\" "
	    "action=\"");
	html_printf(s->h, "%s/admin/sessions/revoke", s->prefix);
	html_puts(s->h, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	html_printf(s->h, "%s", s->csrf);
	html_puts(s->h, "\"><input type=\"hidden\" name=\"id\" value=\"");
	html_printf(s->h, "%s", se->public_id);
	html_puts(s->h, "\"><button type=\"submit\" class=\"small danger\">"
	    "Revoke</button></form></td></tr>\n");
}

/* The "revoke every session of this user" form. */
static void
html_revoke_all(struct search_html *s, const char *email)
{
	html_puts(s->h, "<form method=\"post\" action=\"");
	html_printf(s->h, "%s/admin/sessions/revoke", s->prefix);
	html_puts(s->h, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	html_printf(s->h, "%s", s->csrf);
	html_puts(s->h, "\"><input type=\"hidden\" name=\"user\" value=\"");
	html_printf(s->h, "%s", email);
	html_puts(s->h, "\"><button type=\"submit\" class=\"small danger\">"
	    "Revoke all sessions of ");
	html_printf(s->h, "%s", email);
	html_puts(s->h, "</button></form>\n");
}

/* A note (plain text) on the search into note. */
static void
search_note(const struct admin_search *r, char *note, size_t notesz)
{
	const struct user	*u = &r->user;
	int			 n;

	note[0] = '\0';
	switch (r->state) {
	case ADMIN_SEARCH_NONE:
		return;
	case ADMIN_SEARCH_BAD_EMAIL:
		(void)util_strlcpy(note, "That is not a valid email address.",
		    notesz);
		return;
	case ADMIN_SEARCH_NOT_FOUND:
		(void)util_strlcpy(note, "No user has this address.", notesz);
		return;
	case ADMIN_SEARCH_ERROR:
		(void)util_strlcpy(note, "The database is unusable.", notesz);
		return;
	case ADMIN_SEARCH_FOUND:
		break;
	}
	n = snprintf(note, notesz, "%zu live session%s of %s (role %s%s%s)%s",
	    r->n, r->n == 1 ? "" : "s", u->email, u->role,
	    u->verified ? "" : ", not verified", u->disabled ? ", disabled" : "",
	    r->n >= ADMIN_SESSIONS_MAX ? ": the newest shown." : ".");
	if (n < 0 || (size_t)n >= notesz)
		note[0] = '\0';
}

/* The table of the sessions found (nothing unless a user was found). */
static void
page_search(struct search_html *s, const struct admin_search *r)
{
	size_t	 i;

	if (r->state != ADMIN_SEARCH_FOUND)
		return;
	html_puts(s->h, "<div class=\"scroll\"><table class=\"sessions\">\n"
	    "<thead><tr><th>Id</th>"
	    "<th>Created (UTC)</th><th>Last seen</th><th>Expires</th><th>IP</th>"
	    "<th>User agent</th><th><span class=\"sr\">Action</span></th>"
	    "</tr></thead>\n<tbody>\n");
	for (i = 0; i < r->n; i++)
		html_session_row(s, &r->sessions[i]);
	if (r->n == 0)
		html_puts(s->h, "<tr><td colspan=\"7\">No live sessions."
		    "</td></tr>\n");
	html_puts(s->h, "</tbody>\n</table></div>\n");
	if (r->n > 0)
		html_revoke_all(s, r->user.email);
}

/* The raw parts of the page, built before the template is expanded. */
enum page_part { PART_WORKERS, PART_LATENCY, PART_CHART, PART_SESSIONS,
	PART_HOSTS, PART__COUNT };

static int
page_parts(const struct adminpage_ctx *c, const struct admin_view *v,
    const struct admin_search *r, struct page_vars *pv, struct buf *parts,
    char *note, size_t notesz)
{
	static const char *const names[PART__COUNT] = {
		"workers", "latency", "chart", "sessions", "hosts",
	};
	struct html		 h[PART__COUNT];
	struct search_html	 s;
	uint64_t		 chart_max;
	size_t			 i;

	for (i = 0; i < PART__COUNT; i++)
		h[i] = (struct html){ &parts[i], 0 };
	html_worker_rows(&h[PART_WORKERS], c->stats, v->ms.workers);
	html_hosts(&h[PART_HOSTS], v, c->now);
	page_latency(pv, &h[PART_LATENCY], c->stats);
	html_chart(&h[PART_CHART], v->hist, &chart_max);
	pv_printf(pv, "chart_max", "%llu", (unsigned long long)chart_max);
	s = (struct search_html){ &h[PART_SESSIONS], c->prefix, c->csrf };
	page_search(&s, r);
	search_note(r, note, notesz);
	pv_str(pv, "search_note", note, 0);
	for (i = 0; i < PART__COUNT; i++) {
		if (h[i].failed)
			return -1;
		pv_str(pv, names[i], parts[i].data, 1);
	}
	return 0;
}

/* The page's plain variables: user, links and the token. */
static void
page_identity(struct page_vars *pv, const struct adminpage_ctx *c)
{
	pv_str(pv, "prefix", c->prefix, 0);
	pv_str(pv, "csrf", c->csrf, 0);
	pv_str(pv, "admin_email", c->admin_email, 0);
	pv_str(pv, "query_email", c->query_email, 0);
}

int
adminpage_render(const struct adminpage_ctx *c, const struct admin_view *v,
    const struct admin_search *r, struct buf *out)
{
	char			 note[ADMIN_TEXT_MAX];
	struct page_vars	 pv;
	struct buf		 parts[PART__COUNT];
	size_t			 i;
	int			 rc;

	memset(&pv, 0, sizeof(pv));
	memset(parts, 0, sizeof(parts));
	rc = page_parts(c, v, r, &pv, parts, note, sizeof(note));
	page_figures(&pv, c->stats, v);
	page_times(&pv, c->stats, c->now);
	page_identity(&pv, c);
	if (pv.overflow)
		rc = -1;
	if (rc == 0 && template_render(c->www_dir, "admin.html", pv.v,
	    pv.n, out) == -1) {
		log_error("cannot render %s/admin.html", c->www_dir);
		rc = -1;
	}
	for (i = 0; i < PART__COUNT; i++)
		buf_free(&parts[i]);
	return rc;
}
