/*
 * Coherence under races (SPEC 5, issue 10 items 2, 3 and 10): no
 * interleaving of a check, a refresh or a cache refill with a logout,
 * revocation, password change, role change or disabling lets the old
 * session or role validate afterwards, in either cache tier; a login
 * whose password check began before a password change creates no session.
 * The refill is paused at its critical point (after the load, before the
 * cache writes) by session_test_refill_hook, and the other side runs
 * there, through a second serving-process state on the same database and
 * host table, as another worker would. memcached, where installed, is a
 * real one started on a free loopback port and stopped by its pid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "cache.h"
#include "config.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

struct fix {
	struct unitfix		 u;		/* worker A: the refill */
	struct app		 other;		/* worker B: the invalidation */
	struct unitfix_mcd	 mc;
	int64_t			 uid;
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	/* What the paused refill does on the other side. */
	void			(*during)(struct fix *);
	int			 ran;
};


static void
refill_hook(void *arg)
{
	struct fix	*f = arg;

	if (f->during == NULL || f->ran)
		return;
	f->ran = 1;		/* once: later checks run unpaused */
	f->during(f);
}

static int
setup_with(void **state, int memcached, const char *max_sessions)
{
	struct fix	*f = calloc(1, sizeof(*f));
	const char	*kv[] = { "cache_entries", "64", "memcached", "",
			    "max_sessions_per_user", max_sessions, NULL };
	char		 cookie[SESSION_COOKIE_LEN + 1];
	struct session	 se;

	if (f == NULL)
		return -1;
	if (memcached) {
		if (unitfix_mcd_start(&f->mc) == -1) {
			free(f);
			*state = NULL;
			return 0;	/* the test skips */
		}
		kv[3] = f->mc.addr;
	}
	if (unitfix_setup(&f->u, kv) == -1)
		goto fail;
	app_init(&f->other, &f->u.cfg, f->u.stats, 1);
	f->uid = unitfix_user(&f->u, "race@example.com", "user", 1);
	{
		struct user	 u;

		if (store_user_get_email(app_store(&f->u.app),
		    "race@example.com", &u) != STORE_OK ||
		    session_create(&f->u.app, &u, "127.0.0.1", "ua", cookie,
		    sizeof(cookie), &se) != SESSION_OK)
			goto fail;
	}
	memcpy(f->hash, se.token_hash, sizeof(f->hash));
	session_test_refill_hook = refill_hook;
	session_test_refill_arg = f;
	*state = f;
	return 0;
fail:
	unitfix_teardown(&f->u);
	unitfix_mcd_stop(&f->mc);
	free(f);
	return -1;
}

static int
setup_table(void **state)
{
	return setup_with(state, 0, "100");
}

static int
setup_memcached(void **state)
{
	return setup_with(state, 1, "100");
}

static int
setup_max2(void **state)
{
	return setup_with(state, 0, "2");
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	session_test_refill_hook = NULL;
	session_test_refill_arg = NULL;
	if (f == NULL)
		return 0;
	app_free(&f->other);
	unitfix_teardown(&f->u);
	unitfix_mcd_stop(&f->mc);
	free(f);
	return 0;
}

/* The fixture, or skip (memcached wanted but not installed). */
static struct fix *
fix_of(void **state)
{
	if (*state == NULL)
		skip();
	return *state;
}

/* A check through worker app; the session's role when SESSION_OK. */
static enum session_rc
check(struct app *app, const unsigned char *hash, int fresh,
    struct session *se)
{
	enum session_source	 src;

	return session_check(app, hash, fresh, se, &src);
}

static void
logout_other(struct fix *f)
{
	struct session	 se;

	assert_int_equal(session_end(&f->other, f->hash), SESSION_OK);
	/* The other side already refuses it, while the refill is paused. */
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
}

/*
 * Item 2: refill X loads the session, logout L ends it, X writes both
 * tiers, check Y (another worker) and every later check refuse it. Both
 * a plain check and /refresh (fresh) as X.
 */
