/*
 * Unit tests of src/hashslot.c: the host-wide bound on password hashing, on
 * a lock file in a temporary directory. Other processes are forked children
 * that open their own handle and report through a pipe; the parent waits
 * for what it can observe (a held lock byte, a report), each wait bounded.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hashslot.h"

#define LONG_WAIT_MS	10000	/* a waiter's deadline that must not pass */
#define BOUND_MS	5000	/* longest the parent waits for anything */
#define AT_ONCE_MS	1000	/* "at once", with room for valgrind */
#define KIDS_MAX	8
#define WATCHDOG_S	60	/* a test that hangs dies of SIGALRM */

struct report {
	int		 rc;		/* enum hashslot_rc; -1: open failed */
	int		 slot;
	int		 queued;
	long long	 elapsed_ms;
};

struct kid {
	pid_t	 pid;		/* 0 once reaped */
	int	 rfd;		/* its reports */
	int	 gofd;		/* closed by the parent: the child lets go */
};

static char		 dir[64];
static char		 path[128];
static struct kid	 kids[KIDS_MAX];
static int		 nkids;

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static void
name_in_dir(char *out, size_t outsz, const char *name)
{
	int	 n = snprintf(out, outsz, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < outsz);
}

static int
setup(void **state)
{
	(void)state;
	memcpy(dir, "/tmp/authgw-hslot-XXXXXX", 25);
	if (mkdtemp(dir) == NULL)
		return -1;
	if (snprintf(path, sizeof(path), "%s/authgw.db%s", dir,
	    HASHSLOT_LOCK_SUFFIX) >= (int)sizeof(path))
		return -1;
	nkids = 0;
	alarm(WATCHDOG_S);
	return 0;
}

static void
kid_reap(struct kid *k, int sig)
{
	if (k->pid > 0) {
		if (sig != 0)
			kill(k->pid, sig);
		while (waitpid(k->pid, NULL, 0) == -1 && errno == EINTR)
			continue;
		k->pid = 0;
	}
	if (k->rfd != -1)
		close(k->rfd);
	if (k->gofd != -1)
		close(k->gofd);
	k->rfd = k->gofd = -1;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "target", "absent", "link2" };
	char		 p[160];
	size_t		 i;

	(void)state;
	alarm(0);
	for (i = 0; i < (size_t)nkids; i++)
		kid_reap(&kids[i], SIGKILL);
	nkids = 0;
	(void)unlink(path);
	(void)rmdir(path);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		(void)unlink(p);
	}
	return rmdir(dir);
}

static struct hashslot *
open_ok(int slots, int queue, int wait_ms)
{
	char		 err[256];
	struct hashslot	*h;

	h = hashslot_open(path, slots, queue, wait_ms, -1, err,
	    sizeof(err));
	if (h == NULL)
		fail_msg("hashslot_open: %s", err);
	return h;
}

static void
assert_refused(const char *why)
{
	char		 err[256] = "";
	struct hashslot	*h;

	h = hashslot_open(path, 1, 1, 100, -1, err, sizeof(err));
	if (h != NULL) {
		hashslot_close(h);
		fail_msg("opened, want refusal (%s)", why);
	}
	if (strstr(err, why) == NULL)
		fail_msg("reason \"%s\", want \"%s\"", err, why);
}

