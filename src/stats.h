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
	STAT__COUNT
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
void		 stats_reset(struct stats *);

#endif
