/*
 * The store's password-reset links, password changes, sign-in records,
 * API tokens and migration runner (issue 13), the shared state of
 * migration 009 (issue 14), against a real SQLite database in a temporary
 * directory, or, with AUTHGW_TEST_PG_URI set (tests/unit/store_pg.sh), the
 * same tests against that PostgreSQL database, emptied before each. The
 * test reads the database directly (sqlite3, libpq) and edits it only to
 * make the states it needs: an old schema, a migration from the future.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "app.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

#define NOW	1700000000

struct fix {
	struct unitfix	 u;
	struct store	*st;
	int64_t		 uid;
	struct user	 user;
};

/* The PostgreSQL database under test, or NULL: SQLite. */
static const char	*pg_uri;

/* Run sql on the PostgreSQL database; its first value as an integer
 * (a boolean as 0 or 1), or -1. */
static int64_t
pg_sql(const char *sql)
{
	PGconn		*c = PQconnectdb(pg_uri);
	PGresult	*r;
	const char	*v;
	int64_t		 n = -1;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
		v = PQgetvalue(r, 0, 0);
		n = strcmp(v, "t") == 0 ? 1 : strcmp(v, "f") == 0 ? 0 :
		    strtoll(v, NULL, 10);
	}
	PQclear(r);
	PQfinish(c);
	return n;
}

/* The database the fixture opens: its file, or the URI. */
static void
db_name(struct fix *f, char *out, size_t outsz)
{
	(void)snprintf(out, outsz, "%s%s%s", pg_uri ? pg_uri : f->u.dir,
	    pg_uri ? "" : "/", pg_uri ? "" : "authgw.db");
}

static int
setup(void **state)
{
	struct fix	*f = calloc(1, sizeof(*f));
	const char	*kv[] = { "database", pg_uri, NULL };

	if (pg_uri != NULL)
		(void)pg_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	if (f == NULL || unitfix_setup(&f->u, pg_uri ? kv : NULL) == -1) {
		free(f);
		return -1;
	}
	f->st = app_store(&f->u.app);
	f->uid = unitfix_user(&f->u, "u@example.com", "user", 0);
	if (f->st == NULL || store_user_get_email(f->st, "u@example.com",
	    &f->user) != STORE_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	unitfix_teardown(&f->u);
	free(f);
	return 0;
}

/* One integer from the database, through a connection of the test's. */
static int64_t
sql_int(struct fix *f, const char *sql)
{
	char		 path[128];
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (pg_uri != NULL)
		return pg_sql(sql);
	(void)snprintf(path, sizeof(path), "%s/authgw.db", f->u.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void
sql_exec(struct fix *f, const char *sql)
{
	char	 path[128];
	sqlite3	*db;

	if (pg_uri != NULL) {
		(void)pg_sql(sql);
		return;
	}
	(void)snprintf(path, sizeof(path), "%s/authgw.db", f->u.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A link for the fixture's user, made at NOW with hash byte b. */
static void
add_link(struct fix *f, unsigned char b, int64_t gen, int64_t expires)
{
	unsigned char	 h[CRYPTO_SHA256_LEN];

	memset(h, b, sizeof(h));
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_reset_add(f->st, h, f->uid, gen, NOW, expires),
	    STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);
}

static enum store_rc
find_link(struct fix *f, unsigned char b, int64_t now, struct store_reset *r)
{
	unsigned char	 h[CRYPTO_SHA256_LEN];

	memset(h, b, sizeof(h));
	return store_reset_find(f->st, h, now, r);
}

static struct store_pwchange
reset_of(const struct store_reset *r, int64_t now)
{
	return (struct store_pwchange){ .user_id = r->user.id, .gen = r->gen,
	    .pwhash = "$unit$new", .reset_id = r->id, .keep = NULL,
	    .mail_to = r->user.email, .mail = "notice", .now = now };
}

static int
count_cb(const struct session *se, void *arg)
{
	(void)se;
	(*(int *)arg)++;
	return 0;
}

static void
test_reset_link_lifecycle(void **state)
{
	struct fix		*f = *state;
	struct store_reset	 r;
	struct store_pwchange	 p;
	int			 ended = 0;

	add_link(f, 1, f->user.gen, NOW + 60);
	assert_int_equal(find_link(f, 2, NOW, &r), STORE_NOTFOUND);
	assert_int_equal(find_link(f, 1, NOW + 60, &r), STORE_NOTFOUND);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_OK);
	assert_int_equal(r.user.id, f->uid);
	assert_int_equal(r.gen, f->user.gen);
	p = reset_of(&r, NOW + 1);
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_OK);
	/* Set, verified, the notice queued, the link spent. */
	assert_int_equal(sql_int(f, "SELECT verified FROM users"), 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users WHERE "
	    "pwhash = '$unit$new'"), 1);
	assert_int_equal(sql_int(f, "SELECT gen FROM users"), f->user.gen + 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox"), 1);
	assert_int_equal(find_link(f, 1, NOW + 1, &r), STORE_NOTFOUND);
	/* Used twice: nothing written. */
	p.pwhash = "$unit$again";
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox"), 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users WHERE "
	    "pwhash = '$unit$new'"), 1);
}

