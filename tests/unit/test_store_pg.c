/*
 * The PostgreSQL engine under concurrency, its notices and a lost
 * connection (issue 14), against the database of AUTHGW_TEST_PG_URI
 * (tests/unit/store_pg.sh starts one). Each race is made deterministic:
 * the test's own connection holds the lock an operation must take (the
 * user row, an advisory lock, the row of a conditional write) in an open
 * transaction, the operation runs on a store handle in a thread, the test
 * waits until PostgreSQL shows that backend waiting for a lock, then
 * makes its change and commits: the operation must see it.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "store.h"

#define NOW	1700000000

static const char	*pg_uri;

struct fix {
	PGconn		*raw;		/* the test's own connection */
	struct store	*a;
	struct store	*b;
	int64_t		 uid;
	struct user	 user;
};

static PGresult *
raw_exec(PGconn *c, const char *sql)
{
	PGresult	*r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	return r;
}

static void
raw(struct fix *f, const char *sql)
{
	PQclear(raw_exec(f->raw, sql));
}

static int64_t
raw_int(PGconn *c, const char *sql)
{
	PGresult	*r = raw_exec(c, sql);
	int64_t		 v = -1;

	if (PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static struct store *
open_store(void)
{
	struct store	*st;
	char		 err[512];

	if ((st = store_open(pg_uri, 1, err, sizeof(err))) == NULL)
		fail_msg("store_open: %s", err);
	return st;
}

static int
setup(void **state)
{
	struct fix	*f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->raw = PQconnectdb(pg_uri);
	if (PQstatus(f->raw) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(f->raw, "SET client_min_messages = warning"));
	PQclear(PQexec(f->raw, "DROP SCHEMA public CASCADE; "
	    "CREATE SCHEMA public"));
	f->a = open_store();
	f->b = open_store();
	if (store_user_add(f->a, "u@example.com", "$unit$h", "user", 1, NOW,
	    &f->uid) != STORE_OK ||
	    store_user_get_email(f->a, "u@example.com", &f->user) != STORE_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	store_close(f->a);
	store_close(f->b);
	PQfinish(f->raw);
	free(f);
	return 0;
}

/*
 * Wait until n backends of this database wait for a lock (the operation
 * in the thread is blocked where it must be). Polls: the state is
 * reached or the test fails after 20 s; no sleep decides the outcome.
 */
static void
wait_lock_waiters(int n)
{
	PGconn		*c = PQconnectdb(pg_uri);
	struct timespec	 ts = { 0, 2000000 };
	int		 i;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	for (i = 0; i < 10000; i++) {
		if (raw_int(c, "SELECT count(*) FROM pg_stat_activity WHERE "
		    "datname = current_database() AND wait_event_type = 'Lock'")
		    >= n) {
			PQfinish(c);
			return;
		}
		nanosleep(&ts, NULL);
	}
	PQfinish(c);
	fail_msg("no backend waited for a lock");
}

/* An operation run in a thread on one store handle. */
struct op {
	pthread_t	 t;
	struct fix	*f;
	struct store	*st;
	enum store_rc	 (*fn)(struct op *);
	enum store_rc	 rc;
	int64_t		 n;		/* an input or output of fn */
	struct store_verify v;
	int		 ended;
	int64_t		 step;		/* totp: the step, */
	unsigned char	 nonce;		/* the nonce's byte, */
	int		 code;		/* 1: recovery code 1 instead */
};

static void *
op_main(void *arg)
{
	struct op	*o = arg;

	o->rc = o->fn(o);
	return NULL;
}

static void
op_start(struct op *o, struct fix *f, struct store *st,
    enum store_rc (*fn)(struct op *))
{
	o->f = f;
	o->st = st;
	o->fn = fn;
	assert_int_equal(pthread_create(&o->t, NULL, op_main, o), 0);
}

static enum store_rc
op_join(struct op *o)
{
	assert_int_equal(pthread_join(o->t, NULL), 0);
	return o->rc;
}

static void
make_session(struct session *se, int64_t uid, unsigned char b, int64_t seen)
{
	memset(se, 0, sizeof(*se));
	memset(se->token_hash, b, sizeof(se->token_hash));
	(void)snprintf(se->public_id, sizeof(se->public_id), "pub%02x", b);
	se->user.id = uid;
	se->created = NOW;
	se->expires = NOW + 3600;
	se->last_seen = seen;
}

static int
count_cb(const struct session *se, void *arg)
{
	(void)se;
	(*(int *)arg)++;
	return 0;
}

/* Exact limits: a taker that counted under the limit waits for the
 * counter's lock, and counts again after the other taker committed. */
static enum store_rc
op_take(struct op *o)
{
	struct store_attempt	 at = { .kind = 1, .key = "k@example.com",
	    .max = 2 };

	return store_attempts_take(o->st, &at, 1, NOW, 900);
}

static void
test_attempts_take_waits_for_the_counter(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };

	/* One counted attempt; the test takes the second, holding the
	 * counter's lock (doc/design.md: class 0x41475710 + kind). */
	raw(f, "INSERT INTO attempts (kind, key, at) VALUES "
	    "(1, 'k@example.com', 1700000000)");
	raw(f, "BEGIN");
	raw(f, "SELECT pg_advisory_xact_lock(1095194384 + 1, "
	    "hashtext('k@example.com'))");
	raw(f, "INSERT INTO attempts (kind, key, at) VALUES "
	    "(1, 'k@example.com', 1700000000)");
	op_start(&o, f, f->b, op_take);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_CONFLICT);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM attempts"), 2);
}

/* A login in flight and "log out everywhere": the login waits for the
 * user row, then finds the generation moved and writes nothing. */
static enum store_rc
op_session_add(struct op *o)
{
	struct session	 se;

	make_session(&se, o->f->uid, (unsigned char)(0x40 + o->n), NOW);
	return store_session_add(o->st, &se, o->f->user.gen, o->n > 0 ?
	    o->n : 100, count_cb, &o->ended);
}

static void
test_session_add_waits_for_the_user_row(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };

	raw(f, "BEGIN");
	raw(f, "UPDATE users SET gen = gen + 1");
	op_start(&o, f, f->b, op_session_add);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_CONFLICT);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM sessions"), 0);
}

