/* Unit tests of src/shmcache.c: the host table on a temporary file. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

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
	struct shmcache	*c = shmcache_open(path, entries, -1, err, sizeof(err));

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
	shmcache_put(c, &se, NOW, NOW + 60, shmcache_gen(c, se.token_hash));
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
	shmcache_put(a, &se, NOW, NOW + 60, shmcache_gen(a, se.token_hash));
	assert_int_equal(shmcache_get(b, se.token_hash, NOW, &got), 1);
	shmcache_drop(b, se.token_hash);
	assert_int_equal(shmcache_get(a, se.token_hash, NOW, &got), 0);
	shmcache_close(a);
	shmcache_close(b);
}

/* A load that raced an invalidation is never accepted. */
static void
test_stale_put_is_refused(void **state)
{
	struct shmcache	*c = open_table(64);
	struct session	 se, got;
	uint64_t	 gen;

	(void)state;
	session_of(&se, 3, 9);
	gen = shmcache_gen(c, se.token_hash);	/* before the load */
	shmcache_drop(c, se.token_hash);	/* a logout meanwhile */
	shmcache_put(c, &se, NOW, NOW + 60, gen);
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 0);
	/* A load after the logout is cached again. */
	shmcache_put(c, &se, NOW, NOW + 60, shmcache_gen(c, se.token_hash));
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 1);
	shmcache_close(c);
}

/*
 * Two processes (two mappings): a refill in b that read the generation
 * before a's logout writes nothing after it, and neither sees an entry.
 */
static void
test_refill_after_drop_by_other_opener_is_not_kept(void **state)
{
	struct shmcache	*a = open_table(64), *b = open_table(64);
	struct session	 se, got;
	uint64_t	 gen;

	(void)state;
	session_of(&se, 8, 12);
	gen = shmcache_gen(b, se.token_hash);	/* b's refill starts */
	shmcache_drop(a, se.token_hash);	/* a's logout */
	shmcache_put(b, &se, NOW, NOW + 60, gen);
	assert_int_equal(shmcache_get(a, se.token_hash, NOW, &got), 0);
	assert_int_equal(shmcache_get(b, se.token_hash, NOW, &got), 0);
	shmcache_close(a);
	shmcache_close(b);
}

/*
 * drop_user moves the generation of every hash it is given, and a reader
 * refuses an entry under an old generation even when its slot was not
 * cleared (here: the slot scan looks for another user id), which is what
 * makes an entry written in the window after a clear harmless.
 */
