/*
 * The host-wide bound on password hashing (SPEC section 5): at most `slots`
 * scrypt computations at once and at most `queue` more requests waiting for
 * one, counted across every process that uses the same lock file (prefork
 * workers, a second instance, CGI runs, the command line).
 *
 * Each slot and each queue place is one byte of the lock file, held with an
 * open-file-description lock (fcntl F_OFD_SETLK, Linux >= 3.15). The kernel
 * drops such a lock when the last descriptor of its open file description is
 * closed, so a process that dies, even by SIGKILL, frees what it held at
 * once. The locks belong to the open file description, not the process: two
 * handles opened in one process compete like two processes, and closing some
 * other descriptor of the file drops nothing.
 *
 * Layout (never change it without changing the file name): slot i is byte
 * i, queue place j is byte HASHSLOT_SLOTS_MAX + j. The bytes need not exist
 * in the file; it stays empty. Every process should open with the same
 * slots and queue (the same config). If two disagree, each takes bytes only
 * below its own counts, so at most the larger `slots` hash at once and at
 * most the larger `queue` wait; nobody ever blocks in the kernel, so there
 * is no deadlock either way.
 *
 * A handle is not shared between threads, and not across fork(): open it
 * in the process that uses it (a worker after the fork). The descriptor is
 * close-on-exec.
 */
#ifndef AUTHGW_HASHSLOT_H
#define AUTHGW_HASHSLOT_H

#include <stddef.h>

#define HASHSLOT_SLOTS_MAX	1024	/* as config's hash_slots */
#define HASHSLOT_QUEUE_MAX	1024	/* as config's hash_queue */
#define HASHSLOT_WAIT_MS	3000	/* usual longest wait for a slot */
#define HASHSLOT_WAIT_MS_MAX	60000
#define HASHSLOT_LOCK_SUFFIX	"-hash.lock"

enum hashslot_rc {
	HASHSLOT_OK = 0,	/* a slot is held: hash, then release it */
	HASHSLOT_BUSY,		/* slots and queue full: answered at once */
	HASHSLOT_TIMEOUT,	/* queued, but no slot within the wait */
	HASHSLOT_ERROR		/* the lock file failed (errno says why) */
};

/* What hashslot_acquire gives; the caller only passes it back. */
struct hashslot_ticket {
	int	 slot;		/* the slot held, -1 when none */
	int	 queued;	/* 1 if it waited in the queue for it */
};

/* A snapshot, for metrics and tests; stale as soon as it is taken. */
struct hashslot_usage {
	int	 slots;		/* this handle's slots and queue places */
	int	 queue;
	int	 busy;		/* slots held now, by anyone, this one too */
	int	 waiting;	/* queue places held now */
};

/* The automatic slot count: half the online CPUs, at least 1. */
int	hashslot_auto_slots(void);

/*
 * The slots and queue one instance uses: slots (0 = automatic) and queue
 * (-1 = as many as the slots) as configured, then, with workers >= 2,
 * clamped so that hashing and waiting together hold at most workers - 1
 * of them: one worker is always left for session checks (SPEC 5). With a
 * single worker (or plain CGI, workers <= 1) nothing is clamped.
 */
void	hashslot_bound(int slots, int queue, int workers, int *use_slots,
	    int *use_queue);

/*
 * The lock file of a database file: database + HASHSLOT_LOCK_SUFFIX.
 * Returns 0, or -1 if out (outsz bytes) cannot hold it.
 */
int	hashslot_lockpath(const char *database, char *out, size_t outsz);

/*
 * Open (creating it 0600 if missing) the lock file at lockpath, with slots
 * in [0, HASHSLOT_SLOTS_MAX] (0 = hashslot_auto_slots()), queue in
 * [-1, HASHSLOT_QUEUE_MAX] (-1 = as many as the slots), and a waiting
 * request giving up after wait_ms in [1, HASHSLOT_WAIT_MS_MAX].
 * Refuses a symbolic link at lockpath, anything but a regular file, a file
 * owned by neither the effective uid nor also_uid (-1: none; the owner of
 * the database; root hands a file it owns to also_uid), and a file group
 * or others may access (write, or read: a read lock on a slot byte would
 * block hashing).
 * Returns a handle for hashslot_close, or NULL with a reason in err.
 */
struct hashslot	*hashslot_open(const char *lockpath, int slots, int queue,
		    int wait_ms, long also_uid, char *err, size_t errsz);

/*
 * Take a slot for one password hash. If nobody waits and a slot is free, it
 * is taken at once. Otherwise a queue place is taken without waiting (none
 * free: HASHSLOT_BUSY at once) and the caller sleeps in short steps, trying
 * every slot after each, until one is free (HASHSLOT_OK) or wait_ms has
 * passed (HASHSLOT_TIMEOUT); the queue place is given back either way.
 * A newcomer never takes a slot ahead of requests already waiting.
 * On HASHSLOT_OK the caller owns the slot in *t and must give it back with
 * hashslot_release (hashslot_close or the process's end also free it); on
 * any other answer nothing is held. HASHSLOT_ERROR also when called in a
 * process other than the one that opened the handle.
 */
enum hashslot_rc hashslot_acquire(struct hashslot *, struct hashslot_ticket *);

/*
 * Give back the slot of a ticket from hashslot_acquire on the same handle.
 * Harmless on a ticket that holds nothing, and twice; does nothing in a
 * process other than the one that opened the handle.
 */
void	hashslot_release(struct hashslot *, struct hashslot_ticket *);

/* Count the slots and queue places held now. Returns 0, or -1 (errno). */
int	hashslot_usage(struct hashslot *, struct hashslot_usage *);

/* Close the handle, freeing whatever its tickets still hold. NULL is fine. */
void	hashslot_close(struct hashslot *);

#endif