static void
kid_main(int rfd, int gofd, int slots, int queue, int wait_ms, int hold)
{
	struct hashslot		*h;
	struct hashslot_ticket	 t;
	struct report		 rep;
	char			 err[256], c;
	long long		 t0;

	memset(&rep, 0, sizeof(rep));
	rep.rc = -1;
	if ((h = hashslot_open(path, slots, queue, wait_ms, -1, err,
	    sizeof(err))) != NULL) {
		t0 = now_ms();
		rep.rc = (int)hashslot_acquire(h, &t);
		rep.elapsed_ms = now_ms() - t0;
		rep.slot = t.slot;
		rep.queued = t.queued;
	}
	if (write(rfd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		_exit(2);
	if (hold)
		while (read(gofd, &c, 1) == -1 && errno == EINTR)
			continue;
	if (h != NULL) {
		hashslot_release(h, &t);
		hashslot_close(h);
	}
	_exit(0);
}

/*
 * Fork a process that opens its own handle, acquires once and reports;
 * with hold, it keeps what it got until kid_let_go (or its death).
 */
static struct kid *
kid_spawn(int slots, int queue, int wait_ms, int hold)
{
	struct kid	*k;
	int		 rp[2], gp[2];
	pid_t		 pid;

	assert_true(nkids < KIDS_MAX);
	assert_int_equal(pipe(rp), 0);
	assert_int_equal(pipe(gp), 0);
	if ((pid = fork()) == 0) {
		close(rp[0]);
		close(gp[1]);
		kid_main(rp[1], gp[0], slots, queue, wait_ms, hold);
	}
	assert_true(pid > 0);
	close(rp[1]);
	close(gp[0]);
	k = &kids[nkids++];
	k->pid = pid;
	k->rfd = rp[0];
	k->gofd = gp[1];
	return k;
}

/* 1 if a report is ready within ms, else 0. */
static int
kid_ready(struct kid *k, int ms)
{
	struct pollfd	 pfd = { k->rfd, POLLIN, 0 };
	int		 r;

	while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		continue;
	return r == 1;
}

static void
kid_report(struct kid *k, struct report *rep)
{
	if (!kid_ready(k, BOUND_MS))
		fail_msg("no report from child %ld", (long)k->pid);
	assert_int_equal(read(k->rfd, rep, sizeof(*rep)), sizeof(*rep));
}

static void
kid_wait_ok(struct kid *k)
{
	int	 status;
	pid_t	 r;

	while ((r = waitpid(k->pid, &status, 0)) == -1 && errno == EINTR)
		continue;
	assert_int_equal(r, k->pid);
	k->pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Wait, bounded, until exactly n queue places are held. */
static void
wait_waiting(struct hashslot *h, int n)
{
	struct hashslot_usage	 u;
	long long		 end = now_ms() + BOUND_MS;

	for (;;) {
		assert_int_equal(hashslot_usage(h, &u), 0);
		if (u.waiting == n)
			return;
		if (now_ms() > end)
			fail_msg("%d waiting, want %d", u.waiting, n);
		sleep_ms(1);
	}
}

static void
test_full_slots_queue_then_busy(void **state)
{
	struct hashslot		*h = open_ok(2, 1, LONG_WAIT_MS);
	struct hashslot_ticket	 t1, t2;
	struct hashslot_usage	 u;
	struct report		 rep;
	struct kid		*waiter, *late;

	(void)state;
	assert_int_equal(hashslot_acquire(h, &t1), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(h, &t2), HASHSLOT_OK);
	assert_int_equal(t1.slot, 0);
	assert_int_equal(t2.slot, 1);
	assert_int_equal(t1.queued, 0);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.busy, 2);
	assert_int_equal(u.waiting, 0);

	waiter = kid_spawn(2, 1, LONG_WAIT_MS, 0);
	wait_waiting(h, 1);
	assert_false(kid_ready(waiter, 0));

	late = kid_spawn(2, 1, LONG_WAIT_MS, 0);
	kid_report(late, &rep);
	assert_int_equal(rep.rc, HASHSLOT_BUSY);
	assert_int_equal(rep.slot, -1);
	assert_true(rep.elapsed_ms < AT_ONCE_MS);
	kid_wait_ok(late);
	assert_false(kid_ready(waiter, 0));

	hashslot_release(h, &t1);
	assert_int_equal(t1.slot, -1);
	kid_report(waiter, &rep);
	assert_int_equal(rep.rc, HASHSLOT_OK);
	assert_int_equal(rep.slot, 0);
	assert_int_equal(rep.queued, 1);
	kid_wait_ok(waiter);
	hashslot_release(h, &t2);
	hashslot_close(h);
}

static void
test_killed_holder_frees_slot_at_once(void **state)
{
	struct hashslot		*h = open_ok(1, 0, LONG_WAIT_MS);
	struct hashslot_ticket	 t;
	struct report		 rep;
	struct kid		*holder;

	(void)state;
	holder = kid_spawn(1, 0, LONG_WAIT_MS, 1);
	kid_report(holder, &rep);
	assert_int_equal(rep.rc, HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_BUSY);

	kid_reap(holder, SIGKILL);
	/* No queue: this cannot wait, so the slot is free right now. */
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_OK);
	assert_int_equal(t.queued, 0);
	hashslot_release(h, &t);
	hashslot_close(h);
}

static void
test_killed_waiter_frees_queue_place(void **state)
{
	struct hashslot		*h = open_ok(1, 1, LONG_WAIT_MS);
	struct hashslot		*other = open_ok(1, 1, 50);
	struct hashslot_ticket	 t, t2;
	struct kid		*waiter;

	(void)state;
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_OK);
	waiter = kid_spawn(1, 1, LONG_WAIT_MS, 0);
	wait_waiting(h, 1);
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_BUSY);

	kid_reap(waiter, SIGKILL);
	wait_waiting(h, 0);
	/* The place is free again: this one queues, then times out. */
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_TIMEOUT);
	assert_int_equal(t2.queued, 1);
	assert_int_equal(t2.slot, -1);
	hashslot_release(h, &t);
	hashslot_close(other);
	hashslot_close(h);
}