/* The session cap: a concurrent login's session, committed while this
 * one waited, is counted (and, least recently used, ended). */
static void
test_session_cap_holds_under_concurrency(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { .n = 1 };

	raw(f, "BEGIN");
	raw(f, "SELECT 1 FROM users FOR UPDATE");
	raw(f, "INSERT INTO sessions (token_hash, public_id, user_id, "
	    "created, expires, last_seen) SELECT decode(repeat('aa', 32), "
	    "'hex'), 'other', id, 1699999000, 1700003600, 1699999000 "
	    "FROM users");
	op_start(&o, f, f->b, op_session_add);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_OK);
	assert_int_equal(o.ended, 1);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM sessions "
	    "WHERE public_id = 'other'"), 0);
}

/* A verification link used twice at once: one use wins. */
static enum store_rc
op_verify_use(struct op *o)
{
	return store_verify_use(o->st, &o->v, NOW + 1, count_cb, &o->ended);
}

static void
test_verify_link_single_use(void **state)
{
	struct fix	*f = *state;
	struct op	 o1 = { 0 }, o2 = { 0 };
	unsigned char	 h[32];
	enum store_rc	 r1, r2;

	memset(h, 0x11, sizeof(h));
	assert_int_equal(store_verify_add(f->a, h, f->uid, NOW, NOW + 60, ""),
	    STORE_OK);
	assert_int_equal(store_verify_find(f->a, h, NOW, &o1.v), STORE_OK);
	assert_int_equal(store_verify_find(f->b, h, NOW, &o2.v), STORE_OK);
	raw(f, "BEGIN");
	raw(f, "SELECT 1 FROM users FOR UPDATE");
	op_start(&o1, f, f->a, op_verify_use);
	op_start(&o2, f, f->b, op_verify_use);
	wait_lock_waiters(2);
	raw(f, "COMMIT");
	r1 = op_join(&o1);
	r2 = op_join(&o2);
	assert_true((r1 == STORE_OK && r2 == STORE_NOTFOUND) ||
	    (r1 == STORE_NOTFOUND && r2 == STORE_OK));
}

/* The token cap: a token added while this add waited is counted. */
static enum store_rc
op_token_add(struct op *o)
{
	unsigned char	 h[32];
	int64_t		 id;

	memset(h, 0x22, sizeof(h));
	return store_token_add(o->st, h, o->f->uid, "t", NOW, 0, NULL, 1, &id);
}

