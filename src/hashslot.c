/*
 * The host-wide bound on password hashing, with byte-range locks on a lock
 * file (see hashslot.h for the layout and the contract).
 *
 * Why waiters poll instead of blocking in F_OFD_SETLKW: a blocking lock has
 * no time-out (only a signal ends it, and a library must not own a timer
 * signal), and it waits on one chosen byte, so a waiter parked on slot k
 * sleeps on while another slot is free. A waiter here sleeps
 * HASHSLOT_POLL_NSEC, then tries every slot without blocking, until the
 * deadline. Nothing ever blocks in the kernel, so no lock order exists to
 * deadlock on; a freed slot is taken within one poll step (1 ms, against
 * a scrypt of tens of milliseconds). The cost is slots tries per waiter per
 * step, bounded because the queue is.
 *
 * Fairness: a newcomer that sees a queue place held by anyone goes into the
 * queue without trying the slots, and every waiter's first try comes one
 * poll step after it queued. So a slot freed before a request arrived goes
 * to a request already waiting; among waiters the first to poll wins (not
 * strictly first come, first served; the deadline bounds the unlucky).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashslot.h"
#include "util.h"

#define HASHSLOT_QUEUE_BASE	HASHSLOT_SLOTS_MAX	/* queue place 0 */
#define HASHSLOT_POLL_NSEC	1000000L	/* a waiter's step: 1 ms */

struct hashslot {
	int		 fd;
	pid_t		 pid;		/* the process that opened it */
	int		 slots;
	int		 queue;
	int		 wait_ms;
	unsigned char	 mine[HASHSLOT_SLOTS_MAX / CHAR_BIT];
};

static int
mine_get(const struct hashslot *h, int slot)
{
	return (h->mine[slot / CHAR_BIT] >> (slot % CHAR_BIT)) & 1;
}

static void
mine_set(struct hashslot *h, int slot, int on)
{
	unsigned char	 bit = (unsigned char)(1u << (slot % CHAR_BIT));

	if (on)
		h->mine[slot / CHAR_BIT] |= bit;
	else
		h->mine[slot / CHAR_BIT] &= (unsigned char)~bit;
}

/*
 * Lock (F_WRLCK) or unlock (F_UNLCK) len bytes at off without waiting.
 * Returns 0 done, 1 held by another open file description, -1 error.
 */