static void
test_reset_link_dies_with_generation_or_disabling(void **state)
{
	struct fix		*f = *state;
	struct store_reset	 r;
	struct store_pwchange	 p;
	int			 ended = 0;

	add_link(f, 1, f->user.gen, NOW + 60);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_OK);
	/* Disabled after the link was read: refused, nothing written. */
	assert_int_equal(store_user_set_disabled(f->st, f->uid, 1), STORE_OK);
	p = reset_of(&r, NOW);
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT used FROM reset_tokens"), 0);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_NOTFOUND);
	/* Enabled again: the generation moved twice, the link stays dead. */
	assert_int_equal(store_user_set_disabled(f->st, f->uid, 0), STORE_OK);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_NOTFOUND);
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_CONFLICT);
	assert_int_equal(sql_int(f, "SELECT used FROM reset_tokens"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox"), 0);
}

static void
test_decoy_link_leaves_nothing(void **state)
{
	struct fix	*f = *state;
	unsigned char	 h[CRYPTO_SHA256_LEN];

	memset(h, 7, sizeof(h));
	assert_int_equal(store_begin(f->st), STORE_OK);
	/* User 0 is no one: accepted until the commit, which never comes. */
	assert_int_equal(store_reset_add(f->st, h, 0, 0, NOW, NOW + 60),
	    STORE_OK);
	assert_int_equal(store_outbox_add(f->st, "x@example.com", "m", NOW),
	    STORE_OK);
	store_rollback(f->st);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM reset_tokens"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox"), 0);
	/* A commit of such a link fails: it can never be stored. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_reset_add(f->st, h, 0, 0, NOW, NOW + 60),
	    STORE_OK);
	assert_int_not_equal(store_commit(f->st), STORE_OK);
	store_rollback(f->st);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM reset_tokens"), 0);
}

static void
test_reset_retires_verification_links(void **state)
{
	struct fix		*f = *state;
	unsigned char		 h[CRYPTO_SHA256_LEN];
	struct store_reset	 r;
	struct store_pwchange	 p;
	int			 ended = 0;

	memset(h, 9, sizeof(h));
	assert_int_equal(store_verify_add(f->st, h, f->uid, NOW, NOW + 60,
	    "$unit$pending"), STORE_OK);
	add_link(f, 1, f->user.gen, NOW + 60);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_OK);
	p = reset_of(&r, NOW);
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_OK);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM verify_tokens "
	    "WHERE used = 0 OR pwhash != ''"), 0);
}

static void
test_change_keeps_one_session(void **state)
{
	struct fix		*f = *state;
	struct session		 s[3];
	struct store_pwchange	 p;
	int			 i, ended = 0;

	for (i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		memset(s[i].token_hash, i + 1, CRYPTO_SHA256_LEN);
		(void)snprintf(s[i].public_id, sizeof(s[i].public_id),
		    "pub%d", i);
		s[i].user.id = f->uid;
		s[i].created = s[i].last_seen = NOW;
		s[i].expires = NOW + 100;
		assert_int_equal(store_session_add(f->st, &s[i], f->user.gen,
		    100, NULL, NULL), STORE_OK);
	}
	p = (struct store_pwchange){ .user_id = f->uid, .gen = f->user.gen,
	    .pwhash = "$unit$changed", .keep = s[1].token_hash,
	    .mail_to = f->user.email, .mail = "notice", .now = NOW };
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_OK);
	assert_int_equal(ended, 2);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(sql_int(f, "SELECT public_id = 'pub1' FROM sessions"),
	    1);
	/* A change does not verify the address. */
	assert_int_equal(sql_int(f, "SELECT verified FROM users"), 0);
	/* The kept session gone: refused, nothing written. */
	p.gen = f->user.gen + 1;
	p.keep = s[0].token_hash;
	p.pwhash = "$unit$third";
	assert_int_equal(store_password_set(f->st, &p, count_cb, &ended),
	    STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox"), 1);
}

static void
test_login_seen(void **state)
{
	struct fix	*f = *state;
	unsigned char	 a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];
	int64_t		 day = 86400, n = -1;
	int		 notify = -1;

	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	/* The first ever: recorded, no notice. */
	assert_int_equal(store_login_seen(f->st, f->uid, "192.0.2.1", a, NOW,
	    NOW - 90 * day, &notify), STORE_OK);
	assert_int_equal(notify, 0);
	assert_int_equal(store_login_seen(f->st, f->uid, "192.0.2.1", a,
	    NOW + 1, NOW + 1 - 90 * day, &notify), STORE_OK);
	assert_int_equal(notify, 0);
	/* Another agent, another address: new. */
	assert_int_equal(store_login_seen(f->st, f->uid, "192.0.2.1", b,
	    NOW + 2, NOW + 2 - 90 * day, &notify), STORE_OK);
	assert_int_equal(notify, 1);
	assert_int_equal(store_login_seen(f->st, f->uid, "192.0.2.2", a,
	    NOW + 3, NOW + 3 - 90 * day, &notify), STORE_OK);
	assert_int_equal(notify, 1);
	/* 91 days later: not seen in 90 days. */
	assert_int_equal(store_login_seen(f->st, f->uid, "192.0.2.2", a,
	    NOW + 91 * day, NOW + day, &notify), STORE_OK);
	assert_int_equal(notify, 1);
	/* The purge keeps each user's newest row. */
	assert_int_equal(store_login_seen_purge(f->st, NOW + 200 * day, &n),
	    STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM login_seen"), 1);
	assert_int_equal(store_login_seen(f->st, f->uid, "192.0.2.1", b,
	    NOW + 300 * day, NOW + 210 * day, &notify), STORE_OK);
	assert_int_equal(notify, 1);
}

