/*
 * API tokens (issue 13, SPEC 5): src/apitoken.c (the token's form, its
 * creation and revocation) and the token side of session_check
 * (SESSION_CHECK_TOKEN): the same cache tiers as a session, a check of
 * one kind never accepting the other, last_used written at most once per
 * half session_lifetime, and coherence under races: no interleaving of a
 * token check's refill with a revocation, a reset, the command line's
 * new password, disabling, deletion or a role change lets the old token
 * (or the old role) validate afterwards. The refill is paused at its
 * critical point by session_test_refill_hook, and the other side runs
 * there through a second serving-process state on the same database and
 * host table (as test_coherence does for sessions). memcached, where
 * installed, is a real one started on a free loopback port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apitoken.h"
#include "app.h"
#include "cache.h"
#include "config.h"
#include "crypto.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

#define EMAIL	"tok@example.com"

/* "agw_" + the base64url text of raw (32 bytes) into out. */
static void
token_text(const unsigned char *raw, char out[APITOKEN_TEXT_LEN + 1])
{
	memcpy(out, "agw_", 4);
	assert_int_equal(crypto_b64url_encode(raw, APITOKEN_RAW_LEN, out + 4,
	    APITOKEN_TEXT_LEN + 1 - 4), APITOKEN_TEXT_LEN - 4);
	assert_int_equal(strlen(out), APITOKEN_TEXT_LEN);
}

/* apitoken_hash of a C string. */
static int
hash_of(const char *text, unsigned char h[CRYPTO_SHA256_LEN])
{
	return apitoken_hash(text, strlen(text), h);
}

static void
test_hash_accepts_exactly_the_form(void **state)
{
	unsigned char	 raw[APITOKEN_RAW_LEN], h[CRYPTO_SHA256_LEN];
	unsigned char	 want[CRYPTO_SHA256_LEN];
	char		 t[APITOKEN_TEXT_LEN + 1], bad[APITOKEN_TEXT_LEN + 8];
	const char	*swap = "+/=. \x01\x7f\x80";
	size_t		 i, pos;

	(void)state;
	assert_int_equal(APITOKEN_TEXT_LEN, 47);
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 11);
	token_text(raw, t);
	/* The hash is the SHA-256 of the whole text, not of the raw bytes
	 * (a session's): the two kinds never meet. */
	assert_int_equal(hash_of(t, h), 0);
	crypto_sha256(t, strlen(t), want);
	assert_memory_equal(h, want, sizeof(h));
	crypto_sha256(raw, sizeof(raw), want);
	assert_memory_not_equal(h, want, sizeof(h));
	/* Every byte value of the random part is allowed. */
	memset(raw, 0, sizeof(raw));
	token_text(raw, t);
	assert_int_equal(hash_of(t, h), 0);
	memset(raw, 0xff, sizeof(raw));
	token_text(raw, t);
	assert_int_equal(hash_of(t, h), 0);
	/* Lengths: one short, one long, the prefix alone, nothing. */
	assert_int_equal(apitoken_hash(t, APITOKEN_TEXT_LEN - 1, h), -1);
	(void)snprintf(bad, sizeof(bad), "%sA", t);
	assert_int_equal(hash_of(bad, h), -1);
	(void)snprintf(bad, sizeof(bad), "%sAAAA", t);
	assert_int_equal(hash_of(bad, h), -1);
	assert_int_equal(hash_of("agw_", h), -1);
	assert_int_equal(apitoken_hash("", 0, h), -1);
	/* The prefix, exactly. */
	for (i = 0; i < 4; i++) {
		memcpy(bad, t, sizeof(t));
		bad[i] = i == 3 ? '-' : (char)(bad[i] - 'a' + 'A');
		assert_int_equal(hash_of(bad, h), -1);
	}
	memcpy(bad, "xagw", 4);
	memcpy(bad + 4, t + 4, APITOKEN_TEXT_LEN - 4 + 1);
	assert_int_equal(hash_of(bad, h), -1);
	/* The alphabet: base64url only, anywhere in the random part. */
	for (pos = 4; pos < APITOKEN_TEXT_LEN; pos += 7)
		for (i = 0; swap[i] != '\0'; i++) {
			memcpy(bad, t, sizeof(t));
			bad[pos] = swap[i];
			assert_int_equal(hash_of(bad, h), -1);
		}
	/* A NUL inside, within the length given. */
	memcpy(bad, t, sizeof(t));
	bad[20] = '\0';
	assert_int_equal(apitoken_hash(bad, APITOKEN_TEXT_LEN, h), -1);
	/* The canonical encoding only: the last character's 2 unused bits
	 * must be 0 ("E" is 000100, "B" is 000001). */
	memset(bad, 'A', APITOKEN_TEXT_LEN);
	memcpy(bad, "agw_", 4);
	bad[APITOKEN_TEXT_LEN] = '\0';
	bad[APITOKEN_TEXT_LEN - 1] = 'E';
	assert_int_equal(hash_of(bad, h), 0);
	bad[APITOKEN_TEXT_LEN - 1] = 'B';
	assert_int_equal(hash_of(bad, h), -1);
}

