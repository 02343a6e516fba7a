/*
 * Statistics shared by every worker: one anonymous shared mapping made by
 * the master before it forks, holding lock-free atomic counters. It
 * survives the death of any worker.
 */
#ifndef AUTHGW_STATS_H
#define AUTHGW_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"

#define STATS_LATENCY_BUCKETS	12	/* /check latency, microseconds */
#define STATS_HISTORY		60	/* per-minute samples: the last hour */

enum stat_counter {
	STAT_CHECKS = 0,
	STAT_CACHE_HITS,
	STAT_CACHE_MISSES,
	STAT_CACHE_ERRORS,
	STAT_LOGINS_OK,
	STAT_LOGINS_FAILED,
	STAT_LOGINS_RATE_LIMITED,
	STAT_SESSIONS_CREATED,
	STAT_SESSIONS_EXTENDED,
	STAT_SESSIONS_EXPIRED,
	STAT_LOGOUTS,
	STAT_MAILS_QUEUED,
	STAT_MAILS_SENT,
	STAT_MAILS_FAILED,
	STAT_STORE_ERRORS,
	STAT_HASH_BUSY,		/* refused 503: no password-hashing slot */
	STAT_PASSWORD_RESETS,	/* passwords set by a reset link */
	STAT_TOKENS_CHECKED,	/* checks decided by an API token */
	STAT__COUNT
};

/* The counters kept per minute in the history ring. */
enum stats_series {
	SERIES_CHECKS = 0,
	SERIES_CACHE_HITS,
	SERIES_CACHE_MISSES,
	SERIES_LOGINS_OK,
	SERIES_LOGINS_FAILED,
	SERIES__COUNT
};

/* One minute of the ring: what the series counters grew by in it. */
struct stats_sample {
	_Atomic int64_t		minute;		/* unix time / 60; 0 = none */
	_Atomic uint64_t	v[SERIES__COUNT];
};

struct stats_worker {
	_Atomic uint64_t	requests;
	_Atomic uint64_t	restarts;
	_Atomic int64_t		pid;
};

struct stats {
	int64_t			started;	/* unix time */
	_Atomic uint64_t	c[STAT__COUNT];
	_Atomic uint64_t	check_latency[STATS_LATENCY_BUCKETS + 1];
	_Atomic uint64_t	check_latency_sum_usec;
	struct stats_worker	w[CONFIG_WORKERS_MAX];
	_Atomic int64_t		hist_minute;	/* minute being counted, or 0 */
	_Atomic uint64_t	hist_base[SERIES__COUNT]; /* counters at its start */
	struct stats_sample	hist[STATS_HISTORY];
};

/* A minute of history as read by stats_history(). */
struct stats_point {
	int64_t		 minute;	/* unix time / 60 */
	int		 valid;		/* 0: no sample for this minute */
	int		 partial;	/* the minute in progress */
	uint64_t	 v[SERIES__COUNT];
};

/* Upper bounds (microseconds) of the latency buckets; the last is +Inf. */
extern const uint64_t	stats_latency_bounds[STATS_LATENCY_BUCKETS];

/* A shared segment (shared != 0) or private memory. NULL on failure. */
struct stats	*stats_create(int shared);
const char	*stats_name(enum stat_counter);
void		 stats_inc(struct stats *, enum stat_counter);
void		 stats_add(struct stats *, enum stat_counter, uint64_t);
uint64_t	 stats_get(const struct stats *, enum stat_counter);
void		 stats_latency(struct stats *, uint64_t usec);
/* Zero the counters, the latency histogram and the workers' request
 * counts; uptime, restarts and the history ring stay. */
void		 stats_reset(struct stats *);

/*
 * Close the minute being counted when now has left it, storing what the
 * series counters grew by in the history ring (all of it under the closed
 * minute when ticks are further apart than a minute). The master calls it
 * after each maintenance pass and the admin views before they read;
 * concurrent callers are safe (one wins).
 */
void		 stats_tick(struct stats *, int64_t now);
/*
 * The last STATS_HISTORY minutes up to now's (or the minute in progress,
 * if a tick just opened the next one), oldest first, into out; the
 * minute in progress counted so far. Minutes without a sample are marked
 * not valid.
 */
void		 stats_history(const struct stats *, int64_t now,
		    struct stats_point out[STATS_HISTORY]);
/* The counter a series follows. */
enum stat_counter stats_series_counter(enum stats_series);
/* Checks per second over the last minute or so (see stats.c). */
double		 stats_checks_per_second(const struct stats *, int64_t now);
/* cache_hits / (cache_hits + cache_misses), 0 when there were none. */
double		 stats_hit_rate(uint64_t hits, uint64_t misses);

#endif
