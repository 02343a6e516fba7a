/*
 * The statistics for machines: the metrics_allow list and the Prometheus
 * text exposition format 0.0.4 (one HELP and one TYPE line per family,
 * before its samples; histogram buckets cumulative up to le="+Inf").
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L		/* inet_pton */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"
#include "stats.h"
#include "util.h"

#define METRICS_PREFIX	"authgw_"

static const char *const counter_help[STAT__COUNT] = {
	[STAT_CHECKS] = "Session checks answered.",
	[STAT_CACHE_HITS] = "Session checks answered from the cache.",
	[STAT_CACHE_MISSES] = "Session checks that missed the cache.",
	[STAT_CACHE_ERRORS] = "Cache operations that failed.",
	[STAT_LOGINS_OK] = "Successful logins.",
	[STAT_LOGINS_FAILED] = "Refused logins (bad credentials, unverified).",
	[STAT_LOGINS_RATE_LIMITED] = "Logins refused by the rate limit.",
	[STAT_HASH_BUSY] = "Requests refused 503: no password-hashing slot.",
	[STAT_SESSIONS_CREATED] = "Sessions created.",
	[STAT_SESSIONS_EXTENDED] = "Sessions renewed by extension.",
	[STAT_SESSIONS_EXPIRED] = "Expired sessions purged.",
	[STAT_LOGOUTS] = "Sessions ended by logout or revocation.",
	[STAT_MAILS_QUEUED] = "Mails put in the outbox.",
	[STAT_MAILS_SENT] = "Mails handed to the mail command.",
	[STAT_MAILS_FAILED] = "Failed attempts to send a mail.",
	[STAT_STORE_ERRORS] = "SQLite operations that failed.",
	[STAT_PASSWORD_RESETS] = "Passwords set by a reset link.",
	[STAT_TOKENS_CHECKED] = "Checks of an API token.",
};

/* Fold an IPv4-mapped IPv6 address (::ffff:a.b.c.d) to IPv4. */
static void
addr_fold(struct metrics_addr *a)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (a->family != AF_INET6 || memcmp(a->a, mapped, 12) != 0)
		return;
	memmove(a->a, a->a + 12, 4);
	memset(a->a + 4, 0, 12);
	a->family = AF_INET;
}

int
metrics_addr_parse(const char *p, size_t len, struct metrics_addr *out)
{
	char	 text[METRICS_ADDR_MAX + 1];

	if (len == 0 || len > METRICS_ADDR_MAX || memchr(p, '\0', len) != NULL)
		return -1;
	memcpy(text, p, len);
	text[len] = '\0';
	memset(out, 0, sizeof(*out));
	out->family = memchr(text, ':', len) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, text, out->a) != 1)
		return -1;
	addr_fold(out);
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
metrics_allow_parse(const char *list, struct metrics_addr *out, size_t max)
{
	const char	*p = list, *end, *comma;
	size_t		 n = 0, len;

	if (list[0] == '\0')
		return 0;
	end = list + strlen(list);
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		len = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);
		while (len > 0 && is_blank(*p)) {
			p++;
			len--;
		}
		while (len > 0 && is_blank(p[len - 1]))
			len--;
		if (n == max || metrics_addr_parse(p, len, &out[n]) == -1)
			return -1;
		n++;
		if (comma == NULL)
			return (int)n;
		p = comma + 1;
	}
}

