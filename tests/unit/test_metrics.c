/*
 * Unit tests of src/metrics.c (the metrics_allow list, the Prometheus
 * writer) and of the statistics it reads from src/stats.c (the per-minute
 * history ring, the reset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "metrics.h"
#include "stats.h"
#include "util.h"

static void
test_addr_parse(void **state)
{
	struct metrics_addr	 a, b;

	(void)state;
	assert_int_equal(metrics_addr_parse("127.0.0.1", 9, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.a, "\x7f\0\0\x01", 4);
	assert_int_equal(metrics_addr_parse("::1", 3, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(metrics_addr_parse("0:0:0:0:0:0:0:1", 15, &b), 0);
	assert_memory_equal(a.a, b.a, 16);
	/* IPv4-mapped IPv6 is the IPv4 address. */
	assert_int_equal(metrics_addr_parse("::ffff:127.0.0.1", 16, &b), 0);
	assert_int_equal(b.family, AF_INET);
	assert_memory_equal(b.a, "\x7f\0\0\x01", 4);
	/* Only the given length is read. */
	assert_int_equal(metrics_addr_parse("10.0.0.12", 8, &a), 0);
	assert_memory_equal(a.a, "\x0a\0\0\x01", 4);
}

static void
test_addr_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"", "localhost", "127.0.0.1 ", " 127.0.0.1", "127.0.0",
		"127.0.0.1.1", "256.0.0.1", "127.000.0.1", "1::2::3", ":::",
		"::1%lo", "[::1]", "127.0.0.1/8", "0x7f.0.0.1",
		"1234:5678:9abc:def0:1234:5678:9abc:def0:1",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x",
	};
	struct metrics_addr	 a;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(metrics_addr_parse(bad[i], strlen(bad[i]), &a),
		    -1);
	assert_int_equal(metrics_addr_parse("127.0.0.1\0", 10, &a), -1);
}

static void
test_allow_parse(void **state)
{
	struct metrics_addr	 out[METRICS_ALLOW_MAX];

	(void)state;
	assert_int_equal(metrics_allow_parse("", out, METRICS_ALLOW_MAX), 0);
	assert_int_equal(metrics_allow_parse("127.0.0.1", out,
	    METRICS_ALLOW_MAX), 1);
	assert_int_equal(metrics_allow_parse("127.0.0.1,::1", out,
	    METRICS_ALLOW_MAX), 2);
	assert_int_equal(metrics_allow_parse(" 127.0.0.1 ,\t::1\t", out,
	    METRICS_ALLOW_MAX), 2);
	assert_int_equal(out[1].family, AF_INET6);
	assert_int_equal(metrics_allow_parse("127.0.0.1,", out,
	    METRICS_ALLOW_MAX), -1);
	assert_int_equal(metrics_allow_parse(",127.0.0.1", out,
	    METRICS_ALLOW_MAX), -1);
	assert_int_equal(metrics_allow_parse("127.0.0.1,,::1", out,
	    METRICS_ALLOW_MAX), -1);
	assert_int_equal(metrics_allow_parse("127.0.0.1 ::1", out,
	    METRICS_ALLOW_MAX), -1);
	assert_int_equal(metrics_allow_parse("127.0.0.1;::1", out,
	    METRICS_ALLOW_MAX), -1);
	assert_int_equal(metrics_allow_parse(" ", out, METRICS_ALLOW_MAX), -1);
	assert_int_equal(metrics_allow_parse("10.0.0.1,10.0.0.2,10.0.0.3",
	    out, 2), -1);
}

