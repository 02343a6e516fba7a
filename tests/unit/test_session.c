/*
 * Unit tests of src/session.c: the check with its cache tiers and renewal
 * by extension, logout and revocation, over a real SQLite database in a
 * temporary directory (unitfix.c). Sessions are written straight into the
 * store with timestamps around the wall clock, so nothing sleeps.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app.h"
#include "cache.h"
#include "crypto.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

#define LIFETIME	1000
#define MAX_LIFETIME	10000
#define HALF		(LIFETIME / 2)
#define SAME_SECOND_TRIES 5

/* subdir: a directory a test made in u.dir (removed first), or "". */
struct fix {
	struct unitfix	 u;
	char		 subdir[CONFIG_PATH_MAX];
};

static const char *const kv_db[] = {
	"session_lifetime", "1000",
	"session_max_lifetime", "10000",
	NULL
};

static const char *const kv_table[] = {
	"session_lifetime", "1000",
	"session_max_lifetime", "10000",
	"cache_entries", "64",
	NULL
};

static int
setup_kv(void **state, const char *const *kv)
{
	struct fix	*f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (unitfix_setup(&f->u, kv) == -1) {
		unitfix_teardown(&f->u);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* SQLite alone: the host table off. */
static int
setup_db(void **state)
{
	return setup_kv(state, kv_db);
}

/* SQLite behind the host table. */
static int
setup_table(void **state)
{
	return setup_kv(state, kv_table);
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	/* Close the app first: subdir may be its database or table. */
	app_free(&f->u.app);
	if (f->subdir[0] != '\0')
		(void)rmdir(f->subdir);
	unitfix_teardown(&f->u);
	free(f);
	return 0;
}

static struct store *
store_of(struct fix *f)
{
	struct store	*st = app_store(&f->u.app);

	assert_non_null(st);
	return st;
}

static int64_t
user_of(struct fix *f, const char *email)
{
	return unitfix_user(&f->u, email, "user", 1);
}

/*
 * A session of user written straight into SQLite with these times;
 * se gets the row as stored (its token hash is random).
 */
static void
add_session(struct fix *f, int64_t user, int64_t created, int64_t expires,
    struct session *se)
{
	unsigned char	 pub[16];

	memset(se, 0, sizeof(*se));
	assert_int_equal(crypto_random(se->token_hash,
	    sizeof(se->token_hash)), 0);
	assert_int_equal(crypto_random(pub, sizeof(pub)), 0);
	assert_int_equal(crypto_b64url_encode(pub, sizeof(pub), se->public_id,
	    sizeof(se->public_id)), STORE_PUBLIC_ID_LEN);
	se->user.id = user;
	se->created = se->last_seen = created;
	se->expires = expires;
	memcpy(se->ip, "192.0.2.1", 10);
	memcpy(se->user_agent, "unit", 5);
	assert_int_equal(store_session_add(store_of(f), se, 0, 1000, NULL, NULL),
	    STORE_OK);
	assert_int_equal(store_session_get(store_of(f), se->token_hash, se),
	    STORE_OK);
}

/* The row of hash as SQLite has it now. */
static void
row_of(struct fix *f, const unsigned char *hash, struct session *se)
{
	assert_int_equal(store_session_get(store_of(f), hash, se), STORE_OK);
}

/* The host table (or memcached) holds hash at now. */
static int
cached(struct fix *f, const unsigned char *hash, int64_t now)
{
	struct cache	*c = app_cache(&f->u.app);
	struct session	 se;

	return cache_get(c, hash, now, &se);
}

static enum session_rc
check(struct fix *f, const unsigned char *hash, int fresh, struct session *out,
    enum session_source *src)
{
	return session_check(&f->u.app, hash, fresh, out, src);
}

static uint64_t
stat_of(struct fix *f, enum stat_counter c)
{
	return stats_get(f->u.stats, c);
}

/* The row is as it was: a dead or refused check wrote nothing. */
static void
assert_row_unchanged(struct fix *f, const struct session *before)
{
	struct session	 now;

	row_of(f, before->token_hash, &now);
	assert_int_equal(now.expires, before->expires);
	assert_int_equal(now.last_seen, before->last_seen);
	assert_int_equal(now.extensions, before->extensions);
}

static void
test_create_cookie_finds_session(void **state)
{
	struct fix		*f = *state;
	struct user		 u;
	struct session		 se, out;
	enum session_source	 src;
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	char			 cookie[SESSION_COOKIE_LEN + 1];
	char			 other[SESSION_COOKIE_LEN + 1];
	int64_t			 t0, t1;

	(void)user_of(f, "a@example.com");
	assert_int_equal(store_user_get_email(store_of(f), "a@example.com", &u),
	    STORE_OK);
	t0 = util_now();
	assert_int_equal(session_create(&f->u.app, &u, "192.0.2.1", "unit",
	    cookie, sizeof(cookie), &se), SESSION_OK);
	t1 = util_now();
	assert_int_equal(strlen(cookie), SESSION_COOKIE_LEN);
	assert_in_range(se.created, t0, t1);
	assert_int_equal(se.expires, se.created + LIFETIME);
	assert_int_equal(session_cookie_hash(cookie, strlen(cookie), hash), 0);
	assert_memory_equal(hash, se.token_hash, CRYPTO_SHA256_LEN);
	assert_int_equal(check(f, hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(out.user.id, u.id);
	assert_string_equal(out.user.email, "a@example.com");
	assert_string_equal(out.public_id, se.public_id);
	assert_int_equal(stat_of(f, STAT_SESSIONS_CREATED), 1);
	/* A new token at every login. */
	assert_int_equal(session_create(&f->u.app, &u, "192.0.2.1", "unit",
	    other, sizeof(other), &se), SESSION_OK);
	assert_string_not_equal(cookie, other);
}

static void
test_cookie_hash_refuses_malformed(void **state)
{
	static const char	 alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 tok[SESSION_TOKEN_LEN];
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	char			 cookie[SESSION_COOKIE_LEN + 1];
	const char		*p;

	(void)state;
	memset(tok, 0x5a, sizeof(tok));
	assert_int_equal(crypto_b64url_encode(tok, sizeof(tok), cookie,
	    sizeof(cookie)), SESSION_COOKIE_LEN);
	assert_int_equal(session_cookie_hash(cookie, SESSION_COOKIE_LEN,
	    hash), 0);
	assert_int_equal(session_cookie_hash(cookie, SESSION_COOKIE_LEN - 1,
	    hash), -1);
	assert_int_equal(session_cookie_hash("", 0, hash), -1);
	/* The last character's two spare bits set: not canonical. */
	p = memchr(alpha, cookie[SESSION_COOKIE_LEN - 1], sizeof(alpha) - 1);
	assert_non_null(p);
	cookie[SESSION_COOKIE_LEN - 1] = alpha[(p - alpha) | 1];
	assert_int_equal(session_cookie_hash(cookie, SESSION_COOKIE_LEN,
	    hash), -1);
	cookie[0] = '+';
	assert_int_equal(session_cookie_hash(cookie, SESSION_COOKIE_LEN,
	    hash), -1);
}

/* The first check loads from SQLite and caches; the next is a hit. */
static void
test_miss_loads_then_caches(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out;
	enum session_source	 src;
	int64_t			 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 10,
	    now + LIFETIME - 10, &se);
	assert_int_equal(cached(f, se.token_hash, now), 0);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(out.id, se.id);
	assert_int_equal(cached(f, se.token_hash, now), 1);
	assert_int_equal(stat_of(f, STAT_CACHE_MISSES), 1);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(out.id, se.id);
	assert_string_equal(out.user.email, "a@example.com");
	assert_int_equal(out.expires, se.expires);
	assert_int_equal(stat_of(f, STAT_CACHE_HITS), 1);
	/* The hit did not read SQLite: a row removed behind the cache's
	 * back (never done by authgw) still answers from it. */
	assert_int_equal(store_session_del_hash(store_of(f), se.token_hash),
	    STORE_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
}

/* Without the host table every check is answered by SQLite. */
static void
test_no_table_always_db(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out;
	enum session_source	 src;
	int64_t			 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 10,
	    now + LIFETIME - 10, &se);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(cached(f, se.token_hash, now), 0);
	assert_int_equal(store_session_del_hash(store_of(f), se.token_hash),
	    STORE_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_NONE);
}

static void
test_fresh_bypasses_cache(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out;
	enum session_source	 src;
	int64_t			 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 10,
	    now + LIFETIME - 10, &se);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(cached(f, se.token_hash, now), 1);
	assert_int_equal(check(f, se.token_hash, 1, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	/* A fresh check is not counted as a cache miss. */
	assert_int_equal(stat_of(f, STAT_CACHE_MISSES), 1);
	assert_int_equal(stat_of(f, STAT_CACHE_HITS), 0);
	assert_int_equal(store_session_del_hash(store_of(f), se.token_hash),
	    STORE_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(check(f, se.token_hash, 1, &out, &src), SESSION_NONE);
}

/*
 * Less than half a lifetime left: expires moves to now + lifetime, one
 * write (extensions, last_seen), and the renewed row is what is cached.
 */
static void
test_renewal_extends_once(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out, row;
	enum session_source	 src;
	int64_t			 t0 = util_now(), t1;

	add_session(f, user_of(f, "a@example.com"), t0 - 900, t0 + 100, &se);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	t1 = util_now();
	assert_int_equal(src, SOURCE_DB);
	assert_in_range(out.expires, t0 + LIFETIME, t1 + LIFETIME);
	row_of(f, se.token_hash, &row);
	assert_int_equal(row.expires, out.expires);
	assert_in_range(row.last_seen, t0, t1);
	assert_int_equal(row.extensions, 1);
	assert_int_equal(row.created, se.created);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 1);
	/* The next check finds the renewed expiry and writes nothing. */
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(out.expires, row.expires);
	assert_row_unchanged(f, &row);
	assert_int_equal(check(f, se.token_hash, 1, &out, &src), SESSION_OK);
	assert_row_unchanged(f, &row);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 1);
}

/*
 * A passive check (SPEC 5, "X-Auth-Passive: 1") of a session due for
 * renewal validates it and extends nothing: expires unchanged in what it
 * answers, in SQLite and in the cache it fills; an active check then
 * extends it. Repeated passive checks of an idle session leave it to die.
 */
static void
test_passive_check_never_extends(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out, row;
	enum session_source	 src;
	int64_t			 t0 = util_now(), t1;

	add_session(f, user_of(f, "a@example.com"), t0 - 900, t0 + 100, &se);
	assert_int_equal(check(f, se.token_hash, SESSION_CHECK_PASSIVE, &out,
	    &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(out.expires, se.expires);
	assert_row_unchanged(f, &se);
	/* What it cached is the row as it is, and is used. */
	assert_int_equal(check(f, se.token_hash, SESSION_CHECK_PASSIVE, &out,
	    &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(out.expires, se.expires);
	assert_row_unchanged(f, &se);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 0);
	/* Actively: extended, once. */
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	t1 = util_now();
	assert_in_range(out.expires, t0 + LIFETIME, t1 + LIFETIME);
	row_of(f, se.token_hash, &row);
	assert_int_equal(row.expires, out.expires);
	assert_int_equal(row.extensions, 1);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 1);
}

/* The same with SQLite alone, and past its idle expiry it is dead. */
static void
test_passive_check_without_table(void **state)
{
	struct fix		*f = *state;
	struct session		 se, dead, out;
	enum session_source	 src;
	int64_t			 now = util_now();
	int			 i;

	add_session(f, user_of(f, "a@example.com"), now - 900, now + 100, &se);
	for (i = 0; i < 3; i++) {
		assert_int_equal(check(f, se.token_hash,
		    SESSION_CHECK_PASSIVE, &out, &src), SESSION_OK);
		assert_int_equal(src, SOURCE_DB);
		assert_int_equal(out.expires, se.expires);
	}
	assert_row_unchanged(f, &se);
	add_session(f, user_of(f, "b@example.com"), now - 900, now - 1, &dead);
	assert_int_equal(check(f, dead.token_hash, SESSION_CHECK_PASSIVE,
	    &out, &src), SESSION_NONE);
	assert_row_unchanged(f, &dead);
}

/* The same without the host table: SQLite alone sees one write. */
static void
test_renewal_without_table(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out, row;
	enum session_source	 src;
	int64_t			 t0 = util_now(), t1;

	add_session(f, user_of(f, "a@example.com"), t0 - 900, t0 + 100, &se);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	t1 = util_now();
	row_of(f, se.token_hash, &row);
	assert_in_range(row.expires, t0 + LIFETIME, t1 + LIFETIME);
	assert_int_equal(out.expires, row.expires);
	assert_int_equal(row.extensions, 1);
}

/* A hit in the host table that is due for renewal writes SQLite once. */
static void
test_renewal_from_cache_hit(void **state)
{
	struct fix		*f = *state;
	struct cache		*c = app_cache(&f->u.app);
	struct session		 se, out, row;
	enum session_source	 src;
	int64_t			 t0 = util_now(), t1;

	add_session(f, user_of(f, "a@example.com"), t0 - 900, t0 + 100, &se);
	cache_put(c, &se, t0, cache_gen(c, se.token_hash));
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	t1 = util_now();
	assert_int_equal(src, SOURCE_CACHE);
	assert_in_range(out.expires, t0 + LIFETIME, t1 + LIFETIME);
	row_of(f, se.token_hash, &row);
	assert_int_equal(row.extensions, 1);
	assert_int_equal(row.expires, out.expires);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(out.expires, row.expires);
	assert_row_unchanged(f, &row);
}

/*
 * The cache holds an older expiry than SQLite (another worker extended
 * it): this check's extension loses, writes nothing, answers SQLite's row.
 */
static void
test_renewal_lost_race_reloads(void **state)
{
	struct fix		*f = *state;
	struct cache		*c = app_cache(&f->u.app);
	struct session		 se, old, out;
	enum session_source	 src;
	int64_t			 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 900, now + 100, &se);
	old = se;
	old.expires = now + 50;
	cache_put(c, &old, now, cache_gen(c, old.token_hash));
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(out.expires, se.expires);
	assert_row_unchanged(f, &se);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 0);
}

/* More than half a lifetime left: no write at all. */
/*
 * The extension loses to another writer and the reloaded row says the
 * user was disabled meanwhile: the answer follows the row (found by the
 * review of these tests).
 */
static void
test_renewal_lost_race_to_disabled_user_is_none(void **state)
{
	struct fix		*f = *state;
	struct cache		*c = app_cache(&f->u.app);
	struct session		 se, old, out;
	enum session_source	 src;
	int64_t			 now = util_now();
	int64_t			 user = user_of(f, "a@example.com");

	add_session(f, user, now - 900, now + 100, &se);
	old = se;
	old.expires = now + 50;
	cache_put(c, &old, now, cache_gen(c, old.token_hash));
	/* Behind the cache's back: no invalidation reaches it. */
	assert_int_equal(store_user_set_disabled(store_of(f), user, 1),
	    STORE_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src),
	    SESSION_NONE);
}

static void
test_no_renewal_with_half_left(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out;
	enum session_source	 src;
	int64_t			 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 400, now + 600, &se);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(out.expires, se.expires);
	assert_int_equal(check(f, se.token_hash, 1, &out, &src), SESSION_OK);
	assert_int_equal(out.expires, se.expires);
	assert_row_unchanged(f, &se);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 0);
}