static void
test_reset_purge(void **state)
{
	struct fix	*f = *state;
	int64_t		 n = -1;

	add_link(f, 1, f->user.gen, NOW + 10);
	add_link(f, 2, f->user.gen, NOW + 100);
	assert_int_equal(store_reset_purge(f->st, NOW + 50, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM reset_tokens"), 1);
}

/*
 * API tokens (issue 13): store_token_add/get/touch/each/hashes/del/purge,
 * and what a password reset, a password change and a user's deletion do
 * to them.
 */

/* A token of user uid with hash byte b, made at NOW; its id. */
static int64_t
add_token(struct fix *f, int64_t uid, unsigned char b, int64_t expires,
    const unsigned char *session, int64_t max, enum store_rc want)
{
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 name[16];
	int64_t		 id = -1;

	memset(h, b, sizeof(h));
	(void)snprintf(name, sizeof(name), "tok%u", (unsigned)b);
	assert_int_equal(store_token_add(f->st, h, uid, name, NOW, expires,
	    session, max, &id), want);
	return id;
}

/* A session of user uid with hash byte b (the user's generation gen). */
static void
add_session(struct fix *f, int64_t uid, int64_t gen, unsigned char b,
    struct session *se)
{
	memset(se, 0, sizeof(*se));
	memset(se->token_hash, b, CRYPTO_SHA256_LEN);
	(void)snprintf(se->public_id, sizeof(se->public_id), "pub%u",
	    (unsigned)b);
	se->user.id = uid;
	se->created = se->last_seen = NOW;
	se->expires = NOW + 100;
	assert_int_equal(store_session_add(f->st, se, gen, 100, NULL, NULL),
	    STORE_OK);
}

/* The generation of the user with this address. */
static int64_t
user_gen(struct fix *f, const char *email)
{
	struct user	 u;

	assert_int_equal(store_user_get_email(f->st, email, &u), STORE_OK);
	return u.gen;
}

/* Counts what a store_session_cb is given, by kind. */
struct kinds {
	int	 sessions, tokens;
	int	 fail;		/* answer non-zero */
};

static int
kinds_cb(const struct session *se, void *arg)
{
	struct kinds	*k = arg;

	if (se->is_token)
		k->tokens++;
	else
		k->sessions++;
	return k->fail;
}

static int
list_cb(const struct store_token *t, void *arg)
{
	struct store_token	*out = arg;
	size_t			 i;

	for (i = 0; out[i].id != 0; i++)
		;
	assert_true(i < 7);
	out[i] = *t;
	return 0;
}

static int
list_stop_cb(const struct store_token *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 1;
}

static void
test_token_add_get_each(void **state)
{
	struct fix		*f = *state;
	struct store_token	 l[8];
	struct session		 se;
	unsigned char		 h[CRYPTO_SHA256_LEN];
	char			 idtext[24];
	int64_t			 a, b, c, other;
	int			 n = 0;

	other = unitfix_user(&f->u, "o@example.com", "admin", 1);
	a = add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	b = add_token(f, f->uid, 2, NOW + 60, NULL, 100, STORE_OK);
	c = add_token(f, other, 3, 0, NULL, 100, STORE_OK);
	assert_true(a > 0 && b > a && c > b);
	/* Stored as given: the hash, never anything else of the token. */
	assert_int_equal(sql_int(f, pg_uri ? "SELECT count(*) FROM api_tokens "
	    "WHERE token_hash = decode(repeat('00', 32), 'hex') OR "
	    "length(token_hash) != 32" : "SELECT count(*) FROM api_tokens "
	    "WHERE token_hash = zeroblob(32) OR length(token_hash) != 32"), 0);
	assert_int_equal(sql_int(f, "SELECT last_used FROM api_tokens "
	    "WHERE name = 'tok1'"), 0);
	/* A token in a session's shape. */
	memset(h, 1, sizeof(h));
	assert_int_equal(store_token_get(f->st, h, &se), STORE_OK);
	assert_int_equal(se.is_token, 1);
	assert_int_equal(se.id, a);
	assert_memory_equal(se.token_hash, h, sizeof(h));
	assert_int_equal(se.expires, STORE_NEVER);	/* 0: never */
	assert_int_equal(se.created, NOW);
	assert_int_equal(se.last_seen, 0);
	assert_int_equal(se.user.id, f->uid);
	assert_string_equal(se.user.email, "u@example.com");
	assert_string_equal(se.user.role, "user");
	assert_int_equal(se.user.verified, 0);
	assert_int_equal(se.user.disabled, 0);
	(void)snprintf(idtext, sizeof(idtext), "%lld", (long long)a);
	assert_string_equal(se.public_id, idtext);
	memset(h, 2, sizeof(h));
	assert_int_equal(store_token_get(f->st, h, &se), STORE_OK);
	assert_int_equal(se.expires, NOW + 60);
	memset(h, 3, sizeof(h));
	assert_int_equal(store_token_get(f->st, h, &se), STORE_OK);
	assert_string_equal(se.user.role, "admin");
	assert_int_equal(se.user.verified, 1);
	/* Unknown: not found; nor is a session's hash a token's. */
	memset(h, 9, sizeof(h));
	assert_int_equal(store_token_get(f->st, h, &se), STORE_NOTFOUND);
	add_session(f, f->uid, f->user.gen, 9, &se);
	assert_int_equal(store_token_get(f->st, h, &se), STORE_NOTFOUND);
	/* The user's, oldest first, without their values. */
	memset(l, 0, sizeof(l));
	assert_int_equal(store_token_each(f->st, f->uid, list_cb, l),
	    STORE_OK);
	assert_int_equal(l[0].id, a);
	assert_int_equal(l[1].id, b);
	assert_int_equal(l[2].id, 0);
	assert_string_equal(l[0].name, "tok1");
	assert_string_equal(l[0].email, "u@example.com");
	assert_int_equal(l[0].user_id, f->uid);
	assert_int_equal(l[0].created, NOW);
	assert_int_equal(l[0].expires, 0);
	assert_int_equal(l[1].expires, NOW + 60);
	assert_int_equal(l[1].last_used, 0);
	/* Everyone's (0), and a callback may stop the walk. */
	memset(l, 0, sizeof(l));
	assert_int_equal(store_token_each(f->st, 0, list_cb, l), STORE_OK);
	assert_int_equal(l[2].id, c);
	assert_string_equal(l[2].email, "o@example.com");
	assert_int_equal(l[3].id, 0);
	assert_int_equal(store_token_each(f->st, 0, list_stop_cb, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	/* A hash is unique. */
	(void)add_token(f, other, 1, 0, NULL, 100, STORE_EXISTS);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 3);
}

static void
test_token_add_needs_an_enabled_user_and_a_live_session(void **state)
{
	struct fix	*f = *state;
	struct session	 mine, theirs;
	unsigned char	 gone[CRYPTO_SHA256_LEN];
	int64_t		 other;

	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	add_session(f, f->uid, f->user.gen, 0x11, &mine);
	add_session(f, other, user_gen(f, "o@example.com"), 0x22, &theirs);
	memset(gone, 0x33, sizeof(gone));
	/* A session that does not exist, or is another user's: refused. */
	(void)add_token(f, f->uid, 1, 0, gone, 100, STORE_NOTFOUND);
	(void)add_token(f, f->uid, 1, 0, theirs.token_hash, 100,
	    STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 0);
	/* An unverified address (the fixture's user): not from a session
	 * (a first registrant who does not own the address, e6920a8), but
	 * from the command line (no session). */
	(void)add_token(f, f->uid, 1, 0, mine.token_hash, 100,
	    STORE_NOTFOUND);
	assert_true(add_token(f, f->uid, 5, 0, NULL, 100, STORE_OK) > 0);
	/* Verified, the user's own live session: made. */
	assert_int_equal(store_user_set_verified(f->st, f->uid, 1), STORE_OK);
	assert_true(add_token(f, f->uid, 1, 0, mine.token_hash, 100,
	    STORE_OK) > 0);
	/* That session ended (a reset came first): refused. */
	assert_int_equal(store_session_del_hash(f->st, mine.token_hash),
	    STORE_OK);
	(void)add_token(f, f->uid, 2, 0, mine.token_hash, 100,
	    STORE_NOTFOUND);
	/* A disabled user: refused, with or without a session. */
	add_session(f, f->uid, f->user.gen, 0x44, &mine);
	assert_int_equal(store_user_set_disabled(f->st, f->uid, 1), STORE_OK);
	(void)add_token(f, f->uid, 3, 0, NULL, 100, STORE_NOTFOUND);
	(void)add_token(f, f->uid, 3, 0, mine.token_hash, 100,
	    STORE_NOTFOUND);
	/* No such user. */
	(void)add_token(f, 9999, 4, 0, NULL, 100, STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 2);
	/* Enabled again: made. */
	assert_int_equal(store_user_set_disabled(f->st, f->uid, 0), STORE_OK);
	assert_true(add_token(f, f->uid, 3, 0, NULL, 100, STORE_OK) > 0);
	/* No unit of work left open by the refusals. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);
}

static void
test_token_add_at_most_max(void **state)
{
	struct fix	*f = *state;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	int64_t		 other, first, owner = 0;

	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	first = add_token(f, f->uid, 1, 0, NULL, 3, STORE_OK);
	(void)add_token(f, f->uid, 2, 0, NULL, 3, STORE_OK);
	/* An expired token still counts (it is listed until purged). */
	(void)add_token(f, f->uid, 3, NOW - 1, NULL, 3, STORE_OK);
	(void)add_token(f, f->uid, 4, 0, NULL, 3, STORE_CONFLICT);
	(void)add_token(f, f->uid, 4, 0, NULL, 3, STORE_CONFLICT);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 3);
	/* Per user. */
	(void)add_token(f, other, 5, 0, NULL, 3, STORE_OK);
	/* One deleted: room for one, and only one. */
	assert_int_equal(store_token_del(f->st, first, f->uid, h, &owner),
	    STORE_OK);
	(void)add_token(f, f->uid, 6, 0, NULL, 3, STORE_OK);
	(void)add_token(f, f->uid, 7, 0, NULL, 3, STORE_CONFLICT);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 4);
	/* No unit of work left open by the refusals. */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);
}

