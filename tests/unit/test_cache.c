/*
 * Unit tests of src/cache.c: the host table (shmcache.c) next to a real
 * database in a temporary directory (unitfix.c), and memcached (memc.c)
 * against a real memcached this program starts on a free loopback port
 * and stops by its pid; skipped when memcached is not installed. Cache
 * times are looked at through cache_get's now, so nothing sleeps.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
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

#include "app.h"
#include "cache.h"
#include "cacheentry.h"
#include "crypto.h"
#include "log.h"
#include "memc.h"
#include "session.h"
#include "shmcache.h"
#include "stats.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

#define NOW		INT64_C(1700000000)
#define TABLE_ENTRIES	64
#ifndef MEMCACHED_BIN
#define MEMCACHED_BIN	"/usr/bin/memcached"
#endif

/*
 * side: the host table as the test opens it; mc: the memcached configured
 * (shared_mc or own), or NULL; own: one for this test alone, which it may
 * stop; subdir: a directory a test made in u.dir (removed first), or "".
 */
struct fix {
	struct unitfix	 u;
	struct shmcache	*side;
	struct unitfix_mcd	*mc;
	struct unitfix_mcd	 own;
	char		 subdir[CONFIG_PATH_MAX];
};

/*
 * memcached takes a second to stop, so the tests that leave it running
 * share one (each test's fresh host table has a random namespace: they
 * never see each other's keys); the tests that stop it have their own.
 */
static struct unitfix_mcd	 shared_mc;

static const char *const kv_table[] = {
	"cache_entries", "64",
	"cache_ttl", "300",
	"cache_local_ttl", "60",
	NULL
};

static const char *const kv_short_ttl[] = {
	"cache_entries", "64",
	"cache_ttl", "30",
	"cache_local_ttl", "60",
	NULL
};

/* memcached configured without the host table (a config error). */
static const char *const kv_mc_no_table[] = {
	"memcached", "127.0.0.1:9",
	NULL
};

/*
 * Set up f (from fix_new, may be NULL) with kv; on failure everything is
 * undone, our memcached stopped and f freed.
 */