static void
race_refill_logout(struct fix *f, int fresh)
{
	struct session	 se;

	f->during = logout_other;
	/* X answers from what it read before the logout: that is its
	 * place in the order. What it leaves behind must not validate. */
	assert_int_equal(check(&f->u.app, f->hash, fresh, &se), SESSION_OK);
	assert_true(f->ran);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_NONE);
	/* The same after the other worker has filled its view again. */
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
}

static void
test_refill_racing_logout_host_table(void **state)
{
	race_refill_logout(fix_of(state), 0);
}

static void
test_refresh_racing_logout_host_table(void **state)
{
	race_refill_logout(fix_of(state), 1);
}

static void
test_refill_racing_logout_memcached(void **state)
{
	race_refill_logout(fix_of(state), 0);
}

static void
test_refresh_racing_logout_memcached(void **state)
{
	race_refill_logout(fix_of(state), 1);
}

static void
promote_other(struct fix *f)
{
	assert_int_equal(store_user_set_role(app_store(&f->other), f->uid,
	    "admin"), STORE_OK);
	assert_int_equal(session_user_changed(&f->other, f->uid, 0),
	    SESSION_OK);
}

/* A role change during a refill: the old role never comes back. */
static void
test_refill_racing_role_change_memcached(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;

	f->during = promote_other;
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	assert_string_equal(se.user.role, "user");	/* read before */
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_OK);
	assert_string_equal(se.user.role, "admin");
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	assert_string_equal(se.user.role, "admin");
}

static void
disable_other(struct fix *f)
{
	assert_int_equal(store_user_set_disabled(app_store(&f->other), f->uid,
	    1), STORE_OK);
	assert_int_equal(session_user_changed(&f->other, f->uid, 0),
	    SESSION_OK);
}

static void
test_refill_racing_disable_memcached(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;

	f->during = disable_other;
	(void)check(&f->u.app, f->hash, 0, &se);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_NONE);
}

static void
delete_other(struct fix *f)
{
	assert_int_equal(session_user_delete(&f->other, f->uid), SESSION_OK);
}

/* Deleting the user during a refill: the session never validates after. */
static void
test_refill_racing_user_delete_memcached(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;
	struct user	 u;

	f->during = delete_other;
	(void)check(&f->u.app, f->hash, 0, &se);
	assert_true(f->ran);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_NOTFOUND);
}

/* A login that read the user before the delete creates no session. */
static void
test_login_racing_user_delete_creates_no_session(void **state)
{
	struct fix	*f = fix_of(state);
	struct user	 u;
	struct session	 se;
	char		 cookie[SESSION_COOKIE_LEN + 1];

	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	assert_int_equal(session_user_delete(&f->other, f->uid), SESSION_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &se), SESSION_NONE);
	assert_int_equal(session_user_delete(&f->other, f->uid),
	    SESSION_NONE);
}

/*
 * Item 10: an entry written under the generation before a logout and put
 * back into memcached afterwards (by someone who can write there and
 * keeps what they saw) authenticates no one.
 */
static void
test_memcached_entry_replayed_after_logout_is_refused(void **state)
{
	struct fix	*f = fix_of(state);
	struct cache	*c = app_cache(&f->u.app);
	struct session	 se;
	uint64_t	 gen;

	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	gen = cache_gen(c, f->hash);
	assert_int_equal(session_end(&f->other, f->hash), SESSION_OK);
	/* The same bytes as before: same session, same generation, same
	 * key, so the same tag. */
	cache_put(c, &se, util_now(), gen);
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
}