static void
test_token_touch_only_one_writer_wins(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	int64_t		 id;

	id = add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	assert_int_equal(store_token_touch(f->st, id, 0, NOW + 10), STORE_OK);
	/* Another writer that read 0 too: a conflict, nothing written. */
	assert_int_equal(store_token_touch(f->st, id, 0, NOW + 20),
	    STORE_CONFLICT);
	memset(h, 1, sizeof(h));
	assert_int_equal(store_token_get(f->st, h, &se), STORE_OK);
	assert_int_equal(se.last_seen, NOW + 10);
	assert_int_equal(store_token_touch(f->st, id, NOW + 10, NOW + 30),
	    STORE_OK);
	assert_int_equal(sql_int(f, "SELECT last_used FROM api_tokens"),
	    NOW + 30);
	/* No such token. */
	assert_int_equal(store_token_touch(f->st, id + 1, 0, NOW),
	    STORE_CONFLICT);
}

static void
test_token_del_only_the_owners(void **state)
{
	struct fix	*f = *state;
	unsigned char	 h[CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
	int64_t		 other, a, b, owner = -1;

	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	a = add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	b = add_token(f, other, 2, 0, NULL, 100, STORE_OK);
	/* Another user's id: as unknown, and nothing deleted. */
	assert_int_equal(store_token_del(f->st, b, f->uid, h, &owner),
	    STORE_NOTFOUND);
	assert_int_equal(store_token_del(f->st, b + 100, f->uid, h, &owner),
	    STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 2);
	/* The owner's: deleted, its hash and owner answered. */
	assert_int_equal(store_token_del(f->st, a, f->uid, h, &owner),
	    STORE_OK);
	memset(want, 1, sizeof(want));
	assert_memory_equal(h, want, sizeof(h));
	assert_int_equal(owner, f->uid);
	assert_int_equal(store_token_del(f->st, a, f->uid, h, &owner),
	    STORE_NOTFOUND);
	/* Anyone's (0: the command line). */
	assert_int_equal(store_token_del(f->st, b, 0, h, &owner), STORE_OK);
	memset(want, 2, sizeof(want));
	assert_memory_equal(h, want, sizeof(h));
	assert_int_equal(owner, other);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 0);
	/* An id is never given again (the newest was deleted): an old
	 * revocation cannot end a later token. */
	assert_true(add_token(f, f->uid, 3, 0, NULL, 100, STORE_OK) > b);
}

static void
test_token_hashes(void **state)
{
	struct fix	*f = *state;
	struct kinds	 k = { 0, 0, 0 };
	int64_t		 other;

	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	(void)add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	(void)add_token(f, f->uid, 2, NOW - 5, NULL, 100, STORE_OK);
	(void)add_token(f, other, 3, 0, NULL, 100, STORE_OK);
	/* Every token of the user (expired too), kept. */
	assert_int_equal(store_token_hashes(f->st, f->uid, kinds_cb, &k),
	    STORE_OK);
	assert_int_equal(k.tokens, 2);
	assert_int_equal(k.sessions, 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 3);
}

