#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stats.h"
#include "util.h"

const uint64_t	stats_latency_bounds[STATS_LATENCY_BUCKETS] = {
	50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400
};

static const enum stat_counter series_counters[SERIES__COUNT] = {
	[SERIES_CHECKS] = STAT_CHECKS,
	[SERIES_CACHE_HITS] = STAT_CACHE_HITS,
	[SERIES_CACHE_MISSES] = STAT_CACHE_MISSES,
	[SERIES_LOGINS_OK] = STAT_LOGINS_OK,
	[SERIES_LOGINS_FAILED] = STAT_LOGINS_FAILED,
};

static const char *const counter_names[STAT__COUNT] = {
	[STAT_CHECKS] = "checks",
	[STAT_CACHE_HITS] = "cache_hits",
	[STAT_CACHE_MISSES] = "cache_misses",
	[STAT_CACHE_ERRORS] = "cache_errors",
	[STAT_LOGINS_OK] = "logins_ok",
	[STAT_LOGINS_FAILED] = "logins_failed",
	[STAT_LOGINS_RATE_LIMITED] = "logins_rate_limited",
	[STAT_SESSIONS_CREATED] = "sessions_created",
	[STAT_SESSIONS_EXTENDED] = "sessions_extended",
	[STAT_SESSIONS_EXPIRED] = "sessions_expired",
	[STAT_LOGOUTS] = "logouts",
	[STAT_MAILS_QUEUED] = "mails_queued",
	[STAT_MAILS_SENT] = "mails_sent",
	[STAT_MAILS_FAILED] = "mails_failed",
	[STAT_STORE_ERRORS] = "store_errors",
	[STAT_HASH_BUSY] = "hash_busy",
	[STAT_PASSWORD_RESETS] = "password_resets",
	[STAT_TOKENS_CHECKED] = "tokens_checked",
};

struct stats *
stats_create(int shared)
{
	struct stats	*st;

	if (shared) {
		st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (st == MAP_FAILED)
			return NULL;
	} else
		st = xcalloc(1, sizeof(*st));
	memset(st, 0, sizeof(*st));
	st->started = util_now();
	/* The history counts from the start: the first minute is open. */
	atomic_store(&st->hist_minute, st->started / 60);
	return st;
}

const char *
stats_name(enum stat_counter c)
{
	return counter_names[c];
}

void
stats_inc(struct stats *st, enum stat_counter c)
{
	if (st != NULL)
		atomic_fetch_add_explicit(&st->c[c], 1, memory_order_relaxed);
}

void
stats_add(struct stats *st, enum stat_counter c, uint64_t n)
{
	if (st != NULL)
		atomic_fetch_add_explicit(&st->c[c], n, memory_order_relaxed);
}

uint64_t
stats_get(const struct stats *st, enum stat_counter c)
{
	return atomic_load_explicit(&st->c[c], memory_order_relaxed);
}

void
stats_latency(struct stats *st, uint64_t usec)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < STATS_LATENCY_BUCKETS; i++)
		if (usec <= stats_latency_bounds[i])
			break;
	atomic_fetch_add_explicit(&st->check_latency[i], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&st->check_latency_sum_usec, usec,
	    memory_order_relaxed);
}

void
stats_reset(struct stats *st)
{
	size_t	 i;

	for (i = 0; i < STAT__COUNT; i++)
		atomic_store(&st->c[i], 0);
	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++)
		atomic_store(&st->check_latency[i], 0);
	atomic_store(&st->check_latency_sum_usec, 0);
	for (i = 0; i < CONFIG_WORKERS_MAX; i++)
		atomic_store(&st->w[i].requests, 0);
	/* The minute in progress counts from the reset. */
	for (i = 0; i < SERIES__COUNT; i++)
		atomic_store(&st->hist_base[i], 0);
}

enum stat_counter
stats_series_counter(enum stats_series s)
{
	return series_counters[s];
}

/* What series i grew by since the minute in progress began; *now_val
 * (if not NULL) gets the counter's value. */