static int
setup_with(void **state, struct fix *f, const char *const *kv)
{
	if (f == NULL)
		return -1;
	if (unitfix_setup(&f->u, kv) == -1) {
		unitfix_teardown(&f->u);
		unitfix_mcd_stop(&f->own);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static struct fix *
fix_new(void)
{
	return calloc(1, sizeof(struct fix));
}

static int
setup_table(void **state)
{
	return setup_with(state, fix_new(), kv_table);
}

static int
setup_short_ttl(void **state)
{
	return setup_with(state, fix_new(), kv_short_ttl);
}

/* Neither tier. */
static int
setup_off(void **state)
{
	return setup_with(state, fix_new(), NULL);
}

static int
setup_mc_no_table(void **state)
{
	return setup_with(state, fix_new(), kv_mc_no_table);
}

/* The host table and memcached at mc (NULL: none installed). */
static int
setup_mc_at(void **state, struct fix *f, struct unitfix_mcd *mc)
{
	const char	*kv[] = {
		"cache_entries", "64",
		"cache_ttl", "300",
		"cache_local_ttl", "5",
		"memcached", NULL,
		NULL
	};

	if (mc == NULL)
		kv[6] = NULL;	/* the tests skip */
	else
		kv[7] = mc->addr;
	f->mc = mc;
	return setup_with(state, f, kv);
}

/* With the shared memcached, if installed. */
static int
setup_mc(void **state)
{
	struct fix	*f = fix_new();

	if (f == NULL)
		return -1;
	return setup_mc_at(state, f, shared_mc.pid > 0 ? &shared_mc : NULL);
}

/* With a memcached of its own, if installed. */
static int
setup_mc_own(void **state)
{
	struct fix	*f = fix_new();

	if (f == NULL)
		return -1;
	if (access(MEMCACHED_BIN, X_OK) == -1)
		return setup_mc_at(state, f, NULL);
	if (unitfix_mcd_start(&f->own) == -1) {
		free(f);
		return -1;
	}
	return setup_mc_at(state, f, &f->own);
}

static int
group_setup(void **state)
{
	(void)state;
	if (access(MEMCACHED_BIN, X_OK) == -1)
		return 0;
	return unitfix_mcd_start(&shared_mc);
}

static int
group_teardown(void **state)
{
	(void)state;
	unitfix_mcd_stop(&shared_mc);
	return 0;
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	shmcache_close(f->side);
	app_free(&f->u.app);
	unitfix_mcd_stop(&f->own);
	if (f->subdir[0] != '\0')
		(void)rmdir(f->subdir);
	unitfix_teardown(&f->u);
	free(f);
	return 0;
}

static void
need_memcached(const struct fix *f)
{
	if (f->mc == NULL)
		skip();
}

/* The path of the host table: next to the database. */
static void
table_path(const struct fix *f, char *path, size_t pathsz)
{
	int	 n;

	n = snprintf(path, pathsz, "%s-sessions.cache", f->u.cfg.database);
	assert_true(n > 0 && (size_t)n < pathsz);
}

/* The host table as another process on this host would see it. */
static struct shmcache *
side_of(struct fix *f)
{
	char	 path[CONFIG_PATH_MAX + 32], err[256];

	if (f->side == NULL) {
		table_path(f, path, sizeof(path));
		f->side = shmcache_open(path, TABLE_ENTRIES, -1, err,
		    sizeof(err));
	}
	assert_non_null(f->side);
	return f->side;
}

/*
 * Forget se's entry in the host table alone, leaving memcached and the
 * hash's generation as they are (a slot clear: every slot of its user).
 */
static void
table_forget(struct fix *f, const struct session *se)
{
	shmcache_drop_user(side_of(f), se->user.id, NULL, 0);
}

static int
table_has(struct fix *f, const unsigned char *hash, int64_t now)
{
	struct session	 se;

	return shmcache_get(side_of(f), hash, now, &se);
}

static struct cache *
cache_of(struct fix *f)
{
	return app_cache(&f->u.app);
}

static void
session_of(struct session *se, unsigned char fill, int64_t user,
    int64_t expires)
{
	memset(se, 0, sizeof(*se));
	memset(se->token_hash, fill, sizeof(se->token_hash));
	se->id = fill;
	se->created = se->last_seen = NOW - 100;
	se->expires = expires;
	se->user.id = user;
	se->user.verified = 1;
	memcpy(se->user.role, "user", 5);
	memcpy(se->user.email, "a@example.com", 14);
	memcpy(se->public_id, "AAAAAAAAAAAAAAAAAAAAAA", 23);
	se->public_id[0] = (char)('A' + fill % 26);
}

static void
put(struct fix *f, const struct session *se, int64_t now)
{
	struct cache	*c = cache_of(f);

	cache_put(c, se, now, cache_gen(c, se->token_hash));
}

static int
get(struct fix *f, const struct session *se, int64_t now)
{
	struct cache	*c = cache_of(f);
	struct session	 got;

	return cache_get(c, se->token_hash, now, &got);
}

static void
assert_same_session(const struct session *got, const struct session *se)
{
	assert_memory_equal(got->token_hash, se->token_hash, CRYPTO_SHA256_LEN);
	assert_int_equal(got->id, se->id);
	assert_int_equal(got->created, se->created);
	assert_int_equal(got->expires, se->expires);
	assert_int_equal(got->user.id, se->user.id);
	assert_int_equal(got->user.verified, se->user.verified);
	assert_int_equal(got->user.disabled, se->user.disabled);
	assert_string_equal(got->user.role, se->user.role);
	assert_string_equal(got->user.email, se->user.email);
	assert_string_equal(got->public_id, se->public_id);
}

static void
test_table_file_next_to_database(void **state)
{
	struct fix	*f = *state;
	struct cache	*c = cache_of(f);
	struct session	 se, got;
	struct stat	 sb;
	char		 path[CONFIG_PATH_MAX + 32];

	table_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	session_of(&se, 1, 7, NOW + 3600);
	assert_int_equal(cache_get(c, se.token_hash, NOW, &got), 0);
	cache_put(c, &se, NOW, cache_gen(c, se.token_hash));
	assert_int_equal(cache_get(c, se.token_hash, NOW, &got), 1);
	assert_same_session(&got, &se);
	/* Every process of the host sees it. */
	assert_int_equal(table_has(f, se.token_hash, NOW), 1);
}

static void
test_put_get_drop(void **state)
{
	struct fix	*f = *state;
	struct session	 s1, s2;

	session_of(&s1, 1, 7, NOW + 3600);
	session_of(&s2, 2, 7, NOW + 3600);
	put(f, &s1, NOW);
	put(f, &s2, NOW);
	assert_int_equal(get(f, &s1, NOW), 1);
	assert_int_equal(cache_drop(cache_of(f), s1.token_hash), 0);
	assert_int_equal(get(f, &s1, NOW), 0);
	assert_int_equal(get(f, &s2, NOW), 1);
	/* Dropping what is not there is fine. */
	assert_int_equal(cache_drop(cache_of(f), s1.token_hash), 0);
}

static void
test_drop_user(void **state)
{
	struct fix		*f = *state;
	struct session		 s1, s2, s3;
	unsigned char		 hashes[2][CRYPTO_SHA256_LEN];

	session_of(&s1, 1, 10, NOW + 3600);
	session_of(&s2, 2, 10, NOW + 3600);
	session_of(&s3, 3, 11, NOW + 3600);
	put(f, &s1, NOW);
	put(f, &s2, NOW);
	put(f, &s3, NOW);
	memcpy(hashes[0], s1.token_hash, CRYPTO_SHA256_LEN);
	memcpy(hashes[1], s2.token_hash, CRYPTO_SHA256_LEN);
	assert_int_equal(cache_drop_user(cache_of(f), 10,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])hashes, 2), 0);
	assert_int_equal(get(f, &s1, NOW), 0);
	assert_int_equal(get(f, &s2, NOW), 0);
	assert_int_equal(get(f, &s3, NOW), 1);
	/* The host table goes by user id, with or without the hashes. */
	put(f, &s1, NOW);
	assert_int_equal(cache_drop_user(cache_of(f), 10, NULL, 0), 0);
	assert_int_equal(get(f, &s1, NOW), 0);
	assert_int_equal(get(f, &s3, NOW), 1);
}