static void
test_waiter_gives_up_at_deadline(void **state)
{
	struct hashslot		*h = open_ok(1, 1, LONG_WAIT_MS);
	struct hashslot		*other = open_ok(1, 1, 100);
	struct hashslot_ticket	 t, t2;
	struct hashslot_usage	 u;
	long long		 t0, took;

	(void)state;
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_OK);
	t0 = now_ms();
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_TIMEOUT);
	took = now_ms() - t0;
	assert_true(took >= 100);
	assert_true(took < 100 + AT_ONCE_MS);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.waiting, 0);
	hashslot_release(h, &t);
	hashslot_close(other);
	hashslot_close(h);
}

static volatile sig_atomic_t	 signals;

static void
on_signal(int sig)
{
	(void)sig;
	signals++;
}

/* Signals (no SA_RESTART) during the wait neither end it nor stretch it. */
static void
test_wait_survives_signals(void **state)
{
	struct hashslot		*h = open_ok(1, 1, LONG_WAIT_MS);
	struct hashslot		*other = open_ok(1, 1, 200);
	struct hashslot_ticket	 t, t2;
	struct sigaction	 sa, old;
	struct sigevent		 sev;
	struct itimerspec	 every;
	timer_t			 timer;
	enum hashslot_rc	 rc;
	long long		 t0, took;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	memset(&every, 0, sizeof(every));
	every.it_interval.tv_nsec = 300000;
	every.it_value.tv_nsec = 300000;
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_OK);
	signals = 0;
	assert_int_equal(timer_settime(timer, 0, &every, NULL), 0);
	t0 = now_ms();
	rc = hashslot_acquire(other, &t2);
	took = now_ms() - t0;
	/* Stopped before any assertion, so a failure here ends here. */
	assert_int_equal(timer_delete(timer), 0);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	assert_int_equal(rc, HASHSLOT_TIMEOUT);
	assert_true(signals > 10);
	assert_true(took >= 200);
	assert_true(took < 200 + AT_ONCE_MS);
	hashslot_release(h, &t);
	hashslot_close(other);
	hashslot_close(h);
}

/*
 * A slot freed while a request waits is the waiter's: a newcomer queues
 * behind it. The waiter is stopped so the slot stays free meanwhile.
 */
static void
test_newcomer_queues_behind_a_waiter(void **state)
{
	struct hashslot		*h = open_ok(1, 2, LONG_WAIT_MS);
	struct hashslot		*other = open_ok(1, 2, BOUND_MS);
	struct hashslot_ticket	 t, t2;
	struct report		 rep;
	struct kid		*waiter;
	pid_t			 r;
	int			 status;

	(void)state;
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_OK);
	waiter = kid_spawn(1, 2, LONG_WAIT_MS, 0);
	wait_waiting(h, 1);
	assert_int_equal(kill(waiter->pid, SIGSTOP), 0);
	while ((r = waitpid(waiter->pid, &status, WUNTRACED)) == -1 &&
	    errno == EINTR)
		continue;
	assert_int_equal(r, waiter->pid);
	assert_true(WIFSTOPPED(status));

	hashslot_release(h, &t);
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_OK);
	assert_int_equal(t2.queued, 1);
	assert_int_equal(kill(waiter->pid, SIGCONT), 0);
	assert_false(kid_ready(waiter, 0));

	hashslot_release(other, &t2);
	kid_report(waiter, &rep);
	assert_int_equal(rep.rc, HASHSLOT_OK);
	assert_int_equal(rep.queued, 1);
	kid_wait_ok(waiter);
	hashslot_close(other);
	hashslot_close(h);
}

