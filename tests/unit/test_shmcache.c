/* Unit tests of src/shmcache.c: the host table on a temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shmcache.h"

#define NOW	INT64_C(1700000000)

static char	 path[64];

static int
setup(void **state)
{
	int	 fd;

	memcpy(path, "/tmp/authgw-shm-XXXXXX", 23);
	if ((fd = mkstemp(path)) == -1)
		return -1;
	close(fd);
	unlink(path);	/* shmcache_open creates it */
	*state = path;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static struct shmcache *
open_table(size_t entries)
{
	char		 err[256];
	struct shmcache	*c = shmcache_open(path, entries, err, sizeof(err));

	assert_non_null(c);
	return c;
}

static void
session_of(struct session *se, unsigned char fill, int64_t user)
{
	memset(se, 0, sizeof(*se));
	memset(se->token_hash, fill, sizeof(se->token_hash));
	se->id = fill;
	se->created = NOW;
	se->expires = NOW + 3600;
	se->user.id = user;
	memcpy(se->user.role, "user", 5);
	memcpy(se->user.email, "a@example.com", 14);
	memcpy(se->public_id, "AAAAAAAAAAAAAAAAAAAAAA", 23);
}

static void
test_put_then_get(void **state)
{
	struct shmcache	*c = open_table(64);
	struct session	 se, got;

	(void)state;
	session_of(&se, 1, 7);
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 0);
	shmcache_put(c, &se, NOW, NOW + 60, shmcache_epoch(c));
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 1);
	assert_int_equal(got.user.id, 7);
	assert_string_equal(got.user.email, "a@example.com");
	assert_int_equal(got.expires, NOW + 3600);
	/* Past its validity it is a miss. */
	assert_int_equal(shmcache_get(c, se.token_hash, NOW + 60, &got), 0);
	shmcache_close(c);
}

static void
test_shared_between_openers(void **state)
{
	struct shmcache	*a = open_table(64), *b = open_table(64);
	struct session	 se, got;

	(void)state;
	session_of(&se, 2, 8);
	shmcache_put(a, &se, NOW, NOW + 60, shmcache_epoch(a));
	assert_int_equal(shmcache_get(b, se.token_hash, NOW, &got), 1);
	shmcache_drop(b, se.token_hash);
	assert_int_equal(shmcache_get(a, se.token_hash, NOW, &got), 0);
	shmcache_close(a);
	shmcache_close(b);
}

/* A load that raced an invalidation does not stay cached. */
static void
test_stale_put_undoes_itself(void **state)
{
	struct shmcache	*c = open_table(64);
	struct session	 se, got;
	uint64_t	 epoch;

	(void)state;
	session_of(&se, 3, 9);
	epoch = shmcache_epoch(c);		/* before the SQLite load */
	shmcache_drop(c, se.token_hash);	/* a logout meanwhile */
	shmcache_put(c, &se, NOW, NOW + 60, epoch);
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 0);
	shmcache_close(c);
}

static void
test_drop_user_and_clear(void **state)
{
	struct shmcache	*c = open_table(64);
	struct session	 s1, s2, s3, got;

	(void)state;
	session_of(&s1, 4, 10);
	session_of(&s2, 5, 10);
	session_of(&s3, 6, 11);
	shmcache_put(c, &s1, NOW, NOW + 60, shmcache_epoch(c));
	shmcache_put(c, &s2, NOW, NOW + 60, shmcache_epoch(c));
	shmcache_put(c, &s3, NOW, NOW + 60, shmcache_epoch(c));
	shmcache_drop_user(c, 10);
	assert_int_equal(shmcache_get(c, s1.token_hash, NOW, &got), 0);
	assert_int_equal(shmcache_get(c, s2.token_hash, NOW, &got), 0);
	assert_int_equal(shmcache_get(c, s3.token_hash, NOW, &got), 1);
	shmcache_clear(c);
	assert_int_equal(shmcache_get(c, s3.token_hash, NOW, &got), 0);
	shmcache_close(c);
}

static void
test_namespace_bump_changes_it(void **state)
{
	struct shmcache	*c = open_table(64);
	uint64_t	 ns = shmcache_namespace(c);

	(void)state;
	shmcache_namespace_bump(c);
	assert_true(shmcache_namespace(c) != ns);
	shmcache_close(c);
}

/* A set holds SHMCACHE_WAYS entries; more evict, never mix up. */
static void
test_full_set_evicts_but_never_confuses(void **state)
{
	struct shmcache	*c = open_table(SHMCACHE_WAYS);
	struct session	 se[SHMCACHE_WAYS + 2], got;
	int		 i, hits = 0;

	(void)state;
	for (i = 0; i < SHMCACHE_WAYS + 2; i++) {
		session_of(&se[i], (unsigned char)(20 + i), 100 + i);
		shmcache_put(c, &se[i], NOW, NOW + 60 + i, shmcache_epoch(c));
	}
	for (i = 0; i < SHMCACHE_WAYS + 2; i++)
		if (shmcache_get(c, se[i].token_hash, NOW, &got) == 1) {
			assert_int_equal(got.user.id, 100 + i);
			hits++;
		}
	assert_int_equal(hits, SHMCACHE_WAYS);
	shmcache_close(c);
}

/* A file that is not a table (or of another size) is reset. */
static void
test_foreign_file_is_reset(void **state)
{
	FILE		*fp = fopen(path, "w");
	struct shmcache	*c;
	struct session	 se, got;

	(void)state;
	assert_non_null(fp);
	fputs("not a cache file", fp);
	fclose(fp);
	c = open_table(16);
	session_of(&se, 7, 1);
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 0);
	shmcache_put(c, &se, NOW, NOW + 60, shmcache_epoch(c));
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 1);
	shmcache_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_then_get, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shared_between_openers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_put_undoes_itself,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_user_and_clear,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_namespace_bump_changes_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_full_set_evicts_but_never_confuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file_is_reset,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