static int
range_set(int fd, off_t off, off_t len, short type)
{
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = off;
	fl.l_len = len;
	/* F_OFD_SETLK never sleeps; EINTR is not expected, but harmless. */
	while (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		if (errno == EAGAIN || errno == EACCES)
			return 1;
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* 1 if another open file description holds a byte of the range, 0, -1. */
static int
range_held(int fd, off_t off, off_t len)
{
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = off;
	fl.l_len = len;
	while (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return fl.l_type != F_UNLCK;
}

/* Try every slot this handle does not hold. Returns 1 (*slot set), 0, -1. */
static int
slot_take(struct hashslot *h, int *slot)
{
	int	 i, r;

	for (i = 0; i < h->slots; i++) {
		if (mine_get(h, i))
			continue;
		if ((r = range_set(h->fd, i, 1, F_WRLCK)) == -1)
			return -1;
		if (r == 0) {
			mine_set(h, i, 1);
			*slot = i;
			return 1;
		}
	}
	return 0;
}

/* Take a free queue place. Returns 1 (*place set), 0 when full, -1. */
static int
queue_take(struct hashslot *h, int *place)
{
	int	 j, r;

	for (j = 0; j < h->queue; j++) {
		r = range_set(h->fd, (off_t)HASHSLOT_QUEUE_BASE + j, 1,
		    F_WRLCK);
		if (r == -1)
			return -1;
		if (r == 0) {
			*place = j;
			return 1;
		}
	}
	return 0;
}

static long long
mono_nsec(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Holding a queue place: sleep a step, try the slots, until one is taken
 * or the deadline passes. A signal only cuts a sleep short.
 */
static enum hashslot_rc
slot_wait(struct hashslot *h, int *slot)
{
	struct timespec	 ts;
	long long	 deadline, left;
	int		 r;

	deadline = mono_nsec() + (long long)h->wait_ms * 1000000LL;
	for (;;) {
		if ((left = deadline - mono_nsec()) <= 0)
			return HASHSLOT_TIMEOUT;
		ts.tv_sec = 0;
		ts.tv_nsec = left < HASHSLOT_POLL_NSEC ?
		    (long)left : HASHSLOT_POLL_NSEC;
		(void)nanosleep(&ts, NULL);
		if ((r = slot_take(h, slot)) == 1)
			return HASHSLOT_OK;
		if (r == -1)
			return HASHSLOT_ERROR;
	}
}

int
hashslot_auto_slots(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 1;
	n /= 2;
	return n > HASHSLOT_SLOTS_MAX ? HASHSLOT_SLOTS_MAX : (int)n;
}

void
hashslot_bound(int slots, int queue, int workers, int *use_slots,
    int *use_queue)
{
	if (slots <= 0)
		slots = hashslot_auto_slots();
	if (queue < 0)
		queue = slots;
	if (workers >= 2) {
		if (slots > workers - 1)
			slots = workers - 1;
		if (queue > workers - 1 - slots)
			queue = workers - 1 - slots;
	}
	*use_slots = slots;
	*use_queue = queue;
}

int
hashslot_lockpath(const char *database, char *out, size_t outsz)
{
	int	 n;

	n = snprintf(out, outsz, "%s%s", database, HASHSLOT_LOCK_SUFFIX);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/*
 * The file at fd may carry our locks: 0, or -1 with a reason in err. Ours
 * or also_uid's (the database's owner), one link, no access for others.
 */
static int
file_check(int fd, const char *path, long also_uid, char *err, size_t errsz)
{
	struct stat	 sb;

	if (fstat(fd, &sb) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_nlink != 1) {
		snprintf(err, errsz, "%s: has other links", path);
		return -1;
	}
	if (sb.st_uid != geteuid() && (long)sb.st_uid != also_uid) {
		snprintf(err, errsz, "%s: owned by uid %lu, not by uid %lu",
		    path, (unsigned long)sb.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errsz, "%s: mode %03o, group or others have "
		    "access (want 0600)", path, (unsigned)(sb.st_mode & 0777));
		return -1;
	}
	/* Also tells a kernel without OFD locks (before 3.15: EINVAL). */
	if (range_held(fd, 0, 1) == -1) {
		snprintf(err, errsz, "%s: open file description locks: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

struct hashslot *
hashslot_open(const char *lockpath, int slots, int queue, int wait_ms,
    long also_uid, char *err, size_t errsz)
{
	struct hashslot	*h;
	int		 fd;

	if (slots < 0 || slots > HASHSLOT_SLOTS_MAX ||
	    queue < -1 || queue > HASHSLOT_QUEUE_MAX ||
	    wait_ms < 1 || wait_ms > HASHSLOT_WAIT_MS_MAX) {
		snprintf(err, errsz, "hash slots: slots %d, queue %d or "
		    "wait %d ms out of range", slots, queue, wait_ms);
		return NULL;
	}
	if (slots == 0)
		slots = hashslot_auto_slots();
	if (queue == -1)
		queue = slots;
	/* O_NONBLOCK, O_NOCTTY: opening something odd neither hangs nor
	 * changes the terminal; the file is never read or written. */
	fd = util_open_private(lockpath, O_RDWR | O_NONBLOCK | O_NOCTTY,
	    also_uid);
	if (fd == -1) {
		snprintf(err, errsz, "%s: %s", lockpath, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		return NULL;
	}
	if (file_check(fd, lockpath, also_uid, err, errsz) == -1)
		goto fail;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errsz, "hash slots: %s", strerror(errno));
		goto fail;
	}
	h->fd = fd;
	h->pid = getpid();
	h->slots = slots;
	h->queue = queue;
	h->wait_ms = wait_ms;
	return h;
fail:
	close(fd);
	return NULL;
}

enum hashslot_rc
hashslot_acquire(struct hashslot *h, struct hashslot_ticket *t)
{
	enum hashslot_rc	 rc;
	int			 place, r, saved;

	t->slot = -1;
	t->queued = 0;
	if (h->pid != getpid()) {
		errno = EPERM;
		return HASHSLOT_ERROR;
	}
	/* Requests already waiting come first: skip the slots if any. */
	r = range_held(h->fd, HASHSLOT_QUEUE_BASE, HASHSLOT_QUEUE_MAX);
	if (r == 0)
		r = slot_take(h, &t->slot);
	if (r == -1)
		return HASHSLOT_ERROR;
	if (t->slot != -1)
		return HASHSLOT_OK;
	if ((r = queue_take(h, &place)) != 1)
		return r == 0 ? HASHSLOT_BUSY : HASHSLOT_ERROR;
	t->queued = 1;
	rc = slot_wait(h, &t->slot);
	saved = errno;
	/* Unlocking a byte this description holds alone does not fail. */
	(void)range_set(h->fd, (off_t)HASHSLOT_QUEUE_BASE + place, 1,
	    F_UNLCK);
	errno = saved;
	return rc;
}

void
hashslot_release(struct hashslot *h, struct hashslot_ticket *t)
{
	if (t->slot < 0 || t->slot >= h->slots || !mine_get(h, t->slot) ||
	    h->pid != getpid())
		return;
	(void)range_set(h->fd, t->slot, 1, F_UNLCK);
	mine_set(h, t->slot, 0);
	t->slot = -1;
}

int
hashslot_usage(struct hashslot *h, struct hashslot_usage *u)
{
	int	 i, r;

	memset(u, 0, sizeof(*u));
	u->slots = h->slots;
	u->queue = h->queue;
	for (i = 0; i < h->slots; i++) {
		r = mine_get(h, i) ? 1 : range_held(h->fd, i, 1);
		if (r == -1)
			return -1;
		u->busy += r;
	}
	for (i = 0; i < h->queue; i++) {
		r = range_held(h->fd, (off_t)HASHSLOT_QUEUE_BASE + i, 1);
		if (r == -1)
			return -1;
		u->waiting += r;
	}
	return 0;
}

void
hashslot_close(struct hashslot *h)
{
	if (h == NULL)
		return;
	close(h->fd);
	free(h);
}
