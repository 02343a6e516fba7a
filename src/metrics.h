/*
 * The statistics for machines: who may read /metrics without a session
 * (metrics_allow), and the Prometheus text exposition format 0.0.4.
 * Pure functions on strings and a struct stats; no I/O.
 */
#ifndef AUTHGW_METRICS_H
#define AUTHGW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_ALLOW_MAX	64	/* addresses in metrics_allow */
#define METRICS_ADDR_MAX	45	/* bytes of one textual address */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct buf;
struct stats;

/* A client address, IPv4-mapped IPv6 folded to IPv4. */
struct metrics_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 a[16];		/* 4 or 16 bytes used */
};

/*
 * Parse one address (p, len): an IPv4 dotted quad or any IPv6 spelling
 * inet_pton accepts, nothing around it. Returns 0, or -1.
 */
int	metrics_addr_parse(const char *p, size_t len, struct metrics_addr *out);

/*
 * Parse metrics_allow: addresses separated by ',', blanks allowed around
 * each, none empty; "" is the empty list. Fills up to max entries of out.
 * Returns how many, or -1 if any entry is malformed or there are more
 * than max.
 */
int	metrics_allow_parse(const char *list, struct metrics_addr *out,
	    size_t max);

/*
 * 1 if addr (REMOTE_ADDR) is in list, 0 if not (or addr is not an
 * address), -1 if list is malformed (then nobody is allowed).
 */
int	metrics_allowed(const char *list, const char *addr);

/* Figures read outside the statistics segment; -1 = unknown (omitted). */
struct metrics_state {
	int64_t		 now;
	int64_t		 sessions_active;
	int64_t		 outbox;
	int		 memcached_up;	/* -1 when memcached is off */
	int		 sqlite_up;
	int		 workers;	/* worker slots to report */
	int64_t		 users_totp;	/* users with the second factor on */
};

/*
 * Append the Prometheus text exposition of st and ms to out: counters
 * authgw_<name>_total, gauges, per-worker series with label worker, and
 * the /check latency histogram. Returns 0 or -1 (out of memory).
 */
int	metrics_write(struct buf *out, const struct stats *st,
	    const struct metrics_state *ms);

/*
 * Microseconds as a decimal number of seconds without rounding
 * ("0.00005", "1.5", "0") into out. Returns 0 or -1.
 */
int	metrics_usec_seconds(struct buf *out, uint64_t usec);

#endif