static uint64_t
series_delta(const struct stats *st, size_t i, uint64_t *now_val)
{
	uint64_t	 cur, base;

	base = atomic_load(&st->hist_base[i]);
	cur = stats_get(st, series_counters[i]);
	if (now_val != NULL)
		*now_val = cur;
	/* Below the base: the counters were reset in the meantime. */
	return cur >= base ? cur - base : cur;
}

void
stats_tick(struct stats *st, int64_t now)
{
	struct stats_sample	*slot;
	int64_t			 cur, m;
	uint64_t		 d[SERIES__COUNT], val[SERIES__COUNT];
	size_t			 i;

	if (st == NULL || now < 60)
		return;
	m = now / 60;
	cur = atomic_load(&st->hist_minute);
	if (cur == m)
		return;
	for (i = 0; i < SERIES__COUNT; i++)
		d[i] = series_delta(st, i, &val[i]);
	/* One caller closes a minute; the others leave it alone. */
	if (!atomic_compare_exchange_strong(&st->hist_minute, &cur, m))
		return;
	for (i = 0; i < SERIES__COUNT; i++)
		atomic_store(&st->hist_base[i], val[i]);
	if (cur == 0 || cur > m)
		return;		/* the first tick, or the clock went back */
	slot = &st->hist[cur % STATS_HISTORY];
	/* Readers check minute before and after the values. */
	atomic_store(&slot->minute, 0);
	for (i = 0; i < SERIES__COUNT; i++)
		atomic_store(&slot->v[i], d[i]);
	atomic_store(&slot->minute, cur);
}

/* Read the closed minute want from the ring into p. */
static void
history_read(const struct stats *st, int64_t want, struct stats_point *p)
{
	const struct stats_sample	*slot;
	size_t				 i;

	slot = &st->hist[want % STATS_HISTORY];
	if (atomic_load(&slot->minute) != want)
		return;
	for (i = 0; i < SERIES__COUNT; i++)
		p->v[i] = atomic_load(&slot->v[i]);
	p->valid = atomic_load(&slot->minute) == want;
}

void
stats_history(const struct stats *st, int64_t now,
    struct stats_point out[STATS_HISTORY])
{
	int64_t		 m = now / 60, cur = atomic_load(&st->hist_minute);
	size_t		 i, k;

	/* Another process's clock ran ahead into the next minute. */
	if (cur > m && cur - m < 2)
		m = cur;
	memset(out, 0, STATS_HISTORY * sizeof(*out));
	for (k = 0; k < STATS_HISTORY; k++) {
		out[k].minute = m - (int64_t)(STATS_HISTORY - 1 - k);
		if (out[k].minute <= 0)
			continue;
		if (out[k].minute == cur) {
			for (i = 0; i < SERIES__COUNT; i++)
				out[k].v[i] = series_delta(st, i, NULL);
			out[k].valid = out[k].partial = 1;
		} else if (out[k].minute < cur)
			history_read(st, out[k].minute, &out[k]);
	}
}

/*
 * Checks per second over the last two points of the history (the minute
 * in progress and the one before), each covering the seconds from its
 * start (or the start of the program) to its end (or now). Without any
 * history (no tick yet): every check over the uptime.
 */
double
stats_checks_per_second(const struct stats *st, int64_t now)
{
	struct stats_point	 p[STATS_HISTORY];
	uint64_t		 n = 0;
	int64_t			 secs = 0, from, to;
	size_t			 k;

	stats_history(st, now, p);
	for (k = STATS_HISTORY - 2; k < STATS_HISTORY; k++) {
		if (!p[k].valid)
			continue;
		from = p[k].minute * 60;
		if (from < st->started)
			from = st->started;
		to = p[k].partial ? now : (p[k].minute + 1) * 60;
		if (to > from)
			secs += to - from;
		n += p[k].v[SERIES_CHECKS];
	}
	if (secs == 0) {
		n = stats_get(st, STAT_CHECKS);
		secs = now - st->started;
	}
	if (secs < 1)
		secs = 1;
	return (double)n / (double)secs;
}

double
stats_hit_rate(uint64_t hits, uint64_t misses)
{
	if (hits + misses == 0)
		return 0.0;
	return (double)hits / ((double)hits + (double)misses);
}