/*
 * Exactly half left is not "less than half": no write; one second less
 * is. The boundary case is retried until the check ran within the second
 * the session was made in.
 */
static void
test_renewal_boundary_is_strict(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out, row;
	enum session_source	 src;
	int64_t			 user = user_of(f, "a@example.com");
	int64_t			 t0, t1;
	int			 i;

	for (i = 0, t0 = 0, t1 = 1; i < SAME_SECOND_TRIES && t0 != t1; i++) {
		t0 = util_now();
		add_session(f, user, t0 - HALF, t0 + HALF, &se);
		assert_int_equal(check(f, se.token_hash, 1, &out, &src),
		    SESSION_OK);
		t1 = util_now();
	}
	assert_int_equal(t0, t1);
	assert_row_unchanged(f, &se);
	t0 = util_now();
	add_session(f, user, t0 - HALF, t0 + HALF - 1, &se);
	assert_int_equal(check(f, se.token_hash, 1, &out, &src), SESSION_OK);
	row_of(f, se.token_hash, &row);
	assert_int_equal(row.extensions, 1);
}

/* Renewal never goes past created + session_max_lifetime. */
static void
test_renewal_capped_by_max_lifetime(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out, row;
	enum session_source	 src;
	int64_t			 now = util_now();
	int64_t			 created = now - MAX_LIFETIME + 50;

	add_session(f, user_of(f, "a@example.com"), created, now + 20, &se);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(out.expires, created + MAX_LIFETIME);
	row_of(f, se.token_hash, &row);
	assert_int_equal(row.expires, created + MAX_LIFETIME);
	assert_int_equal(row.extensions, 1);
	/* At the cap already: nothing left to extend, no write. */
	assert_int_equal(check(f, se.token_hash, 1, &out, &src), SESSION_OK);
	assert_row_unchanged(f, &row);
}