static void
test_name_ok(void **state)
{
	char	 n[80];

	(void)state;
	assert_int_equal(apitoken_name_ok("a", 1), 1);
	assert_int_equal(apitoken_name_ok("deploy key #2", 13), 1);
	memset(n, 'x', sizeof(n));
	assert_int_equal(apitoken_name_ok(n, 64), 1);
	assert_int_equal(apitoken_name_ok(n, 65), 0);
	assert_int_equal(apitoken_name_ok(n, 0), 0);
	/* Bytes, not characters: UTF-8 is text, 64 bytes of it at most. */
	assert_int_equal(apitoken_name_ok("\xc3\xa9t\xc3\xa9", 5), 1);
	assert_int_equal(apitoken_name_ok("a\x01", 2), 0);
	assert_int_equal(apitoken_name_ok("a\tb", 3), 0);
	assert_int_equal(apitoken_name_ok("a\nb", 3), 0);
	assert_int_equal(apitoken_name_ok("\x1f", 1), 0);
	assert_int_equal(apitoken_name_ok("a\x7f", 2), 0);
	assert_int_equal(apitoken_name_ok("a\0b", 3), 0);
	assert_int_equal(apitoken_name_ok(" ", 1), 1);
}

/* ------------------------------------------------------------ fixture */

struct fix {
	struct unitfix		 u;		/* worker A: the checks */
	struct app		 other;		/* worker B: the changes */
	struct unitfix_mcd	 mc;
	int64_t			 uid, id;
	char			 text[APITOKEN_TEXT_LEN + 1];
	unsigned char		 hash[CRYPTO_SHA256_LEN];
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

/* entries: the host table's size ("0": none); memcached: 1 to start one. */
static int
setup_with(void **state, const char *entries, int memcached)
{
	struct fix	*f = calloc(1, sizeof(*f));
	const char	*kv[] = { "cache_entries", entries, "memcached", "",
			    "session_lifetime", "100", NULL };

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
	f->uid = unitfix_user(&f->u, EMAIL, "user", 1);
	if (apitoken_create(&f->u.app, f->uid, "fixture", 0, NULL, f->text,
	    sizeof(f->text), &f->id) != STORE_OK ||
	    apitoken_hash(f->text, strlen(f->text), f->hash) == -1)
		goto fail;
	session_test_refill_hook = refill_hook;
	session_test_refill_arg = f;
	*state = f;
	return 0;
fail:
	app_free(&f->other);
	unitfix_teardown(&f->u);
	unitfix_mcd_stop(&f->mc);
	free(f);
	return -1;
}

static int
setup_table(void **state)
{
	return setup_with(state, "64", 0);
}

static int
setup_store_only(void **state)
{
	return setup_with(state, "0", 0);
}

static int
setup_memcached(void **state)
{
	return setup_with(state, "64", 1);
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

static struct fix *
fix_of(void **state)
{
	if (*state == NULL)
		skip();
	return *state;
}

/* A token check (flags added) through worker app. */
static enum session_rc
tcheck(struct app *app, const unsigned char *hash, int flags,
    struct session *se, enum session_source *src)
{
	enum session_source	 s;

	return session_check(app, hash, SESSION_CHECK_TOKEN | flags, se,
	    src != NULL ? src : &s);
}

/* The token's row, by hash, as the store has it now. */
static void
row(struct fix *f, struct session *se)
{
	assert_int_equal(store_token_get(app_store(&f->u.app), f->hash, se),
	    STORE_OK);
}

/* -------------------------------------------------- create and revoke */

static void
test_create_check_revoke(void **state)
{
	struct fix		*f = fix_of(state);
	struct session		 se;
	enum session_source	 src;
	int64_t			 other;
	char			 t2[APITOKEN_TEXT_LEN + 1];
	int64_t			 id2;
	unsigned char		 h2[CRYPTO_SHA256_LEN];

	assert_int_equal(strncmp(f->text, "agw_", 4), 0);
	assert_int_equal(strlen(f->text), APITOKEN_TEXT_LEN);
	/* Stored under the hash of the text. */
	row(f, &se);
	assert_int_equal(se.id, f->id);
	assert_int_equal(se.expires, STORE_NEVER);
	/* From the store, then from the host table. */
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(se.is_token, 1);
	assert_int_equal(se.id, f->id);
	assert_int_equal(se.user.id, f->uid);
	assert_string_equal(se.user.email, EMAIL);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(se.is_token, 1);
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	/* Every token is new. */
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "second", 0, NULL,
	    t2, sizeof(t2), &id2), STORE_OK);
	assert_string_not_equal(t2, f->text);
	assert_int_not_equal(id2, f->id);
	assert_int_equal(hash_of(t2, h2), 0);
	assert_int_equal(tcheck(&f->u.app, h2, 0, &se, NULL), SESSION_OK);
	assert_int_equal(se.id, id2);
	/* Another user cannot revoke it: as unknown, and it still passes. */
	other = unitfix_user(&f->u, "o@example.com", "user", 1);
	assert_int_equal(apitoken_revoke(&f->other, f->id, other),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	/* Its owner can: refused at once by both workers, from every tier. */
	assert_int_equal(apitoken_revoke(&f->other, f->id, f->uid),
	    SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(store_token_get(app_store(&f->u.app), f->hash, &se),
	    STORE_NOTFOUND);
	assert_int_equal(apitoken_revoke(&f->other, f->id, f->uid),
	    SESSION_NONE);
	/* The other token is untouched; the command line (0) revokes any. */
	assert_int_equal(tcheck(&f->u.app, h2, 0, &se, NULL), SESSION_OK);
	assert_int_equal(apitoken_revoke(&f->other, id2, 0), SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, h2, 0, &se, NULL), SESSION_NONE);
}

static void
test_create_refusals(void **state)
{
	struct fix	*f = fix_of(state);
	char		 t[APITOKEN_TEXT_LEN + 1], small[APITOKEN_TEXT_LEN];
	unsigned char	 gone[CRYPTO_SHA256_LEN];
	int64_t		 id = -1;
	int		 i;

	memset(gone, 0x77, sizeof(gone));
	/* The creating session does not exist (a reset came first). */
	memset(t, 'x', sizeof(t));
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", 0, gone, t,
	    sizeof(t), &id), STORE_NOTFOUND);
	/* Nothing of a token left in the buffer. */
	for (i = 0; i < (int)sizeof(t); i++)
		assert_int_equal(t[i], 0);
	/* Out-of-range expiries, a buffer too small. */
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", -1, NULL, t,
	    sizeof(t), &id), STORE_ERROR);
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", INT64_MAX,
	    NULL, t, sizeof(t), &id), STORE_ERROR);
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", 0, NULL,
	    small, sizeof(small), &id), STORE_ERROR);
	/* A disabled user. */
	assert_int_equal(store_user_set_disabled(app_store(&f->u.app), f->uid,
	    1), STORE_OK);
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", 0, NULL, t,
	    sizeof(t), &id), STORE_NOTFOUND);
	assert_int_equal(store_user_set_disabled(app_store(&f->u.app), f->uid,
	    0), STORE_OK);
	/* At most APITOKEN_PER_USER_MAX (the fixture holds one). */
	for (i = 1; i < APITOKEN_PER_USER_MAX; i++)
		assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", 0,
		    NULL, t, sizeof(t), &id), STORE_OK);
	assert_int_equal(apitoken_create(&f->u.app, f->uid, "n", 0, NULL, t,
	    sizeof(t), &id), STORE_CONFLICT);
	assert_int_equal(t[0], 0);
}