/* Item 3: a password change while a login hashes: no session after it. */
static void
test_login_racing_password_change_creates_no_session(void **state)
{
	struct fix	*f = fix_of(state);
	struct user	 u;
	struct session	 se;
	char		 cookie[SESSION_COOKIE_LEN + 1];
	int64_t		 n = -1;

	/* The login read the user (and its generation) with the hash. */
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	/* user passwd, meanwhile, in another process. */
	assert_int_equal(store_user_set_pwhash(app_store(&f->other), f->uid,
	    "$unit$other"), STORE_OK);
	assert_int_equal(session_user_changed(&f->other, f->uid, 1),
	    SESSION_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &se), SESSION_NONE);
	assert_int_equal(store_session_count_live(app_store(&f->u.app),
	    util_now(), &n), STORE_OK);
	assert_int_equal(n, 0);
	/* A login that read the user after the change signs in. */
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &se), SESSION_OK);
}

/* The same for "log out everywhere" and for disabling. */
static void
test_login_racing_logout_all_and_disable_creates_no_session(void **state)
{
	struct fix	*f = fix_of(state);
	struct user	 u;
	struct session	 se;
	char		 cookie[SESSION_COOKIE_LEN + 1];

	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	assert_int_equal(session_end_user(&f->other, f->uid), SESSION_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &se), SESSION_NONE);
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	assert_int_equal(store_user_set_disabled(app_store(&f->other), f->uid,
	    1), STORE_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &se), SESSION_NONE);
}

/* A rehash of the old password never undoes a change made meanwhile. */
static void
test_rehash_after_password_change_is_refused(void **state)
{
	struct fix	*f = fix_of(state);
	struct user	 u, now;

	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	assert_int_equal(store_user_set_pwhash(app_store(&f->other), f->uid,
	    "$unit$new"), STORE_OK);
	assert_int_equal(store_user_rehash(app_store(&f->u.app), u.id, u.gen,
	    "$unit$old-rehashed"), STORE_CONFLICT);
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &now), STORE_OK);
	assert_string_equal(now.pwhash, "$unit$new");
}

/*
 * A verification link checked before a password change is not used after
 * it (the route answers 409 and counts nothing), and stays usable.
 */
static void
test_verify_use_racing_password_change_conflicts(void **state)
{
	struct fix		*f = fix_of(state);
	struct store		*st = app_store(&f->u.app);
	struct store_verify	 v;
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	int64_t			 now = util_now();

	memset(hash, 7, sizeof(hash));
	assert_int_equal(store_verify_add(st, hash, f->uid, now, now + 600,
	    "$unit$link"), STORE_OK);
	assert_int_equal(store_verify_find(st, hash, now, &v), STORE_OK);
	assert_int_equal(store_user_set_pwhash(app_store(&f->other), f->uid,
	    "$unit$admin"), STORE_OK);
	assert_int_equal(store_verify_use(st, &v, now, NULL, NULL),
	    STORE_CONFLICT);
	assert_int_equal(store_verify_find(st, hash, now, &v), STORE_OK);
	assert_int_equal(store_verify_use(st, &v, now, NULL, NULL),
	    STORE_OK);
	assert_int_equal(store_verify_find(st, hash, now, &v), STORE_NOTFOUND);
}

/*
 * max_sessions_per_user: a login beyond it ends the session with the
 * oldest last_seen (then the oldest created), in the caches too.
 */
static void
test_max_sessions_ends_least_recently_used(void **state)
{
	struct fix	*f = fix_of(state);
	struct store	*st = app_store(&f->u.app);
	struct user	 u;
	struct session	 se, s2, s3;
	char		 cookie[SESSION_COOKIE_LEN + 1];
	int64_t		 now = util_now();

	/* The first session is cached, then made the least recent. */
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	assert_int_equal(store_user_get_email(st, "race@example.com", &u),
	    STORE_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &s2), SESSION_OK);
	assert_int_equal(store_session_extend(st, se.id, se.expires,
	    se.expires, now - 100), STORE_OK);	/* last_seen long ago */
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &s3), SESSION_OK);
	/* Two remain: the first is gone, from the cache as well. */
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->u.app, s2.token_hash, 0, &se), SESSION_OK);
	assert_int_equal(check(&f->u.app, s3.token_hash, 0, &se), SESSION_OK);
}