static void
test_token_cap_holds_under_concurrency(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };

	raw(f, "BEGIN");
	raw(f, "SELECT 1 FROM users FOR UPDATE");
	raw(f, "INSERT INTO api_tokens (user_id, token_hash, name, created) "
	    "SELECT id, decode(repeat('33', 32), 'hex'), 'x', 1 FROM users");
	op_start(&o, f, f->b, op_token_add);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_CONFLICT);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM api_tokens"), 1);
}

/* Conditional writes: an extension (or a rehash) that waited for the
 * row finds it changed and writes nothing. */
static enum store_rc
op_extend(struct op *o)
{
	return store_session_extend(o->st, o->n, NOW + 3600, NOW + 7200, NOW);
}

static enum store_rc
op_rehash(struct op *o)
{
	return store_user_rehash(o->st, o->f->uid, o->f->user.gen, "$unit$re");
}

static void
test_conditional_writes_have_one_winner(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };
	struct session	 se;

	make_session(&se, f->uid, 0x44, NOW);
	assert_int_equal(store_session_add(f->a, &se, f->user.gen, 100, NULL,
	    NULL), STORE_OK);
	o.n = se.id;
	raw(f, "BEGIN");
	raw(f, "UPDATE sessions SET expires = 1700005000");
	op_start(&o, f, f->b, op_extend);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_CONFLICT);
	assert_int_equal(raw_int(f->raw, "SELECT expires FROM sessions"),
	    1700005000);

	raw(f, "BEGIN");
	raw(f, "UPDATE users SET pwhash = 'new', gen = gen + 1");
	op_start(&o, f, f->b, op_rehash);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_CONFLICT);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM users "
	    "WHERE pwhash = 'new'"), 1);
}

/* The callers' units of work (store_begin) run one after the other. */
static enum store_rc
op_unit(struct op *o)
{
	enum store_rc	 rc;

	if ((rc = store_begin(o->st)) != STORE_OK)
		return rc;
	rc = store_outbox_add(o->st, "b@example.com", "second", NOW);
	if (rc == STORE_OK)
		rc = store_commit(o->st);
	if (rc != STORE_OK)
		store_rollback(o->st);
	return rc;
}

static void
test_units_of_work_serialise(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };

	assert_int_equal(store_begin(f->a), STORE_OK);
	assert_int_equal(store_outbox_add(f->a, "a@example.com", "first", NOW),
	    STORE_OK);
	op_start(&o, f, f->b, op_unit);
	wait_lock_waiters(1);
	assert_int_equal(store_commit(f->a), STORE_OK);
	assert_int_equal(op_join(&o), STORE_OK);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM outbox"), 2);
}

/* The items a listening handle has received. */
#define HEARD_MAX	256
struct heard {
	char	 items[HEARD_MAX][80];
	size_t	 n;
};

static void
heard_cb(void *arg, const char *item)
{
	struct heard	*h = arg;

	if (h->n < HEARD_MAX)
		(void)snprintf(h->items[h->n], sizeof(h->items[0]), "%s", item);
	h->n++;
}

/* Read what arrived within ms milliseconds (0: what is there now). */
static void
listen_poll(struct store *st, int fd, int ms, struct heard *h)
{
	struct pollfd	 p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) > 0)
		assert_int_equal(store_listen_read(st, heard_cb, h), STORE_OK);
}

static int
heard_has(const struct heard *h, const char *item)
{
	size_t	 i;

	for (i = 0; i < h->n && i < HEARD_MAX; i++)
		if (strcmp(h->items[i], item) == 0)
			return 1;
	return 0;
}

/* Wait (up to 10 s) until item is heard. */
static void
listen_until(struct store *st, int fd, struct heard *h, const char *item)
{
	int	 i;

	for (i = 0; i < 100 && !heard_has(h, item); i++)
		listen_poll(st, fd, 100, h);
	assert_true(heard_has(h, item));
}