/* A dead session answers NONE, writes no row and caches nothing. */
static void
expect_dead(struct fix *f, const struct session *se)
{
	struct session		 out;
	enum session_source	 src;

	assert_int_equal(check(f, se->token_hash, 0, &out, &src),
	    SESSION_NONE);
	assert_int_equal(check(f, se->token_hash, 1, &out, &src),
	    SESSION_NONE);
	assert_row_unchanged(f, se);
	assert_int_equal(cached(f, se->token_hash, util_now()), 0);
	assert_int_equal(stat_of(f, STAT_SESSIONS_EXTENDED), 0);
}

static void
test_dead_expired(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	int64_t		 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 500, now - 1, &se);
	expect_dead(f, &se);
}

/* Past its cap, even with an idle expiry left (and due for renewal). */
static void
test_dead_past_max_lifetime(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	int64_t		 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - MAX_LIFETIME - 5,
	    now + 100, &se);
	expect_dead(f, &se);
}

static void
test_dead_disabled_user(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	int64_t		 now = util_now();
	int64_t		 user = user_of(f, "a@example.com");

	add_session(f, user, now - 900, now + 100, &se);
	/* Disabled after the login (no session is added for a disabled
	 * user: store_session_add refuses it). */
	assert_int_equal(store_user_set_disabled(store_of(f), user, 1),
	    STORE_OK);
	expect_dead(f, &se);
}