static void
test_auto_defaults(void **state)
{
	struct hashslot		*h, *full;
	struct hashslot_ticket	 t[HASHSLOT_SLOTS_MAX], extra;
	struct hashslot_usage	 u;
	long			 cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int			 want = cpus / 2 < 1 ? 1 : (int)(cpus / 2), i;

	(void)state;
	assert_int_equal(hashslot_auto_slots(), want);
	h = open_ok(0, -1, LONG_WAIT_MS);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.slots, want);
	assert_int_equal(u.queue, want);
	for (i = 0; i < want; i++) {
		assert_int_equal(hashslot_acquire(h, &t[i]), HASHSLOT_OK);
		assert_int_equal(t[i].slot, i);
	}
	full = open_ok(0, 0, 100);
	assert_int_equal(hashslot_acquire(full, &extra), HASHSLOT_BUSY);
	hashslot_close(full);
	for (i = 0; i < want; i++)
		hashslot_release(h, &t[i]);
	hashslot_close(h);

	h = open_ok(3, -1, 100);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.slots, 3);
	assert_int_equal(u.queue, 3);
	hashslot_close(h);
	h = open_ok(2, 0, 100);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.queue, 0);
	hashslot_close(h);
}

static void
test_out_of_range_refused(void **state)
{
	static const int bad[][3] = {
		{ -1, 1, 100 }, { HASHSLOT_SLOTS_MAX + 1, 1, 100 },
		{ 1, -2, 100 }, { 1, HASHSLOT_QUEUE_MAX + 1, 100 },
		{ 1, 1, 0 }, { 1, 1, HASHSLOT_WAIT_MS_MAX + 1 },
	};
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(hashslot_open(path, bad[i][0], bad[i][1],
		    bad[i][2], -1, err, sizeof(err)));
		assert_non_null(strstr(err, "out of range"));
	}
	hashslot_close(open_ok(HASHSLOT_SLOTS_MAX, HASHSLOT_QUEUE_MAX,
	    HASHSLOT_WAIT_MS_MAX));
}