static void
test_notice_after_commit_only(void **state)
{
	struct fix	*f = *state;
	struct heard	 h = { .n = 0 };
	struct store	*l = open_store();
	unsigned char	 hash[32];
	char		 user[32], item[80];
	int		 fd;

	assert_true((fd = store_listen(l)) >= 0);
	(void)snprintf(user, sizeof(user), "u %lld", (long long)f->uid);
	/* Inside a unit of work: nothing before the commit. */
	assert_int_equal(store_begin(f->a), STORE_OK);
	assert_int_equal(store_user_set_role(f->a, f->uid, "admin"), STORE_OK);
	listen_poll(l, fd, 200, &h);
	assert_int_equal(h.n, 0);
	assert_int_equal(store_commit(f->a), STORE_OK);
	listen_until(l, fd, &h, user);
	/* Rolled back: never; the change after it arrives alone. */
	h.n = 0;
	assert_int_equal(store_begin(f->a), STORE_OK);
	assert_int_equal(store_user_set_disabled(f->a, f->uid, 1), STORE_OK);
	store_rollback(f->a);
	memset(hash, 0xab, sizeof(hash));
	assert_int_equal(store_session_del_hash(f->a, hash), STORE_NOTFOUND);
	(void)snprintf(item, sizeof(item), "h %.64s", "abababababababababababab"
	    "abababababababababababababababababababab");
	listen_until(l, fd, &h, item);
	assert_int_equal(h.n, 1);
	store_close(l);
}

/* Ending every session of a user names each session and the user, in
 * notices under PostgreSQL's bound (150 items: more than one notice). */
static void
test_notice_items_of_a_change(void **state)
{
	struct fix	*f = *state;
	struct heard	 h = { .n = 0 };
	struct store	*l = open_store();
	struct session	 se;
	char		 user[32];
	int		 fd, i, ended = 0;

	for (i = 0; i < 150; i++) {
		make_session(&se, f->uid, (unsigned char)i, NOW + i);
		assert_int_equal(store_session_add(f->a, &se, f->user.gen, 1000,
		    NULL, NULL), STORE_OK);
	}
	assert_true((fd = store_listen(l)) >= 0);
	assert_int_equal(store_session_end_user(f->a, f->uid, count_cb,
	    &ended), STORE_OK);
	assert_int_equal(ended, 150);
	(void)snprintf(user, sizeof(user), "u %lld", (long long)f->uid);
	for (i = 0; i < 100 && h.n < 151; i++)
		listen_poll(l, fd, 100, &h);
	assert_int_equal(h.n, 151);
	assert_true(heard_has(&h, "h 0000000000000000000000000000000000000000"
	    "000000000000000000000000"));
	store_close(l);
}

/* Kill every authgw connection of the database (but the test's). */
static void
kill_backends(struct fix *f)
{
	raw(f, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
	    "application_name = 'authgw' AND datname = current_database()");
}

/* A lost connection fails the call (503 above), and the next call makes a
 * new one; inside a unit of work nothing runs until the rollback. */
static void
test_connection_lost_and_made_again(void **state)
{
	struct fix	*f = *state;
	struct heard	 h = { .n = 0 };
	struct user	 u;
	enum store_rc	 rc = STORE_OK;
	int		 fd, i;

	assert_true((fd = store_listen(f->b)) >= 0);
	kill_backends(f);
	assert_int_equal(store_user_get_email(f->a, "u@example.com", &u),
	    STORE_ERROR);
	assert_int_equal(store_user_get_email(f->a, "u@example.com", &u),
	    STORE_OK);
	assert_int_equal(store_ping(f->a), 1);
	/* The listener hears of it as an error (after the server's last
	 * words, perhaps), and listens again. */
	for (i = 0; i < 50 && rc == STORE_OK; i++)
		if (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
		    100) > 0)
			rc = store_listen_read(f->b, heard_cb, &h);
	assert_int_equal(rc, STORE_ERROR);
	assert_true(store_listen(f->b) >= 0);

	assert_int_equal(store_begin(f->a), STORE_OK);
	assert_int_equal(store_outbox_add(f->a, "a@example.com", "m", NOW),
	    STORE_OK);
	kill_backends(f);
	assert_int_equal(store_outbox_add(f->a, "b@example.com", "m", NOW),
	    STORE_ERROR);
	/* Not on a new connection outside the unit. */
	assert_int_equal(store_outbox_add(f->a, "c@example.com", "m", NOW),
	    STORE_ERROR);
	assert_int_not_equal(store_commit(f->a), STORE_OK);
	store_rollback(f->a);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM outbox"), 0);
	assert_int_equal(store_outbox_add(f->a, "d@example.com", "m", NOW),
	    STORE_OK);
}