static void
test_drop_user_moves_generations(void **state)
{
	struct shmcache	*c = open_table(64);
	struct session	 s1, got;
	const unsigned char (*h)[CRYPTO_SHA256_LEN];
	uint64_t	 gen;

	(void)state;
	session_of(&s1, 9, 20);
	gen = shmcache_gen(c, s1.token_hash);
	shmcache_put(c, &s1, NOW, NOW + 60, gen);
	assert_int_equal(shmcache_get(c, s1.token_hash, NOW, &got), 1);
	h = (const unsigned char (*)[CRYPTO_SHA256_LEN])&s1.token_hash;
	shmcache_drop_user(c, 999, h, 1);
	assert_int_equal(shmcache_get(c, s1.token_hash, NOW, &got), 0);
	shmcache_drop_user(c, 20, h, 1);
	assert_int_not_equal(shmcache_gen(c, s1.token_hash), gen);
	shmcache_put(c, &s1, NOW, NOW + 60, gen);
	assert_int_equal(shmcache_get(c, s1.token_hash, NOW, &got), 0);
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
	shmcache_put(c, &s1, NOW, NOW + 60, shmcache_gen(c, s1.token_hash));
	shmcache_put(c, &s2, NOW, NOW + 60, shmcache_gen(c, s2.token_hash));
	shmcache_put(c, &s3, NOW, NOW + 60, shmcache_gen(c, s3.token_hash));
	shmcache_drop_user(c, 10, NULL, 0);	/* slots of user 10 */
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

/* The authority's namespace reaches every opener; a raise never lowers
 * it, a set (the listener's) does. */
static void
test_authority_namespace(void **state)
{
	struct shmcache	*a = open_table(64), *b = open_table(64);

	(void)state;
	assert_int_equal(shmcache_authority_ns(b), 0);	/* not known */
	shmcache_authority_ns_raise(a, 0);
	assert_int_equal(shmcache_authority_ns(b), 1);
	shmcache_authority_ns_set(a, 7);
	assert_int_equal(shmcache_authority_ns(b), 8);
	shmcache_authority_ns_raise(b, 5);
	assert_int_equal(shmcache_authority_ns(a), 8);
	shmcache_authority_ns_raise(b, 9);
	assert_int_equal(shmcache_authority_ns(a), 10);
	shmcache_authority_ns_set(b, 2);	/* a new database */
	assert_int_equal(shmcache_authority_ns(a), 3);
	shmcache_close(a);
	shmcache_close(b);
}

/* The listener's beat: alive only while fresh, and down when it says so
 * or stops beating (a hung or dead listener). */
static void
test_listener_beat(void **state)
{
	struct shmcache	*a = open_table(64), *b = open_table(64);
	int64_t		 t = 5000000;

	(void)state;
	assert_false(shmcache_listener_alive(b, t));	/* never beaten */
	shmcache_listener_beat(a, t);
	assert_true(shmcache_listener_alive(b, t));
	assert_true(shmcache_listener_alive(b, t + SHMCACHE_BEAT_MAX_US));
	assert_false(shmcache_listener_alive(b, t + SHMCACHE_BEAT_MAX_US + 1));
	shmcache_listener_beat(a, t + 10);
	shmcache_listener_beat(a, 0);
	assert_false(shmcache_listener_alive(b, t + 10));
	shmcache_close(a);
	shmcache_close(b);
}

/* Revocations: seen by every opener until their time; a live one
 * evicted (more than fit) makes every hash count as revoked until then. */
static void
test_revocations(void **state)
{
	struct shmcache	*a = open_table(64), *b = open_table(64);
	unsigned char	 h[CRYPTO_SHA256_LEN], o[CRYPTO_SHA256_LEN];
	int		 i;

	(void)state;
	memset(h, 3, sizeof(h));
	memset(o, 4, sizeof(o));
	assert_false(shmcache_revoked(b, h, NOW));
	shmcache_revoke(a, h, NOW, NOW + 300);
	assert_true(shmcache_revoked(b, h, NOW));
	assert_true(shmcache_revoked(b, h, NOW + 299));
	assert_false(shmcache_revoked(b, h, NOW + 300));
	assert_false(shmcache_revoked(b, o, NOW));
	/* Again, shorter: the longer stands. */
	shmcache_revoke(a, h, NOW, NOW + 10);
	assert_true(shmcache_revoked(b, h, NOW + 299));
	/* Nine live ones on one key's probes (bytes 16..23 alike but for
	 * the probe offset): the ninth evicts one, and then every hash
	 * counts as revoked until the evicted one's end. */
	for (i = 0; i < 9; i++) {
		memset(o, 0, sizeof(o));
		o[16] = 9;
		o[18] = (unsigned char)(i + 1);	/* key differs, probes clash */
		o[0] = (unsigned char)i;
		shmcache_revoke(a, o, NOW, NOW + 100 + i);
	}
	assert_true(shmcache_revoked(b, o, NOW));
	memset(o, 0x55, sizeof(o));
	(void)o;
	shmcache_close(a);
	shmcache_close(b);
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
		shmcache_put(c, &se[i], NOW, NOW + 60 + i, shmcache_gen(c, se[i].token_hash));
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
	shmcache_put(c, &se, NOW, NOW + 60, shmcache_gen(c, se.token_hash));
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 1);
	shmcache_close(c);
}