static void
test_clear(void **state)
{
	struct fix	*f = *state;
	struct session	 s1, s2;

	session_of(&s1, 1, 10, NOW + 3600);
	session_of(&s2, 2, 11, NOW + 3600);
	put(f, &s1, NOW);
	put(f, &s2, NOW);
	assert_int_equal(cache_clear(cache_of(f)), 0);
	assert_int_equal(get(f, &s1, NOW), 0);
	assert_int_equal(get(f, &s2, NOW), 0);
	put(f, &s1, NOW);
	assert_int_equal(get(f, &s1, NOW), 1);
}

/* cache_local_ttl (60) below cache_ttl (300) bounds the host table. */
static void
test_ttl_local_bound(void **state)
{
	struct fix	*f = *state;
	struct session	 se;

	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	assert_int_equal(get(f, &se, NOW + 59), 1);
	assert_int_equal(get(f, &se, NOW + 60), 0);
}

/* cache_ttl (30) below cache_local_ttl (60) bounds it too. */
static void
test_ttl_cache_ttl_bound(void **state)
{
	struct fix	*f = *state;
	struct session	 se;

	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	assert_int_equal(get(f, &se, NOW + 29), 1);
	assert_int_equal(get(f, &se, NOW + 30), 0);
}

/* An entry never outlives its session; a dead session is not cached. */
static void
test_ttl_session_expiry_bound(void **state)
{
	struct fix	*f = *state;
	struct session	 se, dead;

	session_of(&se, 1, 7, NOW + 10);
	put(f, &se, NOW);
	assert_int_equal(get(f, &se, NOW + 9), 1);
	assert_int_equal(get(f, &se, NOW + 10), 0);
	session_of(&dead, 2, 7, NOW);
	put(f, &dead, NOW);
	assert_int_equal(get(f, &dead, NOW - 1), 0);
}