/* The second factor (SPEC 9): the recovery codes of totp_on. */
static unsigned char	 totp_codes[2][CRYPTO_SHA256_LEN];

/* The user's pending secret ("aa..") and the recovery codes to give. */
static void
totp_pending(struct fix *f)
{
	unsigned char	 sealed[40];

	memset(sealed, 'a', sizeof(sealed));
	memset(totp_codes[0], 1, CRYPTO_SHA256_LEN);
	memset(totp_codes[1], 2, CRYPTO_SHA256_LEN);
	assert_int_equal(store_totp_pending_put(f->a, f->uid, sealed,
	    sizeof(sealed), NOW), STORE_OK);
}

/* The factor on for the user (secret "aa..", last step 10). */
static void
totp_on(struct fix *f)
{
	unsigned char	 sealed[40];

	totp_pending(f);
	memset(sealed, 'a', sizeof(sealed));
	assert_int_equal(store_totp_enable(f->a, f->uid, sealed,
	    sizeof(sealed), NOW, 10, 77,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])totp_codes, 2,
	    NULL, NULL, NULL), STORE_OK);
	f->user.gen++;		/* enabling moves the generation */
}

static enum store_rc
op_totp_enable(struct op *o)
{
	unsigned char	 sealed[40];

	memset(sealed, 'a', sizeof(sealed));
	return store_totp_enable(o->st, o->f->uid, sealed, sizeof(sealed),
	    NOW, o->step, 77,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])totp_codes, 2, NULL,
	    NULL, NULL);
}

static enum store_rc
op_totp_login(struct op *o)
{
	unsigned char	 nonce[STORE_TOTP_NONCE_LEN];

	memset(nonce, o->nonce, sizeof(nonce));
	return store_totp_login(o->st, o->f->uid, o->f->user.gen, 77, nonce,
	    NOW + 300, o->step, o->code ? totp_codes[1] : NULL);
}

static enum store_rc
op_totp_pending(struct op *o)
{
	unsigned char	 sealed[40];

	memset(sealed, 'y', sizeof(sealed));
	return store_totp_pending_put(o->st, o->f->uid, sealed, sizeof(sealed),
	    NOW);
}

/* Two callers held at the user row, then let go: one result of each. */
static void
totp_race(struct fix *f, struct op *o1, struct op *o2,
    enum store_rc (*fn)(struct op *), enum store_rc win, enum store_rc lose)
{
	enum store_rc	 r1, r2;

	raw(f, "BEGIN");
	raw(f, "SELECT 1 FROM users FOR UPDATE");
	op_start(o1, f, f->a, fn);
	op_start(o2, f, f->b, fn);
	wait_lock_waiters(2);
	raw(f, "COMMIT");
	r1 = op_join(o1);
	r2 = op_join(o2);
	assert_true((r1 == win && r2 == lose) || (r1 == lose && r2 == win));
}

/* Enabling: of two enablers with the right pending secret, one wins. */
static void
test_totp_enable_one_winner(void **state)
{
	struct fix	*f = *state;
	struct op	 o1 = { .step = 11 }, o2 = { .step = 12 };

	totp_pending(f);
	totp_race(f, &o1, &o2, op_totp_enable, STORE_OK, STORE_CONFLICT);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM totp WHERE "
	    "enabled = 1 AND pending IS NULL AND last_step IN (11, 12)"), 1);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM totp_recovery"),
	    2);
}

/* One code (one step) at two workers or hosts: one login; the other's
 * nonce is not spent. */
static void
test_totp_step_one_winner(void **state)
{
	struct fix	*f = *state;
	struct op	 o1 = { .step = 11, .nonce = 1 };
	struct op	 o2 = { .step = 11, .nonce = 2 };

	totp_on(f);
	totp_race(f, &o1, &o2, op_totp_login, STORE_OK, STORE_NOTFOUND);
	assert_int_equal(raw_int(f->raw, "SELECT last_step FROM totp"), 11);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM "
	    "totp_pending_used"), 1);
}