/* Every block of a new table is allocated when it is made: a page of a
 * sparse file first touched through the mapping on a full file system
 * kills the process with SIGBUS (found by make faultbench, disk-full). */
static void
test_new_table_has_every_block(void **state)
{
	struct shmcache	*c = open_table(4096);
	struct stat	 sb;

	(void)state;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 1024 * 1024);
	assert_true((long long)sb.st_blocks * 512 >= (long long)sb.st_size);
	shmcache_close(c);
}

/* A symbolic link at the path is never followed (it could point at the
 * database, which the open would truncate). */
static void
test_symlink_is_refused(void **state)
{
	char		 target[80], err[256];
	struct stat	 sb;
	FILE		*fp;

	(void)state;
	assert_true(snprintf(target, sizeof(target), "%s.target", path) > 0);
	fp = fopen(target, "w");
	assert_non_null(fp);
	fputs("precious", fp);
	fclose(fp);
	assert_int_equal(symlink(target, path), 0);
	assert_null(shmcache_open(path, 64, -1, err, sizeof(err)));
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_size, 8);	/* not truncated */
	unlink(target);
}

/* Whoever can write the table can mint sessions: group/other-writable
 * files, and files of another owner, are refused. */
static void
test_writable_by_others_is_refused(void **state)
{
	struct shmcache	*c = open_table(16);
	char		 err[256];

	(void)state;
	shmcache_close(c);
	assert_int_equal(chmod(path, 0620), 0);
	assert_null(shmcache_open(path, 16, -1, err, sizeof(err)));
	assert_int_equal(chmod(path, 0602), 0);
	assert_null(shmcache_open(path, 16, -1, err, sizeof(err)));
	assert_int_equal(chmod(path, 0600), 0);
	c = open_table(16);
	shmcache_close(c);
	if (geteuid() != 0)
		return;		/* only root can give it away */
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_null(shmcache_open(path, 16, -1, err, sizeof(err)));
	/* The database's owner (the service user) is trusted by root. */
	c = shmcache_open(path, 16, 65534, err, sizeof(err));
	assert_non_null(c);
	shmcache_close(c);
}

/*
 * Root (the command line) creating the table gives it to the database's
 * owner, so the service keeps using it; a table with another link is
 * refused and nothing found at the path is given away.
 */
static void
test_root_created_table_goes_to_database_owner(void **state)
{
	struct shmcache	*c;
	struct stat	 sb;
	char		 err[256], other[80];
	int		 fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	c = shmcache_open(path, 16, 65534, err, sizeof(err));
	assert_non_null(c);
	shmcache_close(c);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, 65534);
	unlink(path);
	assert_true(snprintf(other, sizeof(other), "%s.other", path) > 0);
	assert_true((fd = open(other, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	assert_int_equal(link(other, path), 0);
	assert_null(shmcache_open(path, 16, 65534, err, sizeof(err)));
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_uid, 0);
	unlink(other);
}

/* A clear moves every hash's generation: a refill begun before it is
 * not kept (the refill read the database before the operator's edit). */
static void
test_clear_moves_generations(void **state)
{
	struct shmcache	*c = open_table(64);
	struct session	 se, got;
	uint64_t	 gen;

	(void)state;
	session_of(&se, 11, 30);
	gen = shmcache_gen(c, se.token_hash);
	shmcache_clear(c);
	shmcache_put(c, &se, NOW, NOW + 60, gen);
	assert_int_equal(shmcache_get(c, se.token_hash, NOW, &got), 0);
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
		cmocka_unit_test_setup_teardown(test_stale_put_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refill_after_drop_by_other_opener_is_not_kept,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_user_moves_generations,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_by_others_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_root_created_table_goes_to_database_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clear_moves_generations,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_user_and_clear,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_namespace_bump_changes_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_authority_namespace,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_beat,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocations,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_full_set_evicts_but_never_confuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file_is_reset,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_table_has_every_block,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
