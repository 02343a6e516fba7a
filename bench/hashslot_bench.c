/*
 * What the hashing bound costs (src/hashslot.c), on a lock file in a
 * temporary directory:
 *   uncontended  acquire + release with nothing else held
 *   scan         acquire + release when all slots but the last are held
 *   busy         a refused acquire (slots and queue full)
 *   hand-off     from a release to a waiting process holding the slot
 *   waiter CPU   what one waiting process spends polling, per second
 * Build: cc -std=c11 -O2 -D_GNU_SOURCE -Isrc -o hashslot_bench \
 *     bench/hashslot_bench.c src/hashslot.c
 * Usage: hashslot_bench [iterations]
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashslot.h"

#define HANDOFFS	200
#define SCAN_SLOTS	8

static char	 dir[64];
static char	 path[128];

static long long
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct hashslot *
must_open(int slots, int queue, int wait_ms)
{
	char		 err[256];
	struct hashslot	*h;

	if ((h = hashslot_open(path, slots, queue, wait_ms, -1, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "hashslot_bench: %s\n", err);
		exit(1);
	}
	return h;
}

static void
must(enum hashslot_rc got, enum hashslot_rc want, const char *what)
{
	if (got != want) {
		fprintf(stderr, "hashslot_bench: %s: rc %d, want %d\n", what,
		    (int)got, (int)want);
		exit(1);
	}
}

static double
loop_ns(struct hashslot *h, long n, enum hashslot_rc want)
{
	struct hashslot_ticket	 t;
	long long		 t0;
	long			 i;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		must(hashslot_acquire(h, &t), want, "loop");
		hashslot_release(h, &t);
	}
	return (double)(now_ns() - t0) / (double)n;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * A child waits for the one slot the parent holds; the parent notes the
 * time, releases, and the child reports when it held the slot.
 */
static void
bench_handoff(void)
{
	struct hashslot		*h, *c;
	struct hashslot_ticket	 t, ct;
	struct hashslot_usage	 u;
	long long		 lat[HANDOFFS], got, t0;
	int			 fds[2], i, status;
	pid_t			 pid;

	h = must_open(1, 1, HASHSLOT_WAIT_MS);
	for (i = 0; i < HANDOFFS; i++) {
		must(hashslot_acquire(h, &t), HASHSLOT_OK, "hand-off hold");
		if (pipe(fds) == -1 || (pid = fork()) == -1)
			exit(1);
		if (pid == 0) {
			c = must_open(1, 1, HASHSLOT_WAIT_MS);
			must(hashslot_acquire(c, &ct), HASHSLOT_OK, "waiter");
			got = now_ns();
			_exit(write(fds[1], &got, sizeof(got)) !=
			    (ssize_t)sizeof(got));
		}
		do {
			if (hashslot_usage(h, &u) == -1)
				exit(1);
		} while (u.waiting == 0);
		t0 = now_ns();
		hashslot_release(h, &t);
		if (read(fds[0], &got, sizeof(got)) != (ssize_t)sizeof(got))
			exit(1);
		lat[i] = got - t0;
		waitpid(pid, &status, 0);
		close(fds[0]);
		close(fds[1]);
	}
	hashslot_close(h);
	qsort(lat, HANDOFFS, sizeof(lat[0]), cmp_ll);
	printf("hand-off          median %.3f ms  p99 %.3f ms  max %.3f ms"
	    "  (%d runs)\n", lat[HANDOFFS / 2] / 1e6,
	    lat[HANDOFFS * 99 / 100] / 1e6, lat[HANDOFFS - 1] / 1e6,
	    HANDOFFS);
}

/* CPU time of a process that waits wait_ms for one of `slots` slots. */
static void
bench_waiter_cpu(int slots, int wait_ms)
{
	struct hashslot		*h, *c;
	struct hashslot_ticket	 t[HASHSLOT_SLOTS_MAX], ct;
	struct rusage		 ru;
	int			 i, status;
	pid_t			 pid;

	h = must_open(slots, 1, wait_ms);
	for (i = 0; i < slots; i++)
		must(hashslot_acquire(h, &t[i]), HASHSLOT_OK, "fill");
	if ((pid = fork()) == -1)
		exit(1);
	if (pid == 0) {
		c = must_open(slots, 1, wait_ms);
		_exit(hashslot_acquire(c, &ct) != HASHSLOT_TIMEOUT);
	}
	if (wait4(pid, &status, 0, &ru) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		exit(1);
	printf("waiter CPU        %.2f%% of one CPU while waiting "
	    "(%d slots to try per 1 ms step)\n",
	    100.0 * ((double)ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec) /
	    (wait_ms * 1000.0), slots);
	hashslot_close(h);
}

int
main(int argc, char *argv[])
{
	struct hashslot		*h, *other;
	struct hashslot_ticket	 held[SCAN_SLOTS], t;
	long			 n = 200000;
	int			 i;

	if (argc > 1 && (n = strtol(argv[1], NULL, 10)) <= 0)
		n = 200000;
	memcpy(dir, "/tmp/authgw-hslot-bench-XXXXXX", 31);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db%s", dir, HASHSLOT_LOCK_SUFFIX);

	h = must_open(0, -1, HASHSLOT_WAIT_MS);
	loop_ns(h, n / 10, HASHSLOT_OK);
	printf("uncontended       %.0f ns per acquire + release "
	    "(%d auto slots)\n", loop_ns(h, n, HASHSLOT_OK),
	    hashslot_auto_slots());
	hashslot_close(h);

	h = must_open(SCAN_SLOTS, SCAN_SLOTS, HASHSLOT_WAIT_MS);
	other = must_open(SCAN_SLOTS, SCAN_SLOTS, HASHSLOT_WAIT_MS);
	for (i = 0; i < SCAN_SLOTS - 1; i++)
		must(hashslot_acquire(other, &held[i]), HASHSLOT_OK, "fill");
	printf("scan              %.0f ns per acquire + release "
	    "(%d of %d slots held elsewhere)\n", loop_ns(h, n, HASHSLOT_OK),
	    SCAN_SLOTS - 1, SCAN_SLOTS);
	hashslot_close(other);
	hashslot_close(h);

	h = must_open(1, 0, HASHSLOT_WAIT_MS);
	other = must_open(1, 0, HASHSLOT_WAIT_MS);
	must(hashslot_acquire(other, &t), HASHSLOT_OK, "fill");
	printf("busy              %.0f ns per refused acquire\n",
	    loop_ns(h, n, HASHSLOT_BUSY));
	hashslot_close(other);
	hashslot_close(h);

	bench_handoff();
	bench_waiter_cpu(1, 1000);
	bench_waiter_cpu(32, 1000);

	unlink(path);
	rmdir(dir);
	return 0;
}
