#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "shmcache.h"
#include "util.h"

#define SHM_MAGIC		"authgwL1"
#define SHM_VERSION		4	/* 3: the mfa field; 4: revocations */
#define SHM_HEADER_SIZE		4096
#define SHM_GENS		65536	/* invalidation generations, by hash */
#define SHM_GENS_SIZE		(SHM_GENS * sizeof(uint64_t))
#define SHM_REVOKED		65536	/* recent revocations (several hosts) */
#define SHM_REVOKED_SIZE	(SHM_REVOKED * sizeof(struct shm_revoked))
#define SHM_REVOKED_PROBES	8
#define SHM_REVOKED_OFF		(SHM_HEADER_SIZE + SHM_GENS_SIZE)
#define SHM_SLOTS_OFF		(SHM_REVOKED_OFF + SHM_REVOKED_SIZE)
#define SHM_ENTRIES_MAX		(1u << 22)
#define SHM_DROP_SPINS		100000

/*
 * A recent revocation: the hash's bytes 16..23 (never 0 in use) and until
 * when memcached may hold an entry for it. Written until first, then key
 * (release); read key, then until (acquire): a reader that sees a key
 * sees its until, or a later one (a longer refusal, the safe side).
 */
struct shm_revoked {
	_Atomic uint64_t	 key;
	_Atomic int64_t		 until;
};

struct shm_header {
	char			 magic[8];
	uint32_t		 version;
	uint32_t		 slot_size;
	uint64_t		 nslots;
	_Atomic uint64_t	 generation;	/* bumped by a clear */
	_Atomic uint64_t	 unused;	/* was the epoch of version 1 */
	_Atomic uint64_t	 namespace;	/* memcached key namespace */
	_Atomic int64_t		 listener_beat;	/* CLOCK_MONOTONIC us of the
						   listener's last beat, 0
						   down (was zero-filled) */
	_Atomic uint64_t	 authority_ns;	/* the authority's namespace
						   + 1; 0 not known yet */
	_Atomic int64_t		 revoked_full;	/* a live revocation was
						   evicted: every hash counts
						   as revoked until then */
};

struct shm_slot {
	_Atomic uint32_t	 seq;		/* odd while being written */
	uint32_t		 is_token;	/* an API token (was padding: 0) */
	uint64_t		 generation;	/* the table's, at the put */
	uint64_t		 gen;		/* the hash's, before the load */
	int64_t			 valid_until;
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	int64_t			 id, created, expires, last_seen, user_id;
	int32_t			 verified, disabled, mfa, unused;
	char			 public_id[STORE_PUBLIC_ID_LEN + 2];
	char			 role[STORE_ROLE_MAX + 1];
	char			 email[STORE_EMAIL_MAX + 2];
};

struct shmcache {
	struct shm_header	*hdr;
	_Atomic uint64_t	*gens;		/* SHM_GENS of them */
	struct shm_revoked	*revoked;	/* SHM_REVOKED of them */
	struct shm_slot		*slots;
	size_t			 nslots;
	size_t			 maplen;
};

static int
header_ok(const struct shm_header *h, size_t filesz)
{
	return memcmp(h->magic, SHM_MAGIC, 8) == 0 &&
	    h->version == SHM_VERSION &&
	    h->slot_size == sizeof(struct shm_slot) &&
	    h->nslots >= SHMCACHE_WAYS && h->nslots <= SHM_ENTRIES_MAX &&
	    filesz == SHM_SLOTS_OFF + h->nslots * sizeof(struct shm_slot);
}

/*
 * Under the file lock: create or reset the file. Returns its size or 0
 * (errno set). Every block is allocated here: a page of a sparse file
 * first touched through the mapping when the file system is full kills
 * the process with SIGBUS (a full disk must cost writes a 503, not
 * workers their lives).
 */
static size_t
shm_init(int fd, size_t entries)
{
	struct shm_header	 h;
	size_t			 size;
	uint64_t		 ns;
	int			 rc;

	entries = (entries + SHMCACHE_WAYS - 1) / SHMCACHE_WAYS * SHMCACHE_WAYS;
	size = SHM_SLOTS_OFF + entries * sizeof(struct shm_slot);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SHM_MAGIC, 8);
	h.version = SHM_VERSION;
	h.slot_size = sizeof(struct shm_slot);
	h.nslots = entries;
	/* A fresh random namespace: a recreated file never revives old
	 * memcached entries. */
	if (crypto_random(&ns, sizeof(ns)) == -1)
		return 0;
	atomic_init(&h.namespace, ns);
	if (ftruncate(fd, 0) == -1 || ftruncate(fd, (off_t)size) == -1)
		return 0;
	/* On failure no header is written: the next open tries again. */
	if ((rc = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		errno = rc;
		return 0;
	}
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return 0;
	return size;
}