static void
test_expiry(void **state)
{
	struct fix	*f = fix_of(state);
	struct store	*st = app_store(&f->u.app);
	struct session	 se;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 t[APITOKEN_TEXT_LEN + 1];
	int64_t		 id, now = util_now();

	assert_int_equal(apitoken_create(&f->u.app, f->uid, "soon", 100, NULL,
	    t, sizeof(t), &id), STORE_OK);
	assert_int_equal(hash_of(t, h), 0);
	assert_int_equal(store_token_get(st, h, &se), STORE_OK);
	assert_in_range(se.expires, now + 100, util_now() + 100);
	assert_int_equal(tcheck(&f->u.app, h, 0, &se, NULL), SESSION_OK);
	/* Expired a second ago: refused from the store... */
	memset(h, 0x31, sizeof(h));
	assert_int_equal(store_token_add(st, h, f->uid, "old", now - 100,
	    now - 1, NULL, 100, &id), STORE_OK);
	assert_int_equal(tcheck(&f->u.app, h, 0, &se, NULL), SESSION_NONE);
	assert_int_equal(tcheck(&f->u.app, h, 0, &se, NULL), SESSION_NONE);
	/* ...and a cached token is kept no longer than it lives. */
	memset(h, 0x32, sizeof(h));
	assert_int_equal(store_token_add(st, h, f->uid, "live", now,
	    now + 1000, NULL, 100, &id), STORE_OK);
	assert_int_equal(tcheck(&f->u.app, h, 0, &se, NULL), SESSION_OK);
	se.expires = now - 1;
	cache_put(app_cache(&f->u.app), &se, now, cache_gen(
	    app_cache(&f->u.app), h));
	assert_int_equal(tcheck(&f->u.app, h, 0, &se, NULL), SESSION_OK);
	assert_int_equal(se.expires, now + 1000);
}

