/*
 * The store's password-reset links, password changes, sign-in records and
 * migration runner (issue 13), against a real SQLite database in a
 * temporary directory. The test edits the database directly (sqlite3) only
 * to make the states it needs: an old schema, a migration from the future.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
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

static int
setup(void **state)
{
	struct fix	*f = calloc(1, sizeof(*f));

	if (f == NULL || unitfix_setup(&f->u, NULL) == -1) {
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

/* Reopen the fixture's database with migrations: the error, or "". */
static const char *
reopen(struct fix *f, char *err, size_t errsz)
{
	char		 path[128];
	struct store	*st;

	app_free(&f->u.app);
	(void)snprintf(path, sizeof(path), "%s/authgw.db", f->u.dir);
	err[0] = '\0';
	if ((st = store_open(path, 1, err, errsz)) != NULL)
		store_close(st);
	app_init(&f->u.app, &f->u.cfg, f->u.stats, 1);
	f->st = app_store(&f->u.app);
	return err;
}

/* A database migrated by the runner before issue 13 (user_version the
 * count of migrations, no record) gets 007 and a record of 1-5 and 7. */
static void
test_migrations_from_an_old_database(void **state)
{
	struct fix	*f = *state;
	char		 err[256];

	sql_exec(f, "DROP TABLE schema_migrations; DROP TABLE reset_tokens; "
	    "DROP TABLE login_seen; PRAGMA user_version = 5");
	assert_string_equal(reopen(f, err, sizeof(err)), "");
	assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations"),
	    6);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations "
	    "WHERE version = 6"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations "
	    "WHERE version = 7 AND applied > 0"), 1);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 7);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name IN ('reset_tokens', 'login_seen')"), 2);
	/* The users survived. */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
	/* Applied: nothing more to do, and store_open without migrating
	 * accepts the database. */
	assert_string_equal(reopen(f, err, sizeof(err)), "");
	assert_non_null(f->st);
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

	sql_exec(f, "DROP TABLE schema_migrations; DROP TABLE reset_tokens; "
	    "DROP TABLE login_seen; PRAGMA user_version = 9");
	assert_non_null(strstr(reopen(f, err, sizeof(err)), "newer"));
	assert_null(f->st);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'schema_migrations'"), 0);
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
		    test_migrations_refuse_a_newer_database, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_refuse_a_newer_legacy_database, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