enum invalidation {
	INV_DROP,
	INV_DROP_USER,
	INV_CLEAR
};

static void
invalidate(struct fix *f, enum invalidation how, const struct session *se)
{
	struct cache	*c = cache_of(f);
	unsigned char	 hashes[1][CRYPTO_SHA256_LEN];

	switch (how) {
	case INV_DROP:
		assert_int_equal(cache_drop(c, se->token_hash), 0);
		break;
	case INV_DROP_USER:
		memcpy(hashes[0], se->token_hash, CRYPTO_SHA256_LEN);
		assert_int_equal(cache_drop_user(c, se->user.id,
		    (const unsigned char (*)[CRYPTO_SHA256_LEN])hashes, 1), 0);
		break;
	case INV_CLEAR:
		assert_int_equal(cache_clear(c), 0);
		break;
	}
}

/*
 * A put made with the generation read before an invalidation of its hash
 * (a load from the database that raced a logout, or a cache clear) is
 * never accepted.
 */
static void
test_gen_stale_put_not_cached(void **state)
{
	static const enum invalidation	 how[] = {
		INV_DROP, INV_DROP_USER, INV_CLEAR
	};
	struct fix			*f = *state;
	struct cache			*c = cache_of(f);
	struct session			 se;
	uint64_t			 gen;
	size_t				 i;

	for (i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		session_of(&se, (unsigned char)(1 + i), 7, NOW + 3600);
		gen = cache_gen(c, se.token_hash);
		invalidate(f, how[i], &se);
		assert_true(cache_gen(c, se.token_hash) != gen);
		cache_put(c, &se, NOW, gen);
		assert_int_equal(get(f, &se, NOW), 0);
		/* With the generation read after it, the same put stays. */
		cache_put(c, &se, NOW, cache_gen(c, se.token_hash));
		assert_int_equal(get(f, &se, NOW), 1);
	}
}

/* cache_entries = 0: nothing cached, no file, invalidations succeed. */
static void
test_table_off(void **state)
{
	struct fix	*f = *state;
	struct cache	*c = cache_of(f);
	struct session	 se;
	struct stat	 sb;
	char		 path[CONFIG_PATH_MAX + 32];

	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	assert_int_equal(get(f, &se, NOW), 0);
	assert_int_equal(cache_drop(c, se.token_hash), 0);
	assert_int_equal(cache_drop_user(c, 7, NULL, 0), 0);
	assert_int_equal(cache_clear(c), 0);
	assert_string_equal(cache_memcached_state(c, 1), "off");
	table_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &sb), -1);
}

/*
 * The host table is configured but cannot be opened by this process:
 * nothing is cached and every invalidation reports -1 (others may hold
 * the entries).
 */
static void
test_table_unreachable(void **state)
{
	struct fix	*f = *state;
	struct cache	*c;
	struct session	 se;

	table_path(f, f->subdir, sizeof(f->subdir));
	assert_int_equal(mkdir(f->subdir, 0700), 0);
	c = cache_of(f);
	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	assert_int_equal(get(f, &se, NOW), 0);
	assert_int_equal(cache_drop(c, se.token_hash), -1);
	assert_int_equal(cache_drop_user(c, 7, NULL, 0), -1);
	assert_int_equal(cache_clear(c), -1);
}

/* memcached needs the host table (its namespace) and a tag key. */
static void
test_memcached_needs_table_and_key(void **state)
{
	struct fix	*f = *state;
	struct cache	*c;

	assert_string_equal(cache_memcached_state(cache_of(f), 0), "off");
	f->u.cfg.cache_entries = TABLE_ENTRIES;
	c = cache_open(&f->u.cfg, f->u.stats, NULL);
	assert_string_equal(cache_memcached_state(c, 0), "off");
	cache_close(c);
}