struct shmcache *
shmcache_open(const char *path, size_t entries, long also_uid, char *err,
    size_t errsz)
{
	struct shmcache		*c;
	struct shm_header	 h;
	struct stat		 sb;
	size_t			 size = 0;
	void			*map;
	int			 fd;

	if (entries < SHMCACHE_WAYS)
		entries = SHMCACHE_WAYS;
	if (entries > SHM_ENTRIES_MAX) {
		snprintf(err, errsz, "cache: entries out of range");
		return NULL;
	}
	if ((fd = util_open_private(path, O_RDWR, also_uid)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &sb) == -1)
		goto fail;
	/* Whoever can write the table can mint a session for anyone. */
	if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1 ||
	    (sb.st_uid != geteuid() && (long)sb.st_uid != also_uid) ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errsz, "%s: not a regular file owned by uid %ld "
		    "(or the database's owner) and writable by its owner "
		    "alone: not used", path, (long)geteuid());
		close(fd);
		return NULL;
	}
	if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    header_ok(&h, (size_t)sb.st_size))
		size = (size_t)sb.st_size;
	else if ((size = shm_init(fd, entries)) == 0)
		goto fail;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	(void)flock(fd, LOCK_UN);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errsz, "%s: mmap: %s", path, strerror(errno));
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->hdr = map;
	c->gens = (_Atomic uint64_t *)(void *)((char *)map + SHM_HEADER_SIZE);
	c->revoked = (struct shm_revoked *)(void *)((char *)map +
	    SHM_REVOKED_OFF);
	c->slots = (struct shm_slot *)(void *)((char *)map + SHM_SLOTS_OFF);
	/* From the size checked above, never re-read from the mapping. */
	c->nslots = (size - SHM_SLOTS_OFF) / sizeof(struct shm_slot);
	c->maplen = size;
	return c;
fail:
	snprintf(err, errsz, "%s: %s", path, strerror(errno));
	close(fd);
	return NULL;
}

void
shmcache_close(struct shmcache *c)
{
	if (c == NULL)
		return;
	munmap(c->hdr, c->maplen);
	free(c);
}

static struct shm_slot *
set_of(struct shmcache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	uint64_t	 h;

	memcpy(&h, hash, sizeof(h));
	return &c->slots[(h % (c->nslots / SHMCACHE_WAYS)) * SHMCACHE_WAYS];
}

/* The invalidation generation of a hash (bytes 8..15 pick it; 0..7 the
 * set, so hashes sharing a set rarely share a generation). */
static _Atomic uint64_t *
gen_of(struct shmcache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	uint64_t	 h;

	memcpy(&h, hash + 8, sizeof(h));
	return &c->gens[h % SHM_GENS];
}

/*
 * Claim a slot for writing; 0 if another writer holds it. The odd
 * sequence number must be visible before any of the data stores that
 * follow: the compare-and-swap's acquire orders only its load, so a
 * release fence follows it (a seqlock writer's smp_wmb). Without it a
 * weakly ordered CPU (ARM64) may show a reader new data under an even,
 * unchanged sequence number.
 */
static int
slot_lock(struct shm_slot *s, uint32_t *seq)
{
	uint32_t	 v = atomic_load_explicit(&s->seq, memory_order_relaxed);

	if (v & 1)
		return 0;
	if (!atomic_compare_exchange_strong_explicit(&s->seq, &v, v + 1,
	    memory_order_acquire, memory_order_relaxed))
		return 0;
	atomic_thread_fence(memory_order_release);
	*seq = v + 1;
	return 1;
}