static void
test_allowed(void **state)
{
	(void)state;
	assert_int_equal(metrics_allowed("127.0.0.1,::1", "127.0.0.1"), 1);
	assert_int_equal(metrics_allowed("127.0.0.1,::1", "::1"), 1);
	assert_int_equal(metrics_allowed("127.0.0.1,::1", "0::0001"), 1);
	assert_int_equal(metrics_allowed("127.0.0.1,::1",
	    "0000:0000:0000:0000:0000:0000:0000:0001"), 1);
	assert_int_equal(metrics_allowed("0:0::1", "::1"), 1);
	assert_int_equal(metrics_allowed("127.0.0.1", "::ffff:127.0.0.1"), 1);
	assert_int_equal(metrics_allowed("::ffff:10.1.2.3", "10.1.2.3"), 1);
	assert_int_equal(metrics_allowed("127.0.0.1,::1", "127.0.0.2"), 0);
	assert_int_equal(metrics_allowed("127.0.0.1,::1", "::2"), 0);
	assert_int_equal(metrics_allowed("127.0.0.1,::1", ""), 0);
	assert_int_equal(metrics_allowed("127.0.0.1,::1", "localhost"), 0);
	assert_int_equal(metrics_allowed("", "127.0.0.1"), 0);
	/* ::1 and 127.0.0.1 are different addresses. */
	assert_int_equal(metrics_allowed("::1", "127.0.0.1"), 0);
	assert_int_equal(metrics_allowed("127.0.0.1,localhost", "127.0.0.1"),
	    -1);
}

