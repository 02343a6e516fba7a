#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stats.h"
#include "util.h"

const uint64_t	stats_latency_bounds[STATS_LATENCY_BUCKETS] = {
	50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400
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
}