static void
test_unknown_hash(void **state)
{
	struct fix		*f = *state;
	struct session		 out;
	enum session_source	 src;
	unsigned char		 hash[CRYPTO_SHA256_LEN];

	assert_int_equal(crypto_random(hash, sizeof(hash)), 0);
	assert_int_equal(check(f, hash, 0, &out, &src), SESSION_NONE);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(check(f, hash, 1, &out, &src), SESSION_NONE);
	assert_int_equal(cached(f, hash, util_now()), 0);
	assert_int_equal(stat_of(f, STAT_CACHE_MISSES), 1);
}

/* Point the database at path before the app first opens the store. */
static void
use_database(struct fix *f, const char *path)
{
	char	 err[256];

	assert_null(f->u.app.store);
	assert_int_equal(config_set(&f->u.cfg, "database", path, err,
	    sizeof(err)), 0);
}

static void
expect_store_error(struct fix *f)
{
	struct session		 out;
	enum session_source	 src;
	unsigned char		 hash[CRYPTO_SHA256_LEN];

	assert_int_equal(crypto_random(hash, sizeof(hash)), 0);
	assert_int_equal(check(f, hash, 0, &out, &src), SESSION_ERROR);
	assert_int_equal(check(f, hash, 1, &out, &src), SESSION_ERROR);
	assert_int_equal(session_end(&f->u.app, hash), SESSION_ERROR);
	assert_null(app_store(&f->u.app));
}