/* Publish: the data stores before it are visible before the even seq. */
static void
slot_unlock(struct shm_slot *s, uint32_t seq)
{
	atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

static void
slot_to_session(const struct shm_slot *copy, struct session *se)
{
	memset(se, 0, sizeof(*se));
	memcpy(se->token_hash, copy->hash, CRYPTO_SHA256_LEN);
	se->is_token = copy->is_token != 0;
	se->id = copy->id;
	se->created = copy->created;
	se->expires = copy->expires;
	se->last_seen = copy->last_seen;
	se->user.id = copy->user_id;
	se->user.verified = copy->verified;
	se->user.disabled = copy->disabled;
	se->mfa = copy->mfa != 0 && !se->is_token;
	(void)util_strlcpy(se->public_id, copy->public_id,
	    sizeof(se->public_id));
	(void)util_strlcpy(se->user.role, copy->role, sizeof(se->user.role));
	(void)util_strlcpy(se->user.email, copy->email,
	    sizeof(se->user.email));
}

int
shmcache_get(struct shmcache *c, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct session *se)
{
	struct shm_slot	*set = set_of(c, hash), copy;
	uint64_t	 gen = atomic_load(&c->hdr->generation);
	uint64_t	 hgen = atomic_load(gen_of(c, hash));
	uint32_t	 s1, s2;
	int		 i;

	for (i = 0; i < SHMCACHE_WAYS; i++) {
		s1 = atomic_load_explicit(&set[i].seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy(&copy, &set[i], sizeof(copy));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&set[i].seq, memory_order_relaxed);
		/* An entry loaded before the hash's last invalidation (its
		 * gen is older) is stale, whoever put it and when. */
		if (s1 != s2 || copy.generation != gen || copy.gen != hgen ||
		    copy.valid_until <= now ||
		    !crypto_memeq(copy.hash, hash, CRYPTO_SHA256_LEN))
			continue;
		copy.public_id[sizeof(copy.public_id) - 1] = '\0';
		copy.role[sizeof(copy.role) - 1] = '\0';
		copy.email[sizeof(copy.email) - 1] = '\0';
		slot_to_session(&copy, se);
		return 1;
	}
	return 0;
}

uint64_t
shmcache_gen(struct shmcache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	return atomic_load(gen_of(c, hash));
}

/* Clear slot s if it still holds hash (or unconditionally if hash NULL). */
static void
slot_clear(struct shm_slot *s, const unsigned char *hash, int64_t user_id)
{
	uint32_t	 seq;
	int		 spins;

	for (spins = 0; !slot_lock(s, &seq); spins++)
		if (spins > SHM_DROP_SPINS)
			return;	/* a dead writer: its odd seq reads as a miss */
	if ((hash == NULL || memcmp(s->hash, hash, CRYPTO_SHA256_LEN) == 0) &&
	    (user_id == 0 || s->user_id == user_id)) {
		s->valid_until = 0;
		memset(s->hash, 0, sizeof(s->hash));
		s->user_id = 0;
	}
	slot_unlock(s, seq);
}

/* The slot of the set to write se into. */
static struct shm_slot *
slot_choose(struct shm_slot *set, const struct session *se, uint64_t gen,
    int64_t now)
{
	struct shm_slot	*s = NULL;
	int		 i;

	for (i = 0; i < SHMCACHE_WAYS && s == NULL; i++)
		if (memcmp(set[i].hash, se->token_hash, CRYPTO_SHA256_LEN) == 0)
			s = &set[i];
	for (i = 0; i < SHMCACHE_WAYS && s == NULL; i++)
		if (set[i].generation != gen || set[i].valid_until <= now)
			s = &set[i];
	for (i = 0; i < SHMCACHE_WAYS && s == NULL; i++)
		if (s == NULL || set[i].valid_until < s->valid_until)
			s = &set[i];
	return s != NULL ? s : &set[0];
}

void
shmcache_put(struct shmcache *c, const struct session *se, int64_t now,
    int64_t valid_until, uint64_t hgen)
{
	struct shm_slot	*set = set_of(c, se->token_hash), *s;
	uint64_t	 gen = atomic_load(&c->hdr->generation);
	uint32_t	 seq;

	/* Invalidated since the load: readers would refuse it anyway. */
	if (atomic_load(gen_of(c, se->token_hash)) != hgen)
		return;
	s = slot_choose(set, se, gen, now);
	if (!slot_lock(s, &seq))
		return;		/* busy: simply not cached this time */
	s->generation = gen;
	s->gen = hgen;
	s->valid_until = valid_until;
	memcpy(s->hash, se->token_hash, CRYPTO_SHA256_LEN);
	s->is_token = se->is_token ? 1 : 0;
	s->id = se->id;
	s->created = se->created;
	s->expires = se->expires;
	s->last_seen = se->last_seen;
	s->user_id = se->user.id;
	s->verified = se->user.verified;
	s->disabled = se->user.disabled;
	s->mfa = se->mfa ? 1 : 0;
	(void)util_strlcpy(s->public_id, se->public_id, sizeof(s->public_id));
	(void)util_strlcpy(s->role, se->user.role, sizeof(s->role));
	(void)util_strlcpy(s->email, se->user.email, sizeof(s->email));
	slot_unlock(s, seq);
}

void
shmcache_drop(struct shmcache *c, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	struct shm_slot	*set = set_of(c, hash);
	int		 i;

	atomic_fetch_add(gen_of(c, hash), 1);
	for (i = 0; i < SHMCACHE_WAYS; i++)
		if (memcmp(set[i].hash, hash, CRYPTO_SHA256_LEN) == 0)
			slot_clear(&set[i], hash, 0);
}

void
shmcache_drop_user(struct shmcache *c, int64_t user_id,
    const unsigned char (*hashes)[CRYPTO_SHA256_LEN], size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		atomic_fetch_add(gen_of(c, hashes[i]), 1);
	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].user_id == user_id)
			slot_clear(&c->slots[i], NULL, user_id);
}