static void
test_token_purge(void **state)
{
	struct fix	*f = *state;
	int64_t		 n = -1;

	(void)add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	(void)add_token(f, f->uid, 2, NOW + 10, NULL, 100, STORE_OK);
	(void)add_token(f, f->uid, 3, NOW + 100, NULL, 100, STORE_OK);
	assert_int_equal(store_token_purge(f->st, NOW + 9, &n), STORE_OK);
	assert_int_equal(n, 0);
	/* Expired at or before the time given; never the never-expiring. */
	assert_int_equal(store_token_purge(f->st, NOW + 10, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_token_purge(f->st, INT64_MAX, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1);
	assert_int_equal(sql_int(f, "SELECT expires FROM api_tokens"), 0);
}

static void
test_reset_ends_tokens_change_keeps_them(void **state)
{
	struct fix		*f = *state;
	struct session		 s[2];
	struct store_reset	 r;
	struct store_pwchange	 p;
	struct kinds		 k = { 0, 0, 0 };
	struct user		 u;
	int64_t			 other;

	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	add_session(f, f->uid, f->user.gen, 0x41, &s[0]);
	add_session(f, f->uid, f->user.gen, 0x42, &s[1]);
	(void)add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	(void)add_token(f, f->uid, 2, NOW + 50, NULL, 100, STORE_OK);
	(void)add_token(f, other, 3, 0, NULL, 100, STORE_OK);
	/* A change (a session kept): the other session ends, the tokens
	 * stay and are not passed to cb. */
	p = (struct store_pwchange){ .user_id = f->uid, .gen = f->user.gen,
	    .pwhash = "$unit$changed", .keep = s[0].token_hash,
	    .mail_to = f->user.email, .mail = "notice", .now = NOW };
	assert_int_equal(store_password_set(f->st, &p, kinds_cb, &k),
	    STORE_OK);
	assert_int_equal(k.sessions, 1);
	assert_int_equal(k.tokens, 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 3);
	/* A reset (no session kept): every session and token of the user,
	 * passed to cb and ended; the other user's token stays. */
	assert_int_equal(store_user_get_email(f->st, "u@example.com", &u),
	    STORE_OK);
	add_link(f, 1, u.gen, NOW + 60);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_OK);
	p = reset_of(&r, NOW + 1);
	k = (struct kinds){ 0, 0, 0 };
	assert_int_equal(store_password_set(f->st, &p, kinds_cb, &k),
	    STORE_OK);
	assert_int_equal(k.sessions, 1);
	assert_int_equal(k.tokens, 2);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sessions"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1);
	assert_int_equal(sql_int(f, "SELECT user_id FROM api_tokens"), other);
}

static void
test_reset_refused_by_cb_keeps_tokens(void **state)
{
	struct fix		*f = *state;
	struct store_reset	 r;
	struct store_pwchange	 p;
	struct kinds		 k = { 0, 0, 1 };

	(void)add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	add_link(f, 1, f->user.gen, NOW + 60);
	assert_int_equal(find_link(f, 1, NOW, &r), STORE_OK);
	p = reset_of(&r, NOW + 1);
	/* cb must accept every one: when it cannot, nothing is written. */
	assert_int_not_equal(store_password_set(f->st, &p, kinds_cb, &k),
	    STORE_OK);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1);
	assert_int_equal(sql_int(f, "SELECT used FROM reset_tokens"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox"), 0);
}

static void
test_user_del_passes_tokens(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	struct kinds	 k = { 0, 0, 0 };
	int64_t		 other;

	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	add_session(f, f->uid, f->user.gen, 0x41, &se);
	(void)add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK);
	(void)add_token(f, f->uid, 2, 0, NULL, 100, STORE_OK);
	(void)add_token(f, other, 3, 0, NULL, 100, STORE_OK);
	assert_int_equal(store_user_del(f->st, f->uid, kinds_cb, &k),
	    STORE_OK);
	assert_int_equal(k.sessions, 1);
	assert_int_equal(k.tokens, 2);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1);
	assert_int_equal(sql_int(f, "SELECT user_id FROM api_tokens"), other);
	/* A callback that cannot keep one: nothing deleted. */
	k = (struct kinds){ 0, 0, 1 };
	assert_int_equal(store_user_del(f->st, other, kinds_cb, &k),
	    STORE_ERROR);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users WHERE "
	    "email = 'o@example.com'"), 1);
}

/* Reopen the fixture's database with migrations: the error, or "". */
static const char *
reopen(struct fix *f, char *err, size_t errsz)
{
	char		 path[CONFIG_PATH_MAX];
	struct store	*st;

	app_free(&f->u.app);
	db_name(f, path, sizeof(path));
	err[0] = '\0';
	if ((st = store_open(path, 1, err, errsz)) != NULL)
		store_close(st);
	app_init(&f->u.app, &f->u.cfg, f->u.stats, 1);
	f->st = app_store(&f->u.app);
	return err;
}

/* A database migrated by the runner before issue 13 (user_version the
 * count of migrations, no record) gets 006, 007, 009 and 010 and a
 * record of 1-7, 9 and 10. (Updated with the API tokens' 006: such a
 * database has no api_tokens; with 009: nor shared and hosts; and with
 * the second factor's 010.) */
static void
test_migrations_from_an_old_database(void **state)
{
	struct fix	*f = *state;
	char		 err[256];

	if (pg_uri != NULL)
		skip();		/* SQLite's history: no such PostgreSQL */
	sql_exec(f, "DROP TABLE schema_migrations; DROP TABLE reset_tokens; "
	    "DROP TABLE login_seen; DROP TABLE api_tokens; "
	    "DROP TABLE shared; DROP TABLE hosts; DROP TABLE totp; "
	    "DROP TABLE totp_recovery; DROP TABLE totp_pending_used; "
	    "ALTER TABLE sessions DROP COLUMN mfa; PRAGMA user_version = 5");
	assert_string_equal(reopen(f, err, sizeof(err)), "");
	assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations"),
	    9);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations "
	    "WHERE version IN (6, 7, 9, 10) AND applied > 0"), 4);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 10);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name IN ('reset_tokens', 'login_seen', 'api_tokens')"), 3);
	/* The users survived. */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
	/* Applied: nothing more to do, and store_open without migrating
	 * accepts the database. */
	assert_string_equal(reopen(f, err, sizeof(err)), "");
	assert_non_null(f->st);
}

/* A database of the release before the API tokens (migrations 1-5 and 7
 * recorded, 006 reserved): 006 is applied after 7, and the tokens work. */
static void
test_migrations_apply_006_after_007(void **state)
{
	struct fix	*f = *state;
	char		 err[256];

	sql_exec(f, "DROP TABLE api_tokens; DELETE FROM schema_migrations "
	    "WHERE version = 6");
	assert_string_equal(reopen(f, err, sizeof(err)), "");
	assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations "
	    "WHERE version = 6 AND applied > 0"), 1);
	assert_int_equal(sql_int(f, pg_uri ? "SELECT max(version) FROM "
	    "schema_migrations" : "PRAGMA user_version"), 10);
	assert_true(add_token(f, f->uid, 1, 0, NULL, 100, STORE_OK) > 0);
}

/* A migration recorded that this program does not know: refused. */
static void
test_migrations_refuse_a_newer_database(void **state)
{
	struct fix	*f = *state;
	char		 err[256];

	sql_exec(f, "INSERT INTO schema_migrations VALUES (999, 1)");
	assert_non_null(strstr(reopen(f, err, sizeof(err)), "999"));
	assert_null(f->st);
}