/*
 * The store becomes unusable while a session due for renewal sits in the
 * host table: the cached session still passes (SPEC 8: what the caches
 * hold keeps passing), the extension waits for a later check.
 */
static void
test_cached_session_due_passes_with_store_down(void **state)
{
	struct fix		*f = *state;
	struct cache		*c = app_cache(&f->u.app);
	struct session		 se, out;
	enum session_source	 src;
	char			 junk[4096];
	FILE			*fp;
	int64_t			 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 900, now + 100,
	    &se);
	cache_put(c, &se, now, cache_gen(c, se.token_hash));
	app_free(&f->u.app);
	memset(junk, 'x', sizeof(junk));
	fp = fopen(f->u.cfg.database, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	assert_int_equal(fclose(fp), 0);
	app_init(&f->u.app, &f->u.cfg, f->u.stats, 0);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(out.expires, se.expires);	/* not extended */
	assert_int_equal(check(f, se.token_hash, 1, &out, &src),
	    SESSION_ERROR);
}

static void
test_store_error_garbage_file(void **state)
{
	struct fix	*f = *state;
	char		 path[CONFIG_PATH_MAX], junk[4096];
	FILE		*fp;
	int		 n;

	n = snprintf(path, sizeof(path), "%s/garbage.db", f->u.dir);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	memset(junk, 'x', sizeof(junk));
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	assert_int_equal(fclose(fp), 0);
	use_database(f, path);
	expect_store_error(f);
}