int
metrics_allowed(const char *list, const char *addr)
{
	struct metrics_addr	 allow[METRICS_ALLOW_MAX], a;
	int			 i, n;

	if ((n = metrics_allow_parse(list, allow, METRICS_ALLOW_MAX)) == -1)
		return -1;
	if (metrics_addr_parse(addr, strlen(addr), &a) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (allow[i].family == a.family &&
		    memcmp(allow[i].a, a.a, sizeof(a.a)) == 0)
			return 1;
	return 0;
}

int
metrics_usec_seconds(struct buf *out, uint64_t usec)
{
	char	 frac[8];
	int	 i;

	if (usec % 1000000 == 0)
		return buf_printf(out, "%llu",
		    (unsigned long long)(usec / 1000000));
	for (i = 5; i >= 0; i--) {
		frac[i] = (char)('0' + usec % 10);
		usec /= 10;
	}
	frac[6] = '\0';
	for (i = 5; i > 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	return buf_printf(out, "%llu.%s", (unsigned long long)usec, frac);
}

/* The "# HELP" and "# TYPE" lines of a family. */
static int
family(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP " METRICS_PREFIX "%s %s\n"
	    "# TYPE " METRICS_PREFIX "%s %s\n", name, help, name, type);
}

/* A family of one unlabelled sample with an integer value. */
static int
single(struct buf *out, const char *name, const char *type, const char *help,
    int64_t v)
{
	if (family(out, name, type, help) == -1)
		return -1;
	return buf_printf(out, METRICS_PREFIX "%s %lld\n", name, (long long)v);
}

static int
write_counters(struct buf *out, const struct stats *st)
{
	char	 name[64];
	size_t	 i;
	int	 n;

	for (i = 0; i < STAT__COUNT; i++) {
		n = snprintf(name, sizeof(name), "%s_total",
		    stats_name((enum stat_counter)i));
		if (n < 0 || (size_t)n >= sizeof(name))
			return -1;
		if (family(out, name, "counter", counter_help[i]) == -1 ||
		    buf_printf(out, METRICS_PREFIX "%s %llu\n", name,
		    (unsigned long long)stats_get(st,
		    (enum stat_counter)i)) == -1)
			return -1;
	}
	return 0;
}

static int
write_gauges(struct buf *out, const struct stats *st,
    const struct metrics_state *ms)
{
	double	 rate;

	rate = stats_hit_rate(stats_get(st, STAT_CACHE_HITS),
	    stats_get(st, STAT_CACHE_MISSES));
	if (single(out, "uptime_seconds", "gauge", "Seconds since the master "
	    "started.", ms->now - st->started) == -1 ||
	    single(out, "sqlite_up", "gauge", "1 if SQLite answers, else 0.",
	    ms->sqlite_up) == -1 ||
	    family(out, "cache_hit_rate", "gauge", "cache_hits / (cache_hits "
	    "+ cache_misses) since the counters were reset.") == -1 ||
	    buf_printf(out, METRICS_PREFIX "cache_hit_rate %.6f\n", rate) == -1)
		return -1;
	if (ms->memcached_up >= 0 && single(out, "memcached_up", "gauge",
	    "1 if memcached is reachable, else 0.", ms->memcached_up) == -1)
		return -1;
	if (ms->sessions_active >= 0 && single(out, "sessions_active", "gauge",
	    "Live sessions in SQLite.", ms->sessions_active) == -1)
		return -1;
	if (ms->outbox >= 0 && single(out, "outbox", "gauge",
	    "Mails in the outbox not sent yet.", ms->outbox) == -1)
		return -1;
	if (ms->users_totp >= 0 && single(out, "users_totp", "gauge",
	    "Users with the second factor (TOTP) on.", ms->users_totp) == -1)
		return -1;
	return 0;
}

static int
write_workers(struct buf *out, const struct stats *st,
    const struct metrics_state *ms)
{
	int	 i, n = ms->workers;

	if (n > CONFIG_WORKERS_MAX)
		n = CONFIG_WORKERS_MAX;
	if (n <= 0)
		return 0;	/* no worker slots (plain CGI) */
	if (family(out, "worker_requests_total", "counter",
	    "Requests served by each worker slot.") == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_printf(out, METRICS_PREFIX "worker_requests_total"
		    "{worker=\"%d\"} %llu\n", i, (unsigned long long)
		    atomic_load(&st->w[i].requests)) == -1)
			return -1;
	if (family(out, "worker_restarts_total", "counter",
	    "Restarts of each worker slot after its process died.") == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_printf(out, METRICS_PREFIX "worker_restarts_total"
		    "{worker=\"%d\"} %llu\n", i, (unsigned long long)
		    atomic_load(&st->w[i].restarts)) == -1)
			return -1;
	return 0;
}

/* The /check latency as a histogram in seconds, buckets cumulative. */
static int
write_latency(struct buf *out, const struct stats *st)
{
	static const char	 name[] = "check_duration_seconds";
	uint64_t		 cum = 0;
	size_t			 i;

	if (family(out, name, "histogram", "Time to answer a session "
	    "check.") == -1)
		return -1;
	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++) {
		cum += atomic_load(&st->check_latency[i]);
		if (buf_printf(out, METRICS_PREFIX "%s_bucket{le=\"", name) ==
		    -1)
			return -1;
		if ((i < STATS_LATENCY_BUCKETS ?
		    metrics_usec_seconds(out, stats_latency_bounds[i]) :
		    buf_puts(out, "+Inf")) == -1)
			return -1;
		if (buf_printf(out, "\"} %llu\n", (unsigned long long)cum) == -1)
			return -1;
	}
	if (buf_printf(out, METRICS_PREFIX "%s_sum ", name) == -1 ||
	    metrics_usec_seconds(out,
	    atomic_load(&st->check_latency_sum_usec)) == -1 ||
	    buf_printf(out, "\n" METRICS_PREFIX "%s_count %llu\n", name,
	    (unsigned long long)cum) == -1)
		return -1;
	return 0;
}

int
metrics_write(struct buf *out, const struct stats *st,
    const struct metrics_state *ms)
{
	if (write_counters(out, st) == -1 || write_gauges(out, st, ms) == -1 ||
	    write_workers(out, st, ms) == -1 || write_latency(out, st) == -1)
		return -1;
	return 0;
}