/*
 * A database from before the record of migrations whose user_version is
 * above the last migration of that time (5): written by a program that
 * knew more. Refused, not taken to have every migration up to it (which
 * would skip 7 without running it).
 */
static void
test_migrations_refuse_a_newer_legacy_database(void **state)
{
	struct fix	*f = *state;
	char		 err[256];

	if (pg_uri != NULL)
		skip();		/* SQLite's history: no such PostgreSQL */
	sql_exec(f, "DROP TABLE schema_migrations; DROP TABLE reset_tokens; "
	    "DROP TABLE login_seen; PRAGMA user_version = 9");
	assert_non_null(strstr(reopen(f, err, sizeof(err)), "newer"));
	assert_null(f->st);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'schema_migrations'"), 0);
}

/*
 * The outbox lease (SPEC 8): a claim is one atomic write, so a second
 * process (here a second connection) finds nothing while the first sends;
 * a claimer that dies leaves the message to the next claim after its
 * lease; sent and failed messages are not claimed again before their time.
 */
static void
test_outbox_claim_lease(void **state)
{
	struct fix		*f = *state;
	struct store		*other;
	struct store_mail	 m, m2;
	char			 path[CONFIG_PATH_MAX], err[256];

	db_name(f, path, sizeof(path));
	other = store_open(path, 0, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(store_outbox_add(f->st, "a@example.com", "one", NOW),
	    STORE_OK);
	assert_int_equal(store_outbox_add(f->st, "b@example.com", "two", NOW),
	    STORE_OK);
	/* Oldest first; the other process gets the next one, then none. */
	assert_int_equal(store_outbox_claim(f->st, NOW, NOW + 90, &m),
	    STORE_OK);
	assert_string_equal(m.message, "one");
	assert_int_equal(store_outbox_claim(other, NOW, NOW + 90, &m2),
	    STORE_OK);
	assert_string_equal(m2.message, "two");
	free(m2.message);
	assert_int_equal(store_outbox_claim(other, NOW + 89, NOW + 179, &m2),
	    STORE_NOTFOUND);
	/* "one" is sent; "two"'s claimer died: claimed again at its lease. */
	assert_int_equal(store_outbox_sent(f->st, m.id, NOW + 1), STORE_OK);
	free(m.message);
	assert_int_equal(store_outbox_claim(other, NOW + 90, NOW + 180, &m2),
	    STORE_OK);
	assert_string_equal(m2.message, "two");
	assert_int_equal(m2.attempts, 0);
	/* Failed: not claimed before its next try, then claimed. */
	assert_int_equal(store_outbox_failed(other, m2.id, NOW + 500, "x"),
	    STORE_OK);
	free(m2.message);
	assert_int_equal(store_outbox_claim(f->st, NOW + 499, NOW + 589, &m),
	    STORE_NOTFOUND);
	assert_int_equal(store_outbox_claim(f->st, NOW + 500, NOW + 590, &m),
	    STORE_OK);
	assert_int_equal(m.attempts, 1);
	free(m.message);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM outbox WHERE "
	    "sent = 0"), 1);
	store_close(other);
}

/* The memcached namespace in the authority (009): 0 before the first
 * bump, then moved by one at each, seen alike by every handle. */
static void
test_namespace_shared_and_bumped(void **state)
{
	struct fix	*f = *state;
	struct store	*other;
	char		 path[CONFIG_PATH_MAX], err[256];
	uint64_t	 ns = 99;

	db_name(f, path, sizeof(path));
	assert_non_null(other = store_open(path, 0, err, sizeof(err)));
	assert_int_equal(store_namespace_get(f->st, &ns), STORE_OK);
	assert_int_equal(ns, 0);
	assert_int_equal(store_namespace_bump(f->st, &ns), STORE_OK);
	assert_int_equal(ns, 1);
	assert_int_equal(store_namespace_bump(other, &ns), STORE_OK);
	assert_int_equal(ns, 2);
	assert_int_equal(store_namespace_get(f->st, &ns), STORE_OK);
	assert_int_equal(ns, 2);
	store_close(other);
}

struct hosts_seen {
	struct store_host	 h[4];
	int			 n;
};

static int
host_cb(const struct store_host *h, void *arg)
{
	struct hosts_seen	*s = arg;

	if (s->n < 4)
		s->h[s->n] = *h;
	s->n++;
	return 0;
}

/* Heartbeats (009): one row per host name, replaced at each beat, listed
 * by name when seen at or after since. */