static void
test_lockpath(void **state)
{
	char	 out[64];

	(void)state;
	assert_int_equal(hashslot_lockpath("/var/lib/authgw/authgw.db", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/var/lib/authgw/authgw.db-hash.lock");
	assert_int_equal(hashslot_lockpath("/var/lib/authgw/authgw.db", out,
	    35), -1);
	assert_int_equal(hashslot_lockpath("/var/lib/authgw/authgw.db", out,
	    36), 0);
}

static void
test_created_0600_whatever_the_umask(void **state)
{
	struct stat	 sb;
	mode_t		 old;

	(void)state;
	old = umask(0);
	hashslot_close(open_ok(1, 1, 100));
	umask(old);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	/* It is reopened as it is. */
	hashslot_close(open_ok(1, 1, 100));
}

static void
test_group_or_other_access_refused(void **state)
{
	static const mode_t modes[] = { 0620, 0602, 0640, 0604, 0610 };
	size_t		 i;
	int		 fd;

	(void)state;
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(fchmod(fd, modes[i]), 0);
		assert_refused("group or others have access");
	}
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	hashslot_close(open_ok(1, 1, 100));
}

static void
test_other_owner_refused(void **state)
{
	struct passwd	*pw;
	uid_t		 uid = 65534;
	gid_t		 gid = 65534;
	int		 fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	if ((pw = getpwnam("nobody")) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(fchown(fd, uid, gid), 0);
	close(fd);
	assert_refused("owned by uid");
}

/* Root's own file is handed to the database's owner (also_uid), and a
 * file of that owner is accepted: the root command line and the service
 * share one lock file. */
static void
test_root_file_handed_to_database_owner(void **state)
{
	struct hashslot	*h;
	struct stat	 sb;
	char		 err[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	h = hashslot_open(path, 1, 1, 100, 65534, err, sizeof(err));
	assert_non_null(h);
	hashslot_close(h);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, 65534);
	h = hashslot_open(path, 1, 1, 100, 65534, err, sizeof(err));
	assert_non_null(h);
	hashslot_close(h);
	assert_null(hashslot_open(path, 1, 1, 100, -1, err, sizeof(err)));
}

/*
 * A root-owned file found at the path is never given away (it could be a
 * hard link to any root file), and a file with another link is refused.
 */
static void
test_found_root_file_is_not_given_away(void **state)
{
	char		 other[160], err[256];
	struct stat	 sb;
	int		 fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	name_in_dir(other, sizeof(other), "precious");
	assert_true((fd = open(other, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	assert_int_equal(link(other, path), 0);
	assert_null(hashslot_open(path, 1, 1, 100, 65534, err, sizeof(err)));
	assert_non_null(strstr(err, "links"));
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_uid, 0);
	unlink(other);
}

/* One worker is always left for checks (SPEC 5). */
static void
test_bound_leaves_a_worker(void **state)
{
	int	 s, q;

	(void)state;
	hashslot_bound(2, 2, 4, &s, &q);	/* a 4-CPU host's defaults */
	assert_int_equal(s, 2);
	assert_int_equal(q, 1);
	hashslot_bound(8, -1, 4, &s, &q);
	assert_int_equal(s, 3);
	assert_int_equal(q, 0);
	hashslot_bound(1, 64, 4, &s, &q);
	assert_int_equal(s, 1);
	assert_int_equal(q, 2);
	hashslot_bound(3, 0, 2, &s, &q);
	assert_int_equal(s, 1);
	assert_int_equal(q, 0);
	/* A single process (one worker, CGI, the command line): as is. */
	hashslot_bound(2, 5, 1, &s, &q);
	assert_int_equal(s, 2);
	assert_int_equal(q, 5);
	hashslot_bound(0, -1, 64, &s, &q);
	assert_int_equal(s, hashslot_auto_slots());
	assert_int_equal(q, hashslot_auto_slots());
}

static void
test_symlink_refused(void **state)
{
	char		 target[160], absent[160];
	struct stat	 sb;
	int		 fd;

	(void)state;
	name_in_dir(target, sizeof(target), "target");
	name_in_dir(absent, sizeof(absent), "absent");
	/* Even to a good file of ours. */
	assert_true((fd = open(target, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	assert_int_equal(symlink(target, path), 0);
	assert_refused("symbolic link");
	assert_int_equal(unlink(path), 0);
	/* A dangling one creates nothing where it points. */
	assert_int_equal(symlink(absent, path), 0);
	assert_refused("symbolic link");
	assert_int_equal(lstat(absent, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_not_a_regular_file_refused(void **state)
{
	(void)state;
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_refused("not a regular file");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_refused("directory");
	assert_int_equal(rmdir(path), 0);
}

/*
 * OFD semantics: two handles of one process compete; closing another
 * descriptor of the file drops nothing; closing the handle drops its locks.
 */
static void
test_two_opens_in_one_process_compete(void **state)
{
	struct hashslot		*a = open_ok(1, 0, 100);
	struct hashslot		*b = open_ok(1, 0, 100);
	struct hashslot_ticket	 ta, tb;
	int			 fd;

	(void)state;
	assert_int_equal(hashslot_acquire(a, &ta), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(b, &tb), HASHSLOT_BUSY);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	close(fd);
	hashslot_close(open_ok(1, 0, 100));
	assert_int_equal(hashslot_acquire(b, &tb), HASHSLOT_BUSY);

	hashslot_release(a, &ta);
	assert_int_equal(hashslot_acquire(b, &tb), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(a, &ta), HASHSLOT_BUSY);
	hashslot_close(b);
	assert_int_equal(hashslot_acquire(a, &ta), HASHSLOT_OK);
	hashslot_close(a);
}

static void
test_release_twice_is_harmless(void **state)
{
	struct hashslot		*h = open_ok(2, 0, 100);
	struct hashslot		*other = open_ok(2, 0, 100);
	struct hashslot_ticket	 t1, t2, none = { -1, 0 };
	struct hashslot_usage	 u;

	(void)state;
	hashslot_release(h, &none);
	assert_int_equal(hashslot_acquire(h, &t1), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_OK);
	hashslot_release(h, &t1);
	t1.slot = t2.slot;	/* a stale ticket naming another's slot */
	hashslot_release(h, &t1);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.busy, 1);
	hashslot_release(other, &t2);
	hashslot_release(other, &t2);
	assert_int_equal(hashslot_usage(h, &u), 0);
	assert_int_equal(u.busy, 0);
	hashslot_close(other);
	hashslot_close(h);
}

/* A handle inherited over fork() is refused, and cannot free the parent's. */
static void
test_inherited_handle_refused(void **state)
{
	struct hashslot		*h = open_ok(1, 0, 100);
	struct hashslot		*other;
	struct hashslot_ticket	 t, t2;
	pid_t			 pid, r;
	int			 status;

	(void)state;
	assert_int_equal(hashslot_acquire(h, &t), HASHSLOT_OK);
	if ((pid = fork()) == 0) {
		if (hashslot_acquire(h, &t2) != HASHSLOT_ERROR ||
		    errno != EPERM)
			_exit(1);
		hashslot_release(h, &t);
		_exit(0);
	}
	assert_true(pid > 0);
	while ((r = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		continue;
	assert_int_equal(r, pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	other = open_ok(1, 0, 100);
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_BUSY);
	hashslot_close(other);
	hashslot_release(h, &t);
	hashslot_close(h);
}

/* Two configs: each stays within its own slots, both within the larger. */
static void
test_disagreeing_configs_bounded_by_larger(void **state)
{
	struct hashslot		*small = open_ok(2, 0, 100);
	struct hashslot		*large = open_ok(4, 0, 100);
	struct hashslot_ticket	 s[3], l[3];
	struct hashslot_usage	 u;

	(void)state;
	assert_int_equal(hashslot_acquire(small, &s[0]), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(small, &s[1]), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(small, &s[2]), HASHSLOT_BUSY);
	assert_int_equal(hashslot_acquire(large, &l[0]), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(large, &l[1]), HASHSLOT_OK);
	assert_int_equal(hashslot_acquire(large, &l[2]), HASHSLOT_BUSY);
	assert_int_equal(hashslot_usage(large, &u), 0);
	assert_int_equal(u.busy, 4);
	hashslot_release(large, &l[0]);
	hashslot_release(large, &l[1]);
	/* Free slots beyond its own count do not help the smaller one. */
	assert_int_equal(hashslot_acquire(small, &s[2]), HASHSLOT_BUSY);
	hashslot_close(small);
	hashslot_close(large);
}

/* The layout: queue places lie past every slot of any config. */
static void
test_queue_places_never_overlap_slots(void **state)
{
	static struct hashslot_ticket	 t[HASHSLOT_SLOTS_MAX];
	struct hashslot			*all, *other;
	struct hashslot_ticket		 t2;
	struct hashslot_usage		 u;
	int				 i;

	(void)state;
	all = open_ok(HASHSLOT_SLOTS_MAX, 0, 100);
	for (i = 0; i < HASHSLOT_SLOTS_MAX; i++)
		assert_int_equal(hashslot_acquire(all, &t[i]), HASHSLOT_OK);
	other = open_ok(1, HASHSLOT_QUEUE_MAX, 50);
	assert_int_equal(hashslot_usage(other, &u), 0);
	assert_int_equal(u.busy, 1);
	assert_int_equal(u.waiting, 0);
	/* It finds queue place 0 free, so it waits rather than being busy. */
	assert_int_equal(hashslot_acquire(other, &t2), HASHSLOT_TIMEOUT);
	assert_int_equal(t2.queued, 1);
	hashslot_close(other);
	hashslot_close(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_full_slots_queue_then_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_killed_holder_frees_slot_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_killed_waiter_frees_queue_place, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_waiter_gives_up_at_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wait_survives_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_newcomer_queues_behind_a_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_auto_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_out_of_range_refused, setup, teardown),
		cmocka_unit_test(test_lockpath),
		cmocka_unit_test_setup_teardown(
		    test_created_0600_whatever_the_umask, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_group_or_other_access_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_other_owner_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_root_file_handed_to_database_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_found_root_file_is_not_given_away, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bound_leaves_a_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_not_a_regular_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_two_opens_in_one_process_compete, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_release_twice_is_harmless, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_inherited_handle_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_disagreeing_configs_bounded_by_larger, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_places_never_overlap_slots, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