static void
check_seconds(uint64_t usec, const char *want)
{
	struct buf	 b = { NULL, 0, 0 };

	assert_int_equal(metrics_usec_seconds(&b, usec), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
test_usec_seconds(void **state)
{
	(void)state;
	check_seconds(0, "0");
	check_seconds(1, "0.000001");
	check_seconds(50, "0.00005");
	check_seconds(1600, "0.0016");
	check_seconds(102400, "0.1024");
	check_seconds(1000000, "1");
	check_seconds(1500000, "1.5");
	check_seconds(12345678901ULL, "12345.678901");
}

/* The value of the sample line starting with prefix (name and labels). */
static const char *
sample(const char *text, const char *prefix)
{
	const char	*p = text;
	size_t		 n = strlen(prefix);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return p + n + 1;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

/* The number of lines of text starting with prefix. */
static size_t
count_lines(const char *text, const char *prefix)
{
	const char	*p = text;
	size_t		 n = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return n;
}

static struct stats *
busy_stats(void)
{
	struct stats	*st = stats_create(0);

	assert_non_null(st);
	stats_add(st, STAT_CHECKS, 7);
	stats_add(st, STAT_CACHE_HITS, 3);
	stats_inc(st, STAT_CACHE_MISSES);
	stats_inc(st, STAT_LOGINS_FAILED);
	stats_latency(st, 10);		/* first bucket */
	stats_latency(st, 50);		/* first bucket: le is inclusive */
	stats_latency(st, 51);
	stats_latency(st, 5000000);	/* +Inf */
	atomic_store(&st->w[0].requests, 11);
	atomic_store(&st->w[1].restarts, 2);
	return st;
}

static void
test_write(void **state)
{
	struct stats		*st = busy_stats();
	struct metrics_state	 ms = { st->started + 42, 5, 0, 1, 1, 2, 4 };
	struct buf		 b = { NULL, 0, 0 };
	const char		*v;

	(void)state;
	assert_int_equal(metrics_write(&b, st, &ms), 0);
	assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
	v = sample(b.data, "authgw_checks_total");
	assert_non_null(v);
	assert_int_equal(strncmp(v, "7\n", 2), 0);
	assert_non_null(strstr(b.data, "\nauthgw_logins_failed_total 1\n"));
	assert_non_null(strstr(b.data, "\nauthgw_uptime_seconds 42\n"));
	assert_non_null(strstr(b.data, "\nauthgw_sessions_active 5\n"));
	assert_non_null(strstr(b.data, "\nauthgw_outbox 0\n"));
	assert_non_null(strstr(b.data, "\nauthgw_memcached_up 1\n"));
	assert_non_null(strstr(b.data, "\nauthgw_cache_hit_rate 0.750000\n"));
	assert_non_null(strstr(b.data,
	    "\nauthgw_worker_requests_total{worker=\"0\"} 11\n"));
	assert_non_null(strstr(b.data,
	    "\nauthgw_worker_requests_total{worker=\"1\"} 0\n"));
	assert_non_null(strstr(b.data,
	    "\nauthgw_worker_restarts_total{worker=\"1\"} 2\n"));
	assert_null(strstr(b.data, "worker=\"2\""));
	/* Histogram: cumulative, seconds, ending with +Inf; count = +Inf. */
	assert_non_null(strstr(b.data, "\nauthgw_check_duration_seconds_bucket"
	    "{le=\"0.00005\"} 2\n"));
	assert_non_null(strstr(b.data, "\nauthgw_check_duration_seconds_bucket"
	    "{le=\"0.0001\"} 3\n"));
	assert_non_null(strstr(b.data, "\nauthgw_check_duration_seconds_bucket"
	    "{le=\"0.1024\"} 3\n"));
	assert_non_null(strstr(b.data, "\nauthgw_check_duration_seconds_bucket"
	    "{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(b.data,
	    "\nauthgw_check_duration_seconds_sum 5.000111\n"));
	assert_non_null(strstr(b.data,
	    "\nauthgw_check_duration_seconds_count 4\n"));
	assert_int_equal(count_lines(b.data, "authgw_check_duration_seconds_"
	    "bucket"), STATS_LATENCY_BUCKETS + 1);
	buf_free(&b);
	free(st);
}

/* Every family has exactly one HELP and one TYPE line, before samples. */
static void
test_write_families(void **state)
{
	struct stats		*st = busy_stats();
	struct metrics_state	 ms = { st->started, 1, 1, -1, 1, 3, 0 };
	struct buf		 b = { NULL, 0, 0 };
	char			 want[128];
	size_t			 i;

	(void)state;
	assert_int_equal(metrics_write(&b, st, &ms), 0);
	for (i = 0; i < STAT__COUNT; i++) {
		assert_true(snprintf(want, sizeof(want), "# TYPE authgw_%s_total "
		    "counter", stats_name((enum stat_counter)i)) <
		    (int)sizeof(want));
		assert_int_equal(count_lines(b.data, want), 1);
		assert_true(snprintf(want, sizeof(want), "# HELP authgw_%s_total ",
		    stats_name((enum stat_counter)i)) < (int)sizeof(want));
		assert_int_equal(count_lines(b.data, want), 1);
	}
	assert_int_equal(count_lines(b.data,
	    "# TYPE authgw_check_duration_seconds histogram"), 1);
	assert_int_equal(count_lines(b.data,
	    "# TYPE authgw_worker_requests_total counter"), 1);
	assert_int_equal(count_lines(b.data,
	    "authgw_worker_requests_total{"), 3);
	/* memcached off: no memcached_up family at all. */
	assert_null(strstr(b.data, "memcached_up"));
	/* TYPE comes before the samples of its family. */
	assert_true(strstr(b.data, "# TYPE authgw_outbox gauge") <
	    strstr(b.data, "\nauthgw_outbox 1\n"));
	buf_free(&b);
	free(st);
}

static void
test_write_unknown_gauges_omitted(void **state)
{
	struct stats		*st = stats_create(0);
	struct metrics_state	 ms = { st->started, -1, -1, 0, 0, 0, -1 };
	struct buf		 b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(metrics_write(&b, st, &ms), 0);
	assert_null(strstr(b.data, "sessions_active"));
	assert_null(strstr(b.data, "authgw_outbox"));
	assert_null(strstr(b.data, "worker_requests"));
	assert_non_null(strstr(b.data, "\nauthgw_memcached_up 0\n"));
	assert_non_null(strstr(b.data, "\nauthgw_sqlite_up 0\n"));
	assert_non_null(strstr(b.data, "\nauthgw_cache_hit_rate 0.000000\n"));
	buf_free(&b);
	free(st);
}

static void
test_history_ring(void **state)
{
	struct stats		*st = stats_create(0);
	struct stats_point	 h[STATS_HISTORY];
	int64_t			 t0 = 1700000000 / 60 * 60;	/* a minute */
	size_t			 k;

	(void)state;
	atomic_store(&st->hist_minute, 0);
	st->started = t0;
	stats_tick(st, t0 + 5);			/* opens minute t0 */
	stats_add(st, STAT_CHECKS, 4);
	stats_inc(st, STAT_CACHE_HITS);
	stats_history(st, t0 + 30, h);
	assert_int_equal(h[STATS_HISTORY - 1].minute, t0 / 60);
	assert_true(h[STATS_HISTORY - 1].valid && h[STATS_HISTORY - 1].partial);
	assert_int_equal(h[STATS_HISTORY - 1].v[SERIES_CHECKS], 4);
	assert_false(h[STATS_HISTORY - 2].valid);
	stats_tick(st, t0 + 61);		/* closes minute t0 */
	stats_tick(st, t0 + 62);		/* same minute: nothing */
	stats_add(st, STAT_CHECKS, 2);
	stats_history(st, t0 + 65, h);
	assert_true(h[STATS_HISTORY - 2].valid);
	assert_false(h[STATS_HISTORY - 2].partial);
	assert_int_equal(h[STATS_HISTORY - 2].v[SERIES_CHECKS], 4);
	assert_int_equal(h[STATS_HISTORY - 2].v[SERIES_CACHE_HITS], 1);
	assert_int_equal(h[STATS_HISTORY - 1].v[SERIES_CHECKS], 2);
	assert_true(h[STATS_HISTORY - 1].partial);
	/* An hour later the old minute has left the window. */
	stats_tick(st, t0 + 3700);
	stats_history(st, t0 + 3700, h);
	assert_int_equal(h[0].minute, (t0 + 3700) / 60 - (STATS_HISTORY - 1));
	for (k = 0; k < STATS_HISTORY - 1; k++)
		assert_false(h[k].valid && h[k].v[SERIES_CHECKS] == 4);
	free(st);
}

static void
test_history_slot_reuse(void **state)
{
	struct stats		*st = stats_create(0);
	struct stats_point	 h[STATS_HISTORY];
	int64_t			 t0 = 1700000000 / 60 * 60;

	(void)state;
	atomic_store(&st->hist_minute, t0 / 60);
	stats_add(st, STAT_CHECKS, 9);
	stats_tick(st, t0 + 60);
	/* Sixty minutes later the same slot holds a new minute. */
	stats_tick(st, t0 + 60 * 60);
	stats_add(st, STAT_CHECKS, 1);
	stats_tick(st, t0 + 61 * 60);
	stats_history(st, t0 + 61 * 60, h);
	assert_int_equal(h[STATS_HISTORY - 2].minute, t0 / 60 + 60);
	assert_int_equal(h[STATS_HISTORY - 2].v[SERIES_CHECKS], 1);
	/* Minutes the master skipped have no sample. */
	assert_false(h[STATS_HISTORY - 3].valid);
	free(st);
}

static void
test_reset_keeps_uptime_and_restarts(void **state)
{
	struct stats		*st = busy_stats();
	struct stats_point	 h[STATS_HISTORY];
	int64_t			 started = st->started;
	size_t			 i;

	(void)state;
	stats_tick(st, started + 1);
	stats_reset(st);
	for (i = 0; i < STAT__COUNT; i++)
		assert_int_equal(stats_get(st, (enum stat_counter)i), 0);
	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++)
		assert_int_equal(atomic_load(&st->check_latency[i]), 0);
	assert_int_equal(atomic_load(&st->check_latency_sum_usec), 0);
	assert_int_equal(atomic_load(&st->w[0].requests), 0);
	assert_int_equal(atomic_load(&st->w[1].restarts), 2);
	assert_int_equal(st->started, started);
	/* The minute in progress counts from the reset, never below 0. */
	stats_inc(st, STAT_CHECKS);
	stats_history(st, started + 1, h);
	assert_int_equal(h[STATS_HISTORY - 1].v[SERIES_CHECKS], 1);
	free(st);
}

static void
test_rates(void **state)
{
	struct stats	*st = stats_create(0);

	(void)state;
	assert_true(stats_hit_rate(0, 0) == 0.0);
	assert_true(stats_hit_rate(3, 1) == 0.75);
	st->started = 1700000000 / 60 * 60;
	atomic_store(&st->hist_minute, st->started / 60);
	stats_add(st, STAT_CHECKS, 30);
	/* 30 checks in the 10 s since the start of the minute in progress. */
	assert_true(stats_checks_per_second(st, st->started + 10) == 3.0);
	free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_addr_parse_refuses),
		cmocka_unit_test(test_allow_parse),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_usec_seconds),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_families),
		cmocka_unit_test(test_write_unknown_gauges_omitted),
		cmocka_unit_test(test_history_ring),
		cmocka_unit_test(test_history_slot_reuse),
		cmocka_unit_test(test_reset_keeps_uptime_and_restarts),
		cmocka_unit_test(test_rates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