void
shmcache_clear(struct shmcache *c)
{
	size_t	 i;

	/* Every hash's generation moves too: a refill that began before
	 * the clear must not cache what it read (the operator clears after
	 * changing the database by hand). 64 Ki increments, an admin's click. */
	for (i = 0; i < SHM_GENS; i++)
		atomic_fetch_add(&c->gens[i], 1);
	atomic_fetch_add(&c->hdr->generation, 1);
}

uint64_t
shmcache_namespace(struct shmcache *c)
{
	return atomic_load(&c->hdr->namespace);
}

void
shmcache_namespace_bump(struct shmcache *c)
{
	atomic_fetch_add(&c->hdr->namespace, 1);
}

uint64_t
shmcache_authority_ns(struct shmcache *c)
{
	return atomic_load(&c->hdr->authority_ns);
}

void
shmcache_authority_ns_set(struct shmcache *c, uint64_t ns)
{
	atomic_store(&c->hdr->authority_ns, ns + 1);
}

void
shmcache_authority_ns_raise(struct shmcache *c, uint64_t ns)
{
	uint64_t	 cur = atomic_load(&c->hdr->authority_ns);

	while (cur < ns + 1 &&
	    !atomic_compare_exchange_weak(&c->hdr->authority_ns, &cur, ns + 1))
		;
}

void
shmcache_listener_beat(struct shmcache *c, int64_t mono_us)
{
	atomic_store(&c->hdr->listener_beat, mono_us);
}

int
shmcache_listener_alive(struct shmcache *c, int64_t mono_us)
{
	int64_t	 beat = atomic_load(&c->hdr->listener_beat);

	return beat != 0 && mono_us - beat <= SHMCACHE_BEAT_MAX_US;
}

/* The key of a hash in the revocations (bytes 16..23), never 0. */
static uint64_t
revoked_key(const unsigned char hash[CRYPTO_SHA256_LEN])
{
	uint64_t	 k;

	memcpy(&k, hash + 16, sizeof(k));
	return k != 0 ? k : 1;
}

void
shmcache_revoke(struct shmcache *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now, int64_t until)
{
	struct shm_revoked	*r, *victim = NULL;
	uint64_t		 k = revoked_key(hash), cur;
	int64_t			 u, full;
	size_t			 i, at = (size_t)(k % SHM_REVOKED);

	for (i = 0; i < SHM_REVOKED_PROBES; i++) {
		r = &c->revoked[(at + i) % SHM_REVOKED];
		cur = atomic_load_explicit(&r->key, memory_order_acquire);
		u = atomic_load_explicit(&r->until, memory_order_relaxed);
		if (cur == k || cur == 0 || u <= now) {
			victim = r;
			break;
		}
		if (victim == NULL || u < atomic_load(&victim->until))
			victim = r;
	}
	u = atomic_load(&victim->until);
	if (atomic_load(&victim->key) != k && u > now) {
		/* Full of live ones: the one evicted could be replayed, so
		 * every hash counts as revoked until its time was up. */
		full = atomic_load(&c->hdr->revoked_full);
		while (full < u && !atomic_compare_exchange_weak(
		    &c->hdr->revoked_full, &full, u))
			;
	}
	if (atomic_load(&victim->key) == k && u > until)
		until = u;
	atomic_store_explicit(&victim->until, until, memory_order_relaxed);
	atomic_store_explicit(&victim->key, k, memory_order_release);
}

/* Seconds another host's clock may be ahead of this one's. */
#define SHM_CLOCK_SKEW	60

void
shmcache_revoke_for(struct shmcache *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t ttl)
{
	int64_t	 now = util_now();

	shmcache_revoke(c, hash, now, now + ttl + SHM_CLOCK_SKEW);
}

int
shmcache_revoked(struct shmcache *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now)
{
	const struct shm_revoked	*r;
	uint64_t			 k = revoked_key(hash);
	size_t				 i, at = (size_t)(k % SHM_REVOKED);

	if (atomic_load(&c->hdr->revoked_full) > now)
		return 1;
	for (i = 0; i < SHM_REVOKED_PROBES; i++) {
		r = &c->revoked[(at + i) % SHM_REVOKED];
		if (atomic_load_explicit(&r->key, memory_order_acquire) == k &&
		    atomic_load_explicit(&r->until, memory_order_relaxed) > now)
			return 1;
	}
	return 0;
}