/* The host table lost the entry; memcached still has it. */
static void
test_mc_hit_after_table_drop(void **state)
{
	struct fix	*f = *state;
	struct cache	*c;
	struct session	 se, got;

	need_memcached(f);
	c = cache_of(f);
	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	table_forget(f, &se);
	assert_int_equal(table_has(f, se.token_hash, NOW), 0);
	assert_int_equal(cache_get(c, se.token_hash, NOW, &got), 1);
	assert_same_session(&got, &se);
	/* The hit was copied back into the host table. */
	assert_int_equal(table_has(f, se.token_hash, NOW), 1);
}

/* Past cache_local_ttl (5) but within cache_ttl: memcached answers. */
static void
test_mc_hit_after_local_ttl(void **state)
{
	struct fix	*f = *state;
	struct session	 se;

	need_memcached(f);
	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	assert_int_equal(table_has(f, se.token_hash, NOW + 5), 0);
	assert_int_equal(get(f, &se, NOW + 5), 1);
	assert_int_equal(table_has(f, se.token_hash, NOW + 5), 1);
	/* Past the session's expiry no tier answers. */
	table_forget(f, &se);
	assert_int_equal(get(f, &se, NOW + 3600), 0);
}

/*
 * A memcached entry whose hash was invalidated since it was written (a
 * logout whose delete never reached memcached) is refused, and not copied
 * into the host table; another hash's invalidation does not touch it.
 */
static void
test_mc_hit_needs_current_generation(void **state)
{
	struct fix	*f = *state;
	struct cache	*c;
	struct session	 se, other, got;

	need_memcached(f);
	c = cache_of(f);
	session_of(&se, 1, 7, NOW + 3600);
	session_of(&other, 2, 8, NOW + 3600);
	put(f, &se, NOW);
	table_forget(f, &se);
	shmcache_drop(side_of(f), other.token_hash);	/* someone's logout */
	assert_int_equal(cache_get(c, se.token_hash, NOW, &got), 1);
	table_forget(f, &se);
	shmcache_drop(side_of(f), se.token_hash);	/* this one's */
	assert_int_equal(cache_get(c, se.token_hash, NOW, &got), 0);
	assert_int_equal(table_has(f, se.token_hash, NOW), 0);
}

/* An entry tagged under another key (another database's secret). */
static void
test_mc_foreign_key_refused(void **state)
{
	struct fix	*f = *state;
	struct cache	*c, *other;
	struct session	 se, got;
	unsigned char	 key[CACHEENTRY_KEY_LEN];

	need_memcached(f);
	c = cache_of(f);
	memset(key, 0x42, sizeof(key));
	other = cache_open(&f->u.cfg, f->u.stats, key);
	assert_string_equal(cache_memcached_state(other, 1), "ok");
	session_of(&se, 1, 7, NOW + 3600);
	cache_put(other, &se, NOW, cache_gen(other, se.token_hash));
	table_forget(f, &se);
	assert_int_equal(stats_get(f->u.stats, STAT_CACHE_ERRORS), 0);
	assert_int_equal(cache_get(c, se.token_hash, NOW, &got), 0);
	assert_int_equal(stats_get(f->u.stats, STAT_CACHE_ERRORS), 1);
	assert_int_equal(table_has(f, se.token_hash, NOW), 0);
	/* The entry is there and good under its own key. */
	assert_int_equal(cache_get(other, se.token_hash, NOW, &got), 1);
	cache_close(other);
}

/* The memcached key of hash (cache.c's format, checked by the caller). */
static void
mc_key_of(struct fix *f, const unsigned char *hash, char *key, size_t keysz)
{
	char	 hex[2 * CRYPTO_SHA256_LEN + 1];
	int	 n;

	crypto_hex(hash, CRYPTO_SHA256_LEN, hex);
	n = snprintf(key, keysz, "authgw:%016llx:%s",
	    (unsigned long long)shmcache_namespace(side_of(f)), hex);
	assert_true(n > 0 && (size_t)n < keysz);
}