/* A password reset by another worker (session_password_set with a link
 * made under the user's generation): every session ends. */
static void
reset_other(struct fix *f)
{
	unsigned char		 h[CRYPTO_SHA256_LEN];
	struct store_reset	 r;
	struct store_pwchange	 p;
	struct store		*st = app_store(&f->other);
	struct user		 u;

	memset(h, 0x5a, sizeof(h));
	assert_int_equal(store_user_get_email(st, "race@example.com", &u),
	    STORE_OK);
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(store_reset_add(st, h, u.id, u.gen, util_now(),
	    util_now() + 60), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_reset_find(st, h, util_now(), &r), STORE_OK);
	p = (struct store_pwchange){ .user_id = u.id, .gen = r.gen,
	    .pwhash = "$unit$reset", .reset_id = r.id, .keep = NULL,
	    .mail_to = u.email, .mail = "notice", .now = util_now() };
	assert_int_equal(session_password_set(&f->other, &p), STORE_OK);
}

/* A reset during a refill (through memcached): the session never
 * validates again on either worker. */
static void
test_refill_racing_reset_memcached(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;

	f->during = reset_other;
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	assert_true(f->ran);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_NONE);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_NONE);
}

/* A login whose password check began before a reset: no session. */
static void
test_login_racing_reset_creates_no_session(void **state)
{
	struct fix	*f = fix_of(state);
	struct user	 u;
	struct session	 se;
	char		 cookie[SESSION_COOKIE_LEN + 1];
	int64_t		 n = -1;

	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	reset_other(f);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &se), SESSION_NONE);
	assert_int_equal(store_session_count_live(app_store(&f->u.app),
	    util_now(), &n), STORE_OK);
	assert_int_equal(n, 0);
}

/* A password change keeps the changer's session, valid in both workers'
 * caches, and ends the others at once. */
static void
test_change_keeps_only_the_current_session(void **state)
{
	struct fix		*f = fix_of(state);
	struct store_pwchange	 p;
	struct session		 se, other;
	struct user		 u;
	char			 cookie[SESSION_COOKIE_LEN + 1];

	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "race@example.com", &u), STORE_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &other), SESSION_OK);
	/* Both cached in both workers. */
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	assert_int_equal(check(&f->other, other.token_hash, 0, &se),
	    SESSION_OK);
	p = (struct store_pwchange){ .user_id = u.id, .gen = u.gen,
	    .pwhash = "$unit$changed", .keep = f->hash, .mail_to = u.email,
	    .mail = "notice", .now = util_now() };
	assert_int_equal(session_password_set(&f->u.app, &p), STORE_OK);
	assert_int_equal(check(&f->other, other.token_hash, 0, &se),
	    SESSION_NONE);
	assert_int_equal(check(&f->u.app, other.token_hash, 0, &se),
	    SESSION_NONE);
	assert_int_equal(check(&f->other, f->hash, 0, &se), SESSION_OK);
	assert_int_equal(check(&f->u.app, f->hash, 0, &se), SESSION_OK);
	/* The same change again: the generation moved, a conflict. */
	assert_int_equal(session_password_set(&f->u.app, &p), STORE_CONFLICT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_refill_racing_logout_host_table, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_racing_logout_host_table, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refill_racing_logout_memcached, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_racing_logout_memcached, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refill_racing_role_change_memcached, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refill_racing_disable_memcached, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refill_racing_user_delete_memcached, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_login_racing_user_delete_creates_no_session,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(
		    test_memcached_entry_replayed_after_logout_is_refused,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(
		    test_login_racing_password_change_creates_no_session,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(
		    test_login_racing_logout_all_and_disable_creates_no_session,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rehash_after_password_change_is_refused, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_verify_use_racing_password_change_conflicts,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(
		    test_max_sessions_ends_least_recently_used, setup_max2,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refill_racing_reset_memcached, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_login_racing_reset_creates_no_session, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_change_keeps_only_the_current_session,
		    setup_memcached, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