/* ------------------------------------------------ kinds never meet */

static void
test_a_session_is_never_a_token(void **state)
{
	struct fix		*f = fix_of(state);
	struct session		 se, s;
	struct user		 u;
	enum session_source	 src;
	char			 cookie[SESSION_COOKIE_LEN + 1];
	unsigned char		 h[CRYPTO_SHA256_LEN];

	assert_int_equal(store_user_get_email(app_store(&f->u.app), EMAIL, &u),
	    STORE_OK);
	assert_int_equal(session_create(&f->u.app, &u, "127.0.0.1", "ua",
	    cookie, sizeof(cookie), &s), SESSION_OK);
	/* The session cached, then asked for as a token: refused, and the
	 * session still passes as a session. */
	assert_int_equal(session_check(&f->u.app, s.token_hash, 0, &se, &src),
	    SESSION_OK);
	assert_int_equal(session_check(&f->u.app, s.token_hash, 0, &se, &src),
	    SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(se.is_token, 0);
	assert_int_equal(tcheck(&f->u.app, s.token_hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->other, s.token_hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(session_check(&f->u.app, s.token_hash, 0, &se, &src),
	    SESSION_OK);
	/* The token cached, then asked for as a session: refused. */
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);
	assert_int_equal(session_check(&f->u.app, f->hash, 0, &se, &src),
	    SESSION_NONE);
	assert_int_equal(session_check(&f->u.app, f->hash,
	    SESSION_CHECK_FRESH, &se, &src), SESSION_NONE);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	/* The token's random part as a cookie hashes elsewhere. */
	assert_int_equal(session_cookie_hash(f->text + 4, strlen(f->text + 4),
	    h), 0);
	assert_memory_not_equal(h, f->hash, sizeof(h));
	assert_int_equal(session_check(&f->u.app, h, 0, &se, &src),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->u.app, h, 0, &se, NULL), SESSION_NONE);
}

/* ------------------------------------------------------- last_used */

static void
set_last_used(struct fix *f, int64_t v)
{
	struct session	 se;

	row(f, &se);
	assert_int_equal(store_token_touch(app_store(&f->u.app), f->id,
	    se.last_seen, v), STORE_OK);
}

static int64_t
last_used(struct fix *f)
{
	struct session	 se;

	row(f, &se);
	return se.last_seen;
}

/* session_lifetime 100: at most one write per 50 seconds (no host table
 * here: every check reads the store). */
static void
test_last_used_once_per_half_lifetime(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;
	int64_t		 now = util_now(), t;

	assert_int_equal(last_used(f), 0);
	/* Passive: validated, never written. */
	assert_int_equal(tcheck(&f->u.app, f->hash, SESSION_CHECK_PASSIVE, &se,
	    NULL), SESSION_OK);
	assert_int_equal(last_used(f), 0);
	/* The first use is written. */
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	t = last_used(f);
	assert_in_range(t, now, util_now());
	assert_int_equal(se.last_seen, t);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_int_equal(last_used(f), t);
	/* 40 seconds ago: not due. */
	set_last_used(f, now - 40);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_int_equal(last_used(f), now - 40);
	/* 60 seconds ago: due, written again (not when passive). */
	set_last_used(f, now - 60);
	assert_int_equal(tcheck(&f->u.app, f->hash, SESSION_CHECK_PASSIVE, &se,
	    NULL), SESSION_OK);
	assert_int_equal(last_used(f), now - 60);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_in_range(last_used(f), now, util_now());
	/* Never an extension: a token's expiry does not move. */
	assert_int_equal(se.expires, STORE_NEVER);
	assert_int_equal(stats_get(f->u.stats, STAT_SESSIONS_EXTENDED), 0);
	assert_int_equal(stats_get(f->u.stats, STAT_TOKENS_CHECKED), 6);
}

/*
 * With the host table: a cached token whose last_used another process
 * moved meanwhile writes nothing over it (the store's conflict), and is
 * judged again from the store's row.
 */
static void
test_last_used_conflict_rereads(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;
	int64_t		 now = util_now();
	const int	 fresh_passive = SESSION_CHECK_FRESH |
			    SESSION_CHECK_PASSIVE;

	set_last_used(f, now - 200);
	/* Cached with last_used now - 200 (a passive check writes none). */
	assert_int_equal(tcheck(&f->u.app, f->hash, fresh_passive, &se, NULL),
	    SESSION_OK);
	set_last_used(f, now - 10);	/* another process wrote */
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_int_equal(last_used(f), now - 10);
	assert_int_equal(se.last_seen, now - 10);
	/* Again, and the user disabled behind the cache's back meanwhile:
	 * the row read again after the conflict refuses. */
	set_last_used(f, now - 200);
	assert_int_equal(tcheck(&f->u.app, f->hash, fresh_passive, &se, NULL),
	    SESSION_OK);
	set_last_used(f, now - 100);
	assert_int_equal(store_user_set_disabled(app_store(&f->other), f->uid,
	    1), STORE_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(last_used(f), now - 100);
}

/* session_check_for's condition: the Basic user named another address. */
static int
refuse(const struct session *se, void *arg)
{
	(void)se;
	(*(int *)arg)++;
	return 0;
}

static int
accept_if_token(const struct session *se, void *arg)
{
	(*(int *)arg)++;
	return se->is_token;
}

/* A live token the caller's condition refuses: SESSION_NONE, with
 * nothing written (last_used) and nothing cached. */
static void
test_refused_by_the_condition_writes_nothing(void **state)
{
	struct fix		*f = fix_of(state);
	struct session		 se;
	enum session_source	 src;
	int			 asked = 0;

	assert_int_equal(session_check_for(&f->u.app, f->hash,
	    SESSION_CHECK_TOKEN, refuse, &asked, &se, &src), SESSION_NONE);
	assert_int_equal(asked, 1);
	assert_int_equal(last_used(f), 0);
	/* Not cached: the next check reads the store (and writes). */
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_true(last_used(f) > 0);
	/* Cached now: the condition is asked of a cached token too. */
	assert_int_equal(session_check_for(&f->u.app, f->hash,
	    SESSION_CHECK_TOKEN, refuse, &asked, &se, &src), SESSION_NONE);
	assert_int_equal(asked, 2);
	assert_int_equal(session_check_for(&f->u.app, f->hash,
	    SESSION_CHECK_TOKEN, accept_if_token, &asked, &se, &src),
	    SESSION_OK);
	assert_int_equal(asked, 3);
	assert_int_equal(src, SOURCE_CACHE);
	/* A dead one is refused before the condition is asked. */
	assert_int_equal(apitoken_revoke(&f->other, f->id, 0), SESSION_OK);
	assert_int_equal(session_check_for(&f->u.app, f->hash,
	    SESSION_CHECK_TOKEN, accept_if_token, &asked, &se, &src),
	    SESSION_NONE);
	assert_int_equal(asked, 3);
}

/* ------------------------------------------ what ends or changes it */

static void
test_user_changes_reach_cached_tokens(void **state)
{
	struct fix	*f = fix_of(state);
	struct store	*st = app_store(&f->other);
	struct session	 se;

	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_string_equal(se.user.role, "user");
	/* A role change: the new role at once. */
	assert_int_equal(store_user_set_role(st, f->uid, "admin"), STORE_OK);
	assert_int_equal(session_user_changed(&f->other, f->uid, 0),
	    SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_string_equal(se.user.role, "admin");
	/* "Log out everywhere" ends sessions, not tokens. */
	assert_int_equal(session_end_user(&f->other, f->uid), SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	/* Disabled: refused at once; enabled: passes again. */
	assert_int_equal(store_user_set_disabled(st, f->uid, 1), STORE_OK);
	assert_int_equal(session_user_changed(&f->other, f->uid, 0),
	    SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(store_user_set_disabled(st, f->uid, 0), STORE_OK);
	assert_int_equal(session_user_changed(&f->other, f->uid, 0),
	    SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	/* A password change by the user (a session kept) keeps tokens. */
	{
		struct user		 u;
		struct session		 s;
		struct store_pwchange	 p;
		char			 cookie[SESSION_COOKIE_LEN + 1];

		assert_int_equal(store_user_get_email(st, EMAIL, &u), STORE_OK);
		assert_int_equal(session_create(&f->other, &u, "127.0.0.1", "ua",
		    cookie, sizeof(cookie), &s), SESSION_OK);
		p = (struct store_pwchange){ .user_id = u.id, .gen = u.gen,
		    .pwhash = "$unit$changed", .keep = s.token_hash,
		    .mail_to = u.email, .mail = "notice",
		    .now = util_now() };
		assert_int_equal(session_password_set(&f->other, &p),
		    STORE_OK);
		assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
		    SESSION_OK);
	}
	/* Deleted: refused at once. */
	assert_int_equal(session_user_delete(&f->other, f->uid), SESSION_OK);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL),
	    SESSION_NONE);
}

/* --------------------------------------------------------- races */

static void
revoke_other(struct fix *f)
{
	struct session	 se;

	assert_int_equal(apitoken_revoke(&f->other, f->id, f->uid),
	    SESSION_OK);
	/* The other side already refuses it, while the refill is paused. */
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL),
	    SESSION_NONE);
}

static void
reset_other(struct fix *f)
{
	unsigned char		 h[CRYPTO_SHA256_LEN];
	struct store_reset	 r;
	struct store_pwchange	 p;
	struct store		*st = app_store(&f->other);
	struct user		 u;

	memset(h, 0x5a, sizeof(h));
	assert_int_equal(store_user_get_email(st, EMAIL, &u), STORE_OK);
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

static void
passwd_other(struct fix *f)
{
	struct store_pwchange	 p;
	struct user		 u;

	/* The command line's `user passwd` (cli.c since e6920a8): one unit
	 * of work, no session kept, no mail. */
	assert_int_equal(store_user_get_email(app_store(&f->other), EMAIL, &u),
	    STORE_OK);
	p = (struct store_pwchange){ .user_id = u.id, .gen = u.gen,
	    .pwhash = "$unit$admin", .keep = NULL, .mail_to = NULL,
	    .mail = NULL, .now = util_now(), .admin = 1 };
	assert_int_equal(session_password_set(&f->other, &p), STORE_OK);
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
delete_other(struct fix *f)
{
	assert_int_equal(session_user_delete(&f->other, f->uid), SESSION_OK);
}

/*
 * Check X loads the token, the change C runs on the other worker, X
 * writes its tiers: X answers from what it read before C (its place in
 * the order), but nothing it left validates afterwards, in either worker,
 * before or after the other worker filled its view again. (last_used is
 * fresh, so X writes nothing to the store that would tell it of C: it
 * caches what it read, the case to defend against.)
 */
static void
race(struct fix *f, void (*during)(struct fix *))
{
	struct session	 se;

	set_last_used(f, util_now());
	f->during = during;
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_true(f->ran);
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
}

static void
test_refill_racing_revoke(void **state)
{
	race(fix_of(state), revoke_other);
}

static void
test_refill_racing_reset(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;

	race(f, reset_other);
	assert_int_equal(store_token_get(app_store(&f->u.app), f->hash, &se),
	    STORE_NOTFOUND);
}

static void
test_refill_racing_cli_passwd(void **state)
{
	race(fix_of(state), passwd_other);
}

static void
test_refill_racing_disable(void **state)
{
	race(fix_of(state), disable_other);
}

static void
test_refill_racing_delete(void **state)
{
	race(fix_of(state), delete_other);
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
test_refill_racing_role_change(void **state)
{
	struct fix	*f = fix_of(state);
	struct session	 se;

	set_last_used(f, util_now());
	f->during = promote_other;
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_true(f->ran);
	assert_string_equal(se.user.role, "user");	/* read before */
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL), SESSION_OK);
	assert_string_equal(se.user.role, "admin");
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	assert_string_equal(se.user.role, "admin");
}

/* An entry written before a revocation and put back into memcached
 * afterwards (same bytes: same generation, same tag) is refused. */
static void
test_entry_replayed_after_revoke_is_refused(void **state)
{
	struct fix	*f = fix_of(state);
	struct cache	*c = app_cache(&f->u.app);
	struct session	 se;
	uint64_t	 gen;

	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL), SESSION_OK);
	gen = cache_gen(c, f->hash);
	assert_int_equal(apitoken_revoke(&f->other, f->id, 0), SESSION_OK);
	cache_put(c, &se, util_now(), gen);
	assert_int_equal(tcheck(&f->u.app, f->hash, 0, &se, NULL),
	    SESSION_NONE);
	assert_int_equal(tcheck(&f->other, f->hash, 0, &se, NULL),
	    SESSION_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_accepts_exactly_the_form),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test_setup_teardown(test_create_check_revoke,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(test_create_check_revoke,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(test_create_refusals,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(test_a_session_is_never_a_token,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(test_a_session_is_never_a_token,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(
		    test_last_used_once_per_half_lifetime, setup_store_only,
		    teardown),
		cmocka_unit_test_setup_teardown(test_last_used_conflict_rereads,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_by_the_condition_writes_nothing, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_by_the_condition_writes_nothing,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(
		    test_user_changes_reach_cached_tokens, setup_table,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_user_changes_reach_cached_tokens, setup_memcached,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_revoke,
		    setup_table, teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_revoke,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_reset,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_cli_passwd,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_disable,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_delete,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(test_refill_racing_role_change,
		    setup_memcached, teardown),
		cmocka_unit_test_setup_teardown(
		    test_entry_replayed_after_revoke_is_refused,
		    setup_memcached, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