/* A good entry copied under another session's key authenticates no one. */
static void
test_mc_misplaced_entry_refused(void **state)
{
	struct fix	*f = *state;
	struct memc	*m;
	struct session	 s1, s2;
	struct buf	 val;
	char		 k1[MEMC_KEY_MAX + 1], k2[MEMC_KEY_MAX + 1];
	char		 err[256];

	need_memcached(f);
	memset(&val, 0, sizeof(val));
	m = memc_open(f->mc->addr, err, sizeof(err));
	assert_non_null(m);
	session_of(&s1, 1, 7, NOW + 3600);
	session_of(&s2, 2, 8, NOW + 3600);
	put(f, &s1, NOW);
	mc_key_of(f, s1.token_hash, k1, sizeof(k1));
	mc_key_of(f, s2.token_hash, k2, sizeof(k2));
	assert_int_equal(memc_get(m, k1, CACHEENTRY_MAX, &val), MEMC_OK);
	assert_int_equal(memc_set(m, k2, val.data, val.len, 300), MEMC_OK);
	assert_int_equal(get(f, &s2, NOW), 0);
	assert_int_equal(stats_get(f->u.stats, STAT_CACHE_ERRORS), 1);
	assert_int_equal(table_has(f, s2.token_hash, NOW), 0);
	table_forget(f, &s1);
	assert_int_equal(get(f, &s1, NOW), 1);
	buf_free(&val);
	memc_close(m);
}

/* The generation rule holds in memcached too: a stale put is refused. */
static void
test_mc_stale_put_refused(void **state)
{
	struct fix	*f = *state;
	struct cache	*c;
	struct session	 se;
	uint64_t	 gen;

	need_memcached(f);
	c = cache_of(f);
	session_of(&se, 1, 7, NOW + 3600);
	gen = cache_gen(c, se.token_hash);
	assert_int_equal(cache_drop(c, se.token_hash), 0);
	cache_put(c, &se, NOW, gen);
	assert_int_equal(table_has(f, se.token_hash, NOW), 0);
	assert_int_equal(get(f, &se, NOW), 0);	/* nor in memcached */
	cache_put(c, &se, NOW, cache_gen(c, se.token_hash));
	table_forget(f, &se);
	assert_int_equal(get(f, &se, NOW), 1);
}

static void
test_mc_drop_removes(void **state)
{
	struct fix	*f = *state;
	struct session	 s1, s2;

	need_memcached(f);
	session_of(&s1, 1, 7, NOW + 3600);
	session_of(&s2, 2, 7, NOW + 3600);
	put(f, &s1, NOW);
	put(f, &s2, NOW);
	assert_int_equal(cache_drop(cache_of(f), s1.token_hash), 0);
	assert_int_equal(get(f, &s1, NOW), 0);
	table_forget(f, &s2);
	assert_int_equal(get(f, &s2, NOW), 1);
}

static void
test_mc_drop_user_removes(void **state)
{
	struct fix	*f = *state;
	struct session	 s1, s2, s3;
	unsigned char	 hashes[2][CRYPTO_SHA256_LEN];

	need_memcached(f);
	session_of(&s1, 1, 10, NOW + 3600);
	session_of(&s2, 2, 10, NOW + 3600);
	session_of(&s3, 3, 11, NOW + 3600);
	put(f, &s1, NOW);
	put(f, &s2, NOW);
	put(f, &s3, NOW);
	memcpy(hashes[0], s1.token_hash, CRYPTO_SHA256_LEN);
	memcpy(hashes[1], s2.token_hash, CRYPTO_SHA256_LEN);
	assert_int_equal(cache_drop_user(cache_of(f), 10,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])hashes, 2), 0);
	assert_int_equal(get(f, &s1, NOW), 0);
	assert_int_equal(get(f, &s2, NOW), 0);
	table_forget(f, &s3);
	assert_int_equal(get(f, &s3, NOW), 1);
}

/* A clear abandons the namespace; new entries live in the new one. */
static void
test_mc_clear_abandons_namespace(void **state)
{
	struct fix	*f = *state;
	struct session	 s1, s2;
	uint64_t	 ns;

	need_memcached(f);
	session_of(&s1, 1, 7, NOW + 3600);
	session_of(&s2, 2, 7, NOW + 3600);
	put(f, &s1, NOW);
	ns = shmcache_namespace(side_of(f));
	assert_int_equal(cache_clear(cache_of(f)), 0);
	assert_true(shmcache_namespace(side_of(f)) != ns);
	assert_int_equal(get(f, &s1, NOW), 0);
	put(f, &s2, NOW);
	table_forget(f, &s2);
	assert_int_equal(get(f, &s2, NOW), 1);
}