static void
test_store_error_directory(void **state)
{
	struct fix	*f = *state;
	int		 n;

	n = snprintf(f->subdir, sizeof(f->subdir), "%s/dir.db", f->u.dir);
	assert_true(n > 0 && (size_t)n < sizeof(f->subdir));
	assert_int_equal(mkdir(f->subdir, 0700), 0);
	use_database(f, f->subdir);
	expect_store_error(f);
}

/* Check once (cached with the table on), then an invalidation. */
static void
check_cached(struct fix *f, const struct session *se)
{
	struct session		 out;
	enum session_source	 src;

	assert_int_equal(check(f, se->token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(check(f, se->token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
}

static enum session_rc
check_rc(struct fix *f, const struct session *se)
{
	struct session		 out;
	enum session_source	 src;

	return check(f, se->token_hash, 0, &out, &src);
}

static void
test_end_removes_from_cache(void **state)
{
	struct fix	*f = *state;
	struct session	 se, other;
	int64_t		 now = util_now();
	int64_t		 user = user_of(f, "a@example.com");

	add_session(f, user, now - 10, now + LIFETIME - 10, &se);
	add_session(f, user, now - 10, now + LIFETIME - 10, &other);
	check_cached(f, &se);
	check_cached(f, &other);
	assert_int_equal(session_end(&f->u.app, se.token_hash), SESSION_OK);
	assert_int_equal(check_rc(f, &se), SESSION_NONE);
	assert_int_equal(store_session_get(store_of(f), se.token_hash, &se),
	    STORE_NOTFOUND);
	assert_int_equal(session_end(&f->u.app, se.token_hash), SESSION_NONE);
	assert_int_equal(check_rc(f, &other), SESSION_OK);
	assert_int_equal(stat_of(f, STAT_LOGOUTS), 1);
}

/* A changed user: the cache forgets their sessions, SQLite answers. */
static void
test_user_changed_drops_cached(void **state)
{
	struct fix		*f = *state;
	struct session		 se, out;
	enum session_source	 src;
	int64_t			 now = util_now();
	int64_t			 user = user_of(f, "a@example.com");

	add_session(f, user, now - 10, now + LIFETIME - 10, &se);
	check_cached(f, &se);
	assert_int_equal(store_user_set_role(store_of(f), user, "admin"),
	    STORE_OK);
	/* Behind the cache's back the old role is still cached... */
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_string_equal(out.user.role, "user");
	/* ...until the change is announced. */
	assert_int_equal(session_user_changed(&f->u.app, user, 0), SESSION_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_string_equal(out.user.role, "admin");
	assert_int_equal(store_user_set_disabled(store_of(f), user, 1),
	    STORE_OK);
	assert_int_equal(check_rc(f, &se), SESSION_OK);
	assert_int_equal(session_user_changed(&f->u.app, user, 0), SESSION_OK);
	assert_int_equal(check_rc(f, &se), SESSION_NONE);
	assert_int_equal(cached(f, se.token_hash, now), 0);
}

static void
test_user_changed_ends_sessions(void **state)
{
	struct fix	*f = *state;
	struct session	 s1, s2, s3;
	int64_t		 now = util_now(), life = now + LIFETIME - 10;
	int64_t		 a = user_of(f, "a@example.com");
	int64_t		 b = user_of(f, "b@example.com");

	add_session(f, a, now - 10, life, &s1);
	add_session(f, a, now - 10, life, &s2);
	add_session(f, b, now - 10, life, &s3);
	check_cached(f, &s1);
	check_cached(f, &s2);
	check_cached(f, &s3);
	assert_int_equal(session_user_changed(&f->u.app, a, 1), SESSION_OK);
	assert_int_equal(check_rc(f, &s1), SESSION_NONE);
	assert_int_equal(check_rc(f, &s2), SESSION_NONE);
	assert_int_equal(check_rc(f, &s3), SESSION_OK);
	assert_int_equal(store_session_get(store_of(f), s1.token_hash, &s1),
	    STORE_NOTFOUND);
	assert_int_equal(stat_of(f, STAT_LOGOUTS), 2);
	assert_int_equal(session_end_user(&f->u.app, b), SESSION_OK);
	assert_int_equal(check_rc(f, &s3), SESSION_NONE);
}

static void
test_revoke_removes_from_cache(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	int64_t		 now = util_now();
	int64_t		 a = user_of(f, "a@example.com");
	int64_t		 b = user_of(f, "b@example.com");

	add_session(f, a, now - 10, now + LIFETIME - 10, &se);
	check_cached(f, &se);
	/* Not b's: as if it did not exist, and it stays. */
	assert_int_equal(session_revoke(&f->u.app, se.public_id, b),
	    SESSION_NONE);
	assert_int_equal(check_rc(f, &se), SESSION_OK);
	assert_int_equal(session_revoke(&f->u.app, "AAAAAAAAAAAAAAAAAAAAAA",
	    a), SESSION_NONE);
	assert_int_equal(session_revoke(&f->u.app, se.public_id, a),
	    SESSION_OK);
	assert_int_equal(check_rc(f, &se), SESSION_NONE);
	assert_int_equal(cached(f, se.token_hash, now), 0);
	assert_int_equal(session_revoke(&f->u.app, se.public_id, 0),
	    SESSION_NONE);
}

/* An administrator's revocation (user 0) needs no owner. */
static void
test_revoke_by_admin(void **state)
{
	struct fix	*f = *state;
	struct session	 se;
	int64_t		 now = util_now();

	add_session(f, user_of(f, "a@example.com"), now - 10,
	    now + LIFETIME - 10, &se);
	check_cached(f, &se);
	assert_int_equal(session_revoke(&f->u.app, se.public_id, 0),
	    SESSION_OK);
	assert_int_equal(check_rc(f, &se), SESSION_NONE);
}

/*
 * The host table is configured but this process cannot open it: a logout
 * is done in SQLite but not reported as a success (other processes may
 * still hold the entry); checks go on from SQLite.
 */
static void
test_end_with_unreachable_table(void **state)
{
	struct fix		*f = *state;
	struct session		 se, other, out;
	enum session_source	 src;
	int64_t			 now = util_now();
	int64_t			 user = user_of(f, "a@example.com");
	int			 n;

	n = snprintf(f->subdir, sizeof(f->subdir), "%s-sessions.cache",
	    f->u.cfg.database);
	assert_true(n > 0 && (size_t)n < sizeof(f->subdir));
	assert_int_equal(mkdir(f->subdir, 0700), 0);
	add_session(f, user, now - 10, now + LIFETIME - 10, &se);
	add_session(f, user, now - 10, now + LIFETIME - 10, &other);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(check(f, se.token_hash, 0, &out, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(session_end(&f->u.app, se.token_hash), SESSION_ERROR);
	assert_int_equal(check_rc(f, &se), SESSION_NONE);
	assert_int_equal(session_user_changed(&f->u.app, user, 0),
	    SESSION_ERROR);
	assert_int_equal(check_rc(f, &other), SESSION_OK);
}

/*
 * A password change (or reset) when this process cannot open the host
 * table: refused before anything changes (503), never a success while
 * other processes still accept the sessions it would end.
 */
static void
test_password_set_with_unreachable_table(void **state)
{
	struct fix		*f = *state;
	struct session		 se;
	struct user		 u;
	struct store_pwchange	 p;
	int64_t			 now = util_now();
	int64_t			 user = user_of(f, "a@example.com");
	int			 n;

	n = snprintf(f->subdir, sizeof(f->subdir), "%s-sessions.cache",
	    f->u.cfg.database);
	assert_true(n > 0 && (size_t)n < sizeof(f->subdir));
	assert_int_equal(mkdir(f->subdir, 0700), 0);
	add_session(f, user, now - 10, now + LIFETIME - 10, &se);
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "a@example.com", &u), STORE_OK);
	p = (struct store_pwchange){ .user_id = user, .gen = u.gen,
	    .pwhash = "$unit$new", .now = now, .mail_to = "a@example.com",
	    .mail = "To: a@example.com\r\n\r\nx\r\n" };
	assert_int_equal(session_password_set(&f->u.app, &p), STORE_ERROR);
	/* Nothing changed: the password, the generation, the session. */
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "a@example.com", &u), STORE_OK);
	assert_int_equal(u.gen, p.gen);
	assert_string_not_equal(u.pwhash, "$unit$new");
	assert_int_equal(check_rc(f, &se), SESSION_OK);
}

#define T_DB(t)		cmocka_unit_test_setup_teardown(t, setup_db, \
			    teardown)
#define T_TABLE(t)	cmocka_unit_test_setup_teardown(t, setup_table, \
			    teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T_DB(test_create_cookie_finds_session),
		cmocka_unit_test(test_cookie_hash_refuses_malformed),
		T_TABLE(test_miss_loads_then_caches),
		T_DB(test_no_table_always_db),
		T_TABLE(test_fresh_bypasses_cache),
		T_TABLE(test_renewal_extends_once),
		T_DB(test_renewal_without_table),
		T_TABLE(test_passive_check_never_extends),
		T_DB(test_passive_check_without_table),
		T_TABLE(test_renewal_from_cache_hit),
		T_TABLE(test_renewal_lost_race_reloads),
		T_TABLE(test_no_renewal_with_half_left),
		T_DB(test_renewal_boundary_is_strict),
		T_TABLE(test_renewal_capped_by_max_lifetime),
		T_TABLE(test_dead_expired),
		T_TABLE(test_dead_past_max_lifetime),
		T_TABLE(test_dead_disabled_user),
		T_TABLE(test_renewal_lost_race_to_disabled_user_is_none),
		T_TABLE(test_cached_session_due_passes_with_store_down),
		T_TABLE(test_unknown_hash),
		T_DB(test_store_error_garbage_file),
		T_TABLE(test_store_error_directory),
		T_TABLE(test_end_removes_from_cache),
		T_TABLE(test_user_changed_drops_cached),
		T_TABLE(test_user_changed_ends_sessions),
		T_TABLE(test_revoke_removes_from_cache),
		T_TABLE(test_revoke_by_admin),
		T_TABLE(test_end_with_unreachable_table),
		T_TABLE(test_password_set_with_unreachable_table),
	};

	/* Warnings and errors only: not every migration step. */
	log_init("test_session", LOG_LEVEL_WARN, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