/* One pending login finished twice at once (two codes): once. */
static void
test_totp_nonce_single_use(void **state)
{
	struct fix	*f = *state;
	struct op	 o1 = { .step = 11, .nonce = 1 };
	struct op	 o2 = { .step = 12, .nonce = 1 };

	totp_on(f);
	totp_race(f, &o1, &o2, op_totp_login, STORE_OK, STORE_EXISTS);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM "
	    "totp_pending_used"), 1);
}

/* One recovery code at two logins at once: one wins. */
static void
test_totp_recovery_code_one_winner(void **state)
{
	struct fix	*f = *state;
	struct op	 o1 = { .nonce = 1, .code = 1 };
	struct op	 o2 = { .nonce = 2, .code = 1 };

	totp_on(f);
	totp_race(f, &o1, &o2, op_totp_login, STORE_OK, STORE_NOTFOUND);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM totp_recovery"),
	    1);
}

/* A code step in flight and a password change (the generation moves), or
 * the factor's removal (totp-reset): it waits for the user row, then sees
 * the change and writes nothing. */
static void
test_totp_login_waits_for_the_user_row(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { .step = 11, .nonce = 1 };

	totp_on(f);
	raw(f, "BEGIN");
	raw(f, "UPDATE users SET gen = gen + 1");
	op_start(&o, f, f->b, op_totp_login);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_CONFLICT);
	f->user.gen++;
	raw(f, "BEGIN");
	raw(f, "SELECT 1 FROM users FOR UPDATE");
	raw(f, "DELETE FROM totp");
	raw(f, "DELETE FROM totp_recovery");
	o.code = 1;
	op_start(&o, f, f->b, op_totp_login);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_NOTFOUND);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM "
	    "totp_pending_used"), 0);
}

/* Two first views of GET /totp at once: the first pending secret stays
 * (the second insert waits for the first's commit, then its update's
 * condition finds one pending). */
static void
test_totp_pending_first_wins(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };

	raw(f, "BEGIN");
	/* A fresh one (the user's generation, made now). */
	raw(f, "INSERT INTO totp (user_id, pending, pending_gen, "
	    "pending_created) SELECT id, decode(repeat('78', 40), 'hex'), gen, "
	    "1700000000 FROM users");
	op_start(&o, f, f->b, op_totp_pending);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_OK);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM totp WHERE "
	    "pending = decode(repeat('78', 40), 'hex')"), 1);
}

/* Two views replacing a stale pending secret at once (review 16): the
 * second waits for the first's row, then its update's condition,
 * evaluated again on the committed row, finds a fresh one and keeps it. */
static void
test_totp_stale_pending_first_wins(void **state)
{
	struct fix	*f = *state;
	struct op	 o = { 0 };

	raw(f, "INSERT INTO totp (user_id, pending, pending_gen, "
	    "pending_created) SELECT id, decode(repeat('77', 40), 'hex'), gen, "
	    "0 FROM users");
	raw(f, "BEGIN");
	raw(f, "UPDATE totp SET pending = decode(repeat('78', 40), 'hex'), "
	    "pending_created = 1700000000");
	op_start(&o, f, f->b, op_totp_pending);
	wait_lock_waiters(1);
	raw(f, "COMMIT");
	assert_int_equal(op_join(&o), STORE_OK);
	assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM totp WHERE "
	    "pending = decode(repeat('78', 40), 'hex')"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_attempts_take_waits_for_the_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_add_waits_for_the_user_row, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_cap_holds_under_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_link_single_use,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_cap_holds_under_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_conditional_writes_have_one_winner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units_of_work_serialise,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_notice_after_commit_only,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_notice_items_of_a_change,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_connection_lost_and_made_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_enable_one_winner,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_step_one_winner,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_nonce_single_use,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_recovery_code_one_winner, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_login_waits_for_the_user_row, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_stale_pending_first_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_pending_first_wins,
		    setup, teardown),
	};

	pg_uri = getenv("AUTHGW_TEST_PG_URI");
	if (pg_uri == NULL || *pg_uri == '\0') {
		fprintf(stderr, "test_store_pg: AUTHGW_TEST_PG_URI not set "
		    "(tests/unit/store_pg.sh sets it)\n");
		return 77;
	}
	return cmocka_run_group_tests_name("store (PostgreSQL, concurrency)",
	    tests, NULL, NULL);
}