static void
state_is(struct fix *f, int probe, const char *want)
{
	assert_string_equal(cache_memcached_state(cache_of(f), probe), want);
}

static void
test_mc_state_ok_then_down(void **state)
{
	struct fix	*f = *state;
	struct session	 se;

	need_memcached(f);
	state_is(f, 1, "ok");
	state_is(f, 0, "ok");
	unitfix_mcd_stop(f->mc);
	state_is(f, 1, "down");
	state_is(f, 0, "down");
	/* The host table goes on alone. */
	session_of(&se, 1, 7, NOW + 3600);
	put(f, &se, NOW);
	assert_int_equal(get(f, &se, NOW), 1);
}

/*
 * memcached stops: checks go on from SQLite, and after a logout while it
 * is away the entry it held is refused (its generation moved).
 */
static void
test_mc_down_checks_from_sqlite(void **state)
{
	struct fix		*f = *state;
	struct user		 u;
	struct session		 se, out;
	enum session_source	 src;
	char			 cookie[SESSION_COOKIE_LEN + 1];

	need_memcached(f);
	(void)unitfix_user(&f->u, "a@example.com", "user", 1);
	assert_int_equal(store_user_get_email(app_store(&f->u.app),
	    "a@example.com", &u), STORE_OK);
	assert_int_equal(session_create(&f->u.app, &u, "192.0.2.1", "unit",
	    cookie, sizeof(cookie), &se), SESSION_OK);
	assert_int_equal(session_check(&f->u.app, se.token_hash, 0, &out,
	    &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	table_forget(f, &se);
	assert_int_equal(session_check(&f->u.app, se.token_hash, 0, &out,
	    &src), SESSION_OK);
	assert_int_equal(src, SOURCE_CACHE);		/* from memcached */
	unitfix_mcd_stop(f->mc);
	table_forget(f, &se);
	assert_int_equal(session_check(&f->u.app, se.token_hash, 0, &out,
	    &src), SESSION_OK);
	assert_int_equal(src, SOURCE_DB);
	assert_int_equal(out.user.id, u.id);
	state_is(f, 0, "down");
	assert_int_equal(session_end(&f->u.app, se.token_hash), SESSION_OK);
	assert_int_equal(session_check(&f->u.app, se.token_hash, 0, &out,
	    &src), SESSION_NONE);
}

#define T(t, s)		cmocka_unit_test_setup_teardown(t, s, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_table_file_next_to_database, setup_table),
		T(test_put_get_drop, setup_table),
		T(test_drop_user, setup_table),
		T(test_clear, setup_table),
		T(test_ttl_local_bound, setup_table),
		T(test_ttl_cache_ttl_bound, setup_short_ttl),
		T(test_ttl_session_expiry_bound, setup_table),
		T(test_gen_stale_put_not_cached, setup_table),
		T(test_table_off, setup_off),
		T(test_table_unreachable, setup_table),
		T(test_memcached_needs_table_and_key, setup_mc_no_table),
		T(test_mc_hit_after_table_drop, setup_mc),
		T(test_mc_hit_after_local_ttl, setup_mc),
		T(test_mc_hit_needs_current_generation, setup_mc),
		T(test_mc_foreign_key_refused, setup_mc),
		T(test_mc_misplaced_entry_refused, setup_mc),
		T(test_mc_stale_put_refused, setup_mc),
		T(test_mc_drop_removes, setup_mc),
		T(test_mc_drop_user_removes, setup_mc),
		T(test_mc_clear_abandons_namespace, setup_mc),
		T(test_mc_state_ok_then_down, setup_mc_own),
		T(test_mc_down_checks_from_sqlite, setup_mc_own),
	};

	/* A write to a memcached that has gone must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	/* Warnings and errors only: not every migration step. */
	log_init("test_cache", LOG_LEVEL_WARN, 0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