static void
test_host_beats(void **state)
{
	struct fix		*f = *state;
	struct hosts_seen	 s = { .n = 0 };
	struct store_host	 h = { .name = "web-b", .started = NOW,
	    .seen = NOW, .checks = 5, .cache_hits = 4, .cache_misses = 1,
	    .workers = 4 };

	assert_int_equal(store_host_beat(f->st, &h), STORE_OK);
	h.seen = NOW + 10;
	h.checks = 50;
	assert_int_equal(store_host_beat(f->st, &h), STORE_OK);
	(void)snprintf(h.name, sizeof(h.name), "web-a");
	h.seen = NOW + 5;
	assert_int_equal(store_host_beat(f->st, &h), STORE_OK);
	(void)snprintf(h.name, sizeof(h.name), "gone");
	h.seen = NOW - 600;
	assert_int_equal(store_host_beat(f->st, &h), STORE_OK);
	assert_int_equal(store_host_each(f->st, NOW - 60, host_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.h[0].name, "web-a");
	assert_string_equal(s.h[1].name, "web-b");
	assert_int_equal(s.h[1].seen, NOW + 10);
	assert_int_equal(s.h[1].checks, 50);
	assert_int_equal(s.h[1].cache_hits, 4);
	assert_int_equal(s.h[1].cache_misses, 1);
	assert_int_equal(s.h[1].workers, 4);
	assert_int_equal(s.h[1].started, NOW);
	/* Notices: SQLite has none; PostgreSQL listens. */
	if (pg_uri == NULL) {
		assert_int_equal(store_listen(f->st), -1);
	}
}

/* A factor on whose secret cannot be read is an error, never "off" (the
 * second factor would be skipped), on both engines. */
static void
test_totp_unreadable_secret_fails_closed(void **state)
{
	struct fix		*f = *state;
	struct store_totp	 t;
	char			 sql[160];

	(void)snprintf(sql, sizeof(sql), "INSERT INTO totp (user_id, secret, "
	    "enabled) VALUES (%lld, NULL, 1)", (long long)f->uid);
	sql_exec(f, sql);
	assert_int_equal(store_totp_get(f->st, f->uid, &t), STORE_ERROR);
}

/* The second factor's block (SPEC 9): who wins, and what is refused. */
static void
test_totp_block_contracts(void **state)
{
	struct fix		*f = *state;
	struct store_totp	 t;
	unsigned char		 a[40], b[40], codes[2][CRYPTO_SHA256_LEN];
	unsigned char		 n1[STORE_TOTP_NONCE_LEN], n2[STORE_TOTP_NONCE_LEN];
	int64_t			 uid = f->uid, gen = f->user.gen, count;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(codes[0], 1, CRYPTO_SHA256_LEN);
	memset(codes[1], 2, CRYPTO_SHA256_LEN);
	memset(n1, 1, sizeof(n1));
	memset(n2, 2, sizeof(n2));
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_NOTFOUND);
	assert_int_equal(store_totp_remove(f->st, uid), STORE_NOTFOUND);
	/* The first pending secret stays. */
	assert_int_equal(store_totp_pending_put(f->st, uid, a, sizeof(a), NOW),
	    STORE_OK);
	assert_int_equal(store_totp_pending_put(f->st, uid, b, sizeof(b), NOW),
	    STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.secret_len, 0);
	assert_int_equal(t.pending_len, sizeof(a));
	assert_memory_equal(t.pending, a, sizeof(a));
	/* Enabling needs the pending secret the code was checked against. */
	assert_int_equal(store_totp_enable(f->st, uid, b, sizeof(b), NOW, 10,
	    77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 2,
	    NULL, NULL, NULL), STORE_CONFLICT);
	assert_int_equal(store_totp_enable(f->st, uid, a, sizeof(a), NOW, 10,
	    77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 2,
	    NULL, NULL, NULL), STORE_OK);
	gen++;		/* enabling moves the generation */
	assert_int_equal(store_totp_enable(f->st, uid, a, sizeof(a), NOW, 11,
	    77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 2,
	    NULL, NULL, NULL), STORE_CONFLICT);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.secret_len, sizeof(a));
	assert_int_equal(t.pending_len, 0);
	assert_int_equal(t.last_step, 10);
	/* On: no new pending secret. */
	assert_int_equal(store_totp_pending_put(f->st, uid, b, sizeof(b), NOW),
	    STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.pending_len, 0);
	assert_int_equal(store_totp_count(f->st, &count), STORE_OK);
	assert_int_equal(count, 1);
	/* A step at or before the last: refused, and the nonce not spent. */
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n1, 100, 10,
	    NULL), STORE_NOTFOUND);
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n1, 100, 11,
	    NULL), STORE_OK);
	/* The nonce once only, whatever the code. */
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n1, 100, 12,
	    NULL), STORE_EXISTS);
	/* Another generation: refused. */
	assert_int_equal(store_totp_login(f->st, uid, gen + 1, 77, n2, 100, 12,
	    NULL), STORE_CONFLICT);
	/* A recovery code once. */
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n2, 100, 0,
	    codes[1]), STORE_OK);
	memset(n2, 3, sizeof(n2));
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n2, 100, 0,
	    codes[1]), STORE_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM totp_recovery"), 1);
	/* Purged when they would have expired. */
	assert_int_equal(store_totp_purge(f->st, 100, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_totp_remove(f->st, uid), STORE_OK);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM totp_recovery"), 0);
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n2, 100, 20,
	    NULL), STORE_NOTFOUND);
	/* Turned on again (review 16, finding 2): another instance, and a
	 * pending login of the first one is refused as stale. */
	memset(n1, 4, sizeof(n1));
	assert_int_equal(store_totp_pending_put(f->st, uid, b, sizeof(b), NOW),
	    STORE_OK);
	assert_int_equal(store_totp_enable(f->st, uid, b, sizeof(b), NOW, 10,
	    78, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 2,
	    NULL, NULL, NULL), STORE_OK);
	gen++;
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.factor, 78);
	assert_int_equal(store_totp_login(f->st, uid, gen, 77, n1, 100, 20,
	    NULL), STORE_CONFLICT);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM totp_pending_used"),
	    0);
	assert_int_equal(store_totp_login(f->st, uid, gen, 78, n1, 100, 20,
	    NULL), STORE_OK);
}

/*
 * Review 16, finding 1: a pending secret belongs to the user's generation
 * at its making and lives STORE_TOTP_PENDING_TTL seconds. A fresh one is
 * kept (the first wins), a stale one (by age, by generation) is replaced
 * and never enabled; on both engines.
 */
static void
test_totp_pending_secret_goes_stale(void **state)
{
	struct fix		*f = *state;
	struct store_totp	 t;
	unsigned char		 a[40], b[40], c[40];
	unsigned char		 codes[1][CRYPTO_SHA256_LEN];
	int64_t			 uid = f->uid, gen = f->user.gen;
	const int64_t		 ttl = STORE_TOTP_PENDING_TTL;
	char			 sql[96];

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	memset(codes[0], 1, CRYPTO_SHA256_LEN);
	assert_int_equal(store_totp_pending_put(f->st, uid, a, sizeof(a), NOW),
	    STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.pending_gen, gen);
	assert_int_equal(t.gen, gen);
	assert_int_equal(t.pending_created, NOW);
	assert_true(store_totp_pending_fresh(&t, NOW + ttl - 1));
	assert_false(store_totp_pending_fresh(&t, NOW + ttl));
	/* Fresh: kept, the second caller's secret is not written. */
	assert_int_equal(store_totp_pending_put(f->st, uid, b, sizeof(b),
	    NOW + ttl - 1), STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_memory_equal(t.pending, a, sizeof(a));
	/* Stale by age: not enabled, then replaced. */
	assert_int_equal(store_totp_enable(f->st, uid, a, sizeof(a), NOW + ttl,
	    10, 77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 1,
	    NULL, NULL, NULL), STORE_CONFLICT);
	assert_int_equal(store_totp_pending_put(f->st, uid, b, sizeof(b),
	    NOW + ttl), STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.secret_len, 0);
	assert_memory_equal(t.pending, b, sizeof(b));
	assert_int_equal(t.pending_created, NOW + ttl);
	/* Stale by generation (a password change, a reset, "log out
	 * everywhere"): not enabled, then replaced, however young. */
	(void)snprintf(sql, sizeof(sql), "UPDATE users SET gen = gen + 1 "
	    "WHERE id = %lld", (long long)uid);
	sql_exec(f, sql);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_int_equal(t.gen, gen + 1);
	assert_false(store_totp_pending_fresh(&t, NOW + ttl));
	assert_int_equal(store_totp_enable(f->st, uid, b, sizeof(b), NOW + ttl,
	    10, 77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 1,
	    NULL, NULL, NULL), STORE_CONFLICT);
	assert_int_equal(store_totp_pending_put(f->st, uid, c, sizeof(c),
	    NOW + ttl), STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_memory_equal(t.pending, c, sizeof(c));
	assert_int_equal(t.pending_gen, gen + 1);
	assert_true(store_totp_pending_fresh(&t, NOW + ttl));
	/* The fresh one is enabled. */
	assert_int_equal(store_totp_enable(f->st, uid, c, sizeof(c), NOW + ttl,
	    10, 77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 1,
	    NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_totp_get(f->st, uid, &t), STORE_OK);
	assert_memory_equal(t.secret, c, sizeof(c));
	assert_int_equal(t.pending_len, 0);
}

/*
 * Review 16, finding 3: turning the factor on ends every other session of
 * the user in its unit of work (each passed to the callback first), keeps
 * the enabling one, and moves the generation; on both engines.
 */
static void
test_totp_enable_ends_other_sessions(void **state)
{
	struct fix	*f = *state;
	struct session	 kept, stolen, back;
	unsigned char	 a[40], codes[1][CRYPTO_SHA256_LEN];
	int64_t		 gen = f->user.gen;
	int		 ended = 0;
	char		 sql[96];

	memset(a, 'a', sizeof(a));
	memset(codes[0], 1, CRYPTO_SHA256_LEN);
	add_session(f, f->uid, gen, 0x61, &stolen);
	add_session(f, f->uid, gen, 0x62, &kept);
	assert_int_equal(store_totp_pending_put(f->st, f->uid, a, sizeof(a),
	    NOW), STORE_OK);
	assert_int_equal(store_totp_enable(f->st, f->uid, a, sizeof(a), NOW,
	    10, 77, (const unsigned char (*)[CRYPTO_SHA256_LEN])codes, 1,
	    kept.token_hash, count_cb, &ended), STORE_OK);
	assert_int_equal(ended, 1);
	assert_int_equal(store_session_get(f->st, stolen.token_hash, &back),
	    STORE_NOTFOUND);
	assert_int_equal(store_session_get(f->st, kept.token_hash, &back),
	    STORE_OK);
	assert_int_equal(back.mfa, 0);
	(void)snprintf(sql, sizeof(sql), "SELECT gen FROM users WHERE id = "
	    "%lld", (long long)f->uid);
	assert_int_equal(sql_int(f, sql), gen + 1);
	/* A login whose password was checked before: no session. */
	add_session(f, f->uid, gen + 1, 0x63, &back);
	memset(&stolen, 0, sizeof(stolen));
	memset(stolen.token_hash, 0x64, CRYPTO_SHA256_LEN);
	(void)snprintf(stolen.public_id, sizeof(stolen.public_id), "pub64");
	stolen.user.id = f->uid;
	stolen.created = stolen.last_seen = NOW;
	stolen.expires = NOW + 100;
	assert_int_equal(store_session_add(f->st, &stolen, gen, 100, NULL,
	    NULL), STORE_CONFLICT);
}

/* A session's mfa (SPEC 9) as written, on every read of it. */
static int
mfa_of_each(const struct session *se, void *arg)
{
	int	*seen = arg;

	seen[se->token_hash[0] == 0x61] = se->mfa ? 1 : 2;
	return 0;
}

static void
test_session_keeps_mfa(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	int		 seen[2] = { 0, 0 };

	memset(&se, 0, sizeof(se));
	memset(se.token_hash, 0x61, CRYPTO_SHA256_LEN);
	(void)snprintf(se.public_id, sizeof(se.public_id), "mfa1");
	se.user.id = f->uid;
	se.created = se.last_seen = NOW;
	se.expires = NOW + 100;
	se.mfa = 1;
	assert_int_equal(store_session_add(f->st, &se, f->user.gen, 100, NULL,
	    NULL), STORE_OK);
	add_session(f, f->uid, f->user.gen, 0x62, &se);
	memset(h, 0x61, sizeof(h));
	assert_int_equal(store_session_get(f->st, h, &se), STORE_OK);
	assert_int_equal(se.mfa, 1);
	assert_int_equal(store_session_get_public(f->st, "mfa1", &se),
	    STORE_OK);
	assert_int_equal(se.mfa, 1);
	memset(h, 0x62, sizeof(h));
	assert_int_equal(store_session_get(f->st, h, &se), STORE_OK);
	assert_int_equal(se.mfa, 0);
	assert_int_equal(store_session_each(f->st, f->uid, mfa_of_each, seen),
	    STORE_OK);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[0], 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_link_lifecycle,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reset_link_dies_with_generation_or_disabling, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_decoy_link_leaves_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reset_retires_verification_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_keeps_one_session,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_seen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reset_purge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_from_an_old_database, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_apply_006_after_007, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_refuse_a_newer_database, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_refuse_a_newer_legacy_database, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_add_get_each,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_add_needs_an_enabled_user_and_a_live_session,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_add_at_most_max,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_touch_only_one_writer_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_del_only_the_owners,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_hashes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_purge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_reset_ends_tokens_change_keeps_them, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reset_refused_by_cb_keeps_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_del_passes_tokens,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim_lease,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_namespace_shared_and_bumped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_beats, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_unreadable_secret_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_pending_secret_goes_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_enable_ends_other_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_block_contracts,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_keeps_mfa,
		    setup, teardown),
	};

	pg_uri = getenv("AUTHGW_TEST_PG_URI");
	if (pg_uri != NULL && *pg_uri == '\0')
		pg_uri = NULL;
	return cmocka_run_group_tests_name(pg_uri ? "store (PostgreSQL)" :
	    "store (SQLite)", tests, NULL, NULL);
}
