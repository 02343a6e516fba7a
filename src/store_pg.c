/*
 * The PostgreSQL engine of the store (store.h, behind store.c): the only
 * module that includes libpq (loaded with dlopen by the first open). One
 * connection per handle (opened after the fork, like every handle), every
 * statement prepared once per connection under its own name with every
 * value bound (bytea as binary parameters, the rest as text), the
 * numbered migrations of sql/pg/ compiled in and run under an advisory
 * lock. The locking that stands in for SQLite's single writer, the
 * notices and the reconnection are in doc/design.md, "PostgreSQL engine".
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "migrations_pg.h"
#include "store.h"
#include "store_engine.h"
#include "util.h"

#ifndef PQ_SONAME
#define PQ_SONAME	"libpq.so.5"
#endif

/* libpq is loaded with dlopen by the first open, as libsqlite3 is. */
#define PQ_FUNCS \
	PQ_FUNC(PQclear) \
	PQ_FUNC(PQcmdTuples) \
	PQ_FUNC(PQconnectdbParams) \
	PQ_FUNC(PQconsumeInput) \
	PQ_FUNC(PQerrorMessage) \
	PQ_FUNC(PQexec) \
	PQ_FUNC(PQexecParams) \
	PQ_FUNC(PQexecPrepared) \
	PQ_FUNC(PQfinish) \
	PQ_FUNC(PQfreemem) \
	PQ_FUNC(PQgetisnull) \
	PQ_FUNC(PQgetlength) \
	PQ_FUNC(PQgetResult) \
	PQ_FUNC(PQgetvalue) \
	PQ_FUNC(PQisBusy) \
	PQ_FUNC(PQnotifies) \
	PQ_FUNC(PQntuples) \
	PQ_FUNC(PQprepare) \
	PQ_FUNC(PQresultErrorField) \
	PQ_FUNC(PQresultStatus) \
	PQ_FUNC(PQsendQuery) \
	PQ_FUNC(PQsetNoticeProcessor) \
	PQ_FUNC(PQsocket) \
	PQ_FUNC(PQstatus)

static struct {
#define PQ_FUNC(f)	__typeof__(f) *f;
	PQ_FUNCS
#undef PQ_FUNC
} pq;
static int	pq_state;	/* 0 not tried, 1 loaded, -1 failed */
static char	pq_err[256];

static int
pq_resolve(void)
{
	void	*h;

	if ((h = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(pq_err, sizeof(pq_err), "cannot load %s: %s",
		    PQ_SONAME, dlerror());
		return -1;
	}
#define PQ_FUNC(f) \
	if ((pq.f = (__typeof__(f) *)dlsym(h, #f)) == NULL) { \
		snprintf(pq_err, sizeof(pq_err), "%s has no %s", \
		    PQ_SONAME, #f); \
		return -1; \
	}
	PQ_FUNCS
#undef PQ_FUNC
	return 0;
}

static int
pq_load(char *err, size_t errsz)
{
	if (pq_state == 0)
		pq_state = pq_resolve() == 0 ? 1 : -1;
	if (pq_state == 1)
		return 0;
	snprintf(err, errsz, "%s", pq_err);
	return -1;
}

/* The channel of the invalidation notices, and a notice's size bound
 * (PostgreSQL refuses a payload of 8000 bytes or more). */
#define PG_CHANNEL		"authgw"
#define PG_NOTICE_MAX		7999
/* Reconnection back-off: the first attempt at once, then these. */
#define PG_BACKOFF_MIN_USEC	100000
#define PG_BACKOFF_MAX_USEC	2000000
#define PG_PARAMS_MAX		10
/*
 * Server-side time-outs (doc/design.md; an "options" in the URI replaces
 * them): a lock waited for 5 s, a statement running 10 s, a transaction
 * left idle 15 s (a stalled host holding locks) end with an error, and the
 * caller answers 503 instead of hanging. Migrations lift them.
 */
#define PG_OPTIONS	"-c lock_timeout=5s -c statement_timeout=10s " \
			"-c idle_in_transaction_session_timeout=15s"

/*
 * Advisory lock classes (the first key of pg_advisory_xact_lock(int,
 * int)); the second is hashtext() of the text key. "AGW" in the high
 * bytes keeps them apart from another program's locks in the database.
 */
#define PG_LOCK_BASE		0x41475700
#define PG_LOCK_MIGRATE		(PG_LOCK_BASE + 1)	/* session lock */
#define PG_LOCK_UNIT		(PG_LOCK_BASE + 2)	/* store_begin */
#define PG_LOCK_ATTEMPT		(PG_LOCK_BASE + 16)	/* + kind */

enum stmt_id {
	PG_SECRET_GET,
	PG_SECRET_PUT,
	PG_USER_ADD,
	PG_USER_GET_EMAIL,
	PG_USER_SET_PWHASH,
	PG_USER_REHASH,
	PG_USER_GEN_BUMP,
	PG_USER_SET_ROLE,
	PG_USER_SET_VERIFIED,
	PG_USER_SET_DISABLED,
	PG_USER_DEL,
	PG_USER_EACH,
	PG_USER_LOCK,
	PG_SESSION_ADD,
	PG_SESSION_OVER_MAX,
	PG_SESSION_TRIM,
	PG_SESSION_GET,
	PG_SESSION_GET_PUBLIC,
	PG_SESSION_EXTEND,
	PG_SESSION_DEL_HASH,
	PG_SESSION_DEL_USER,
	PG_SESSION_EACH_USER,
	PG_SESSION_EACH_ALL,
	PG_SESSION_PURGE,
	PG_SESSION_COUNT_LIVE,
	PG_SESSION_DEL_OTHERS,
	PG_PING,
	PG_LOCK,
	PG_ATTEMPT_COUNT,
	PG_ATTEMPT_ADD,
	PG_ATTEMPT_DEL,
	PG_ATTEMPT_CLEAR,
	PG_ATTEMPT_PURGE,
	PG_VERIFY_ADD,
	PG_VERIFY_FIND,
	PG_VERIFY_MARK,
	PG_VERIFY_RETIRE,
	PG_RESET_ADD,
	PG_RESET_FIND,
	PG_RESET_MARK,
	PG_RESET_PURGE,
	PG_LOGIN_SEEN_GET,
	PG_LOGIN_SEEN_PUT,
	PG_LOGIN_SEEN_PURGE,
	PG_OUTBOX_ADD,
	PG_OUTBOX_CLAIM,
	PG_OUTBOX_SENT,
	PG_OUTBOX_FAILED,
	PG_OUTBOX_COUNT,
	PG_TOKEN_COUNT,
	PG_TOKEN_ADD,
	PG_TOKEN_GET,
	PG_TOKEN_TOUCH,
	PG_TOKEN_EACH_USER,
	PG_TOKEN_EACH_ALL,
	PG_TOKEN_OF_USER,
	PG_TOKEN_DEL_USER,
	PG_TOKEN_DEL,
	PG_TOKEN_PURGE,
	PG_NOTIFY,
	PG_NAMESPACE_GET,
	PG_NAMESPACE_BUMP,
	PG_HOST_BEAT,
	PG_HOST_EACH,
	PG_TOTP_GET,
	PG_TOTP_PENDING_PUT,
	PG_TOTP_ENABLE,
	PG_TOTP_RECOVERY_CLEAR,
	PG_TOTP_RECOVERY_ADD,
	PG_TOTP_REMOVE,
	PG_TOTP_NONCE_ADD,
	PG_TOTP_FACTOR,
	PG_TOTP_STEP,
	PG_TOTP_RECOVERY_USE,
	PG_TOTP_COUNT,
	PG_TOTP_PURGE,
	PG_SCHEMA_VERSION,
	PG_BEGIN,
	PG_COMMIT,
	PG_ROLLBACK,
	PG__COUNT
};

#define SESSION_COLS \
	"s.id, s.public_id, s.token_hash, s.created, s.expires, s.last_seen, " \
	"s.extensions, s.ip, s.user_agent, u.id, u.email, u.role, " \
	"u.verified, u.disabled, u.created, s.mfa"
#define USER_COLS "id, email, role, verified, disabled, created, pwhash, gen"
#define TOKEN_COLS \
	"t.id, t.token_hash, t.created, t.expires, t.last_used, u.id, " \
	"u.email, u.role, u.verified, u.disabled, u.created"
#define TOKEN_LIST_COLS \
	"t.id, t.user_id, u.email, t.name, t.created, t.last_used, t.expires"
/* A user-field change with its notice, in one statement: the count of
 * rows changed, and "u <id>" sent at commit. */
#define USER_NOTIFY(set) \
	"WITH c AS (UPDATE users SET " set " WHERE id = $2 RETURNING id) " \
	"SELECT (SELECT count(*) FROM c), pg_notify('" PG_CHANNEL "', " \
	"'u ' || $2::bigint)"

static const char *const pg_sql[PG__COUNT] = {
	[PG_SECRET_GET] = "SELECT value FROM meta WHERE key = 'secret'",
	[PG_SECRET_PUT] = "INSERT INTO meta (key, value) VALUES ('secret', "
	    "$1::bytea) ON CONFLICT (key) DO NOTHING",
	[PG_USER_ADD] = "INSERT INTO users (email, pwhash, role, verified, "
	    "created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
	[PG_USER_GET_EMAIL] = "SELECT " USER_COLS " FROM users "
	    "WHERE lower(email) = lower($1)",
	[PG_USER_SET_PWHASH] = USER_NOTIFY("pwhash = $1::text, gen = gen + 1"),
	[PG_USER_REHASH] =
	    "UPDATE users SET pwhash = $1 WHERE id = $2 AND gen = $3",
	[PG_USER_GEN_BUMP] = "UPDATE users SET gen = gen + 1 WHERE id = $1",
	[PG_USER_SET_ROLE] = USER_NOTIFY("role = $1::text"),
	[PG_USER_SET_VERIFIED] = USER_NOTIFY("verified = $1::int"),
	[PG_USER_SET_DISABLED] =
	    USER_NOTIFY("disabled = $1::int, gen = gen + 1"),
	[PG_USER_DEL] = "DELETE FROM users WHERE id = $1",
	[PG_USER_EACH] = "SELECT " USER_COLS " FROM users ORDER BY id",
	/* The user row lock of every per-user unit of work. */
	[PG_USER_LOCK] =
	    "SELECT disabled, gen FROM users WHERE id = $1 FOR UPDATE",
	[PG_SESSION_ADD] = "INSERT INTO sessions (token_hash, public_id, "
	    "user_id, created, expires, last_seen, ip, user_agent, mfa) "
	    "VALUES ($1::bytea, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
	[PG_SESSION_OVER_MAX] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.user_id = $1 "
	    "ORDER BY s.last_seen DESC, s.created DESC, s.id DESC OFFSET $2",
	[PG_SESSION_TRIM] = "DELETE FROM sessions WHERE id IN (SELECT id "
	    "FROM sessions WHERE user_id = $1 ORDER BY last_seen DESC, "
	    "created DESC, id DESC OFFSET $2)",
	[PG_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1::bytea",
	[PG_SESSION_GET_PUBLIC] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.public_id = $1",
	[PG_SESSION_EXTEND] = "UPDATE sessions SET expires = $1, "
	    "last_seen = $2, extensions = extensions + 1 "
	    "WHERE id = $3 AND expires = $4",
	[PG_SESSION_DEL_HASH] = "WITH d AS (DELETE FROM sessions "
	    "WHERE token_hash = $1::bytea RETURNING id) "
	    "SELECT (SELECT count(*) FROM d), pg_notify('" PG_CHANNEL "', "
	    "'h ' || encode($1::bytea, 'hex'))",
	[PG_SESSION_DEL_USER] = "DELETE FROM sessions WHERE user_id = $1",
	[PG_SESSION_EACH_USER] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.user_id = $1 "
	    "ORDER BY s.created DESC, s.id DESC",
	[PG_SESSION_EACH_ALL] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id ORDER BY s.created DESC, s.id DESC",
	[PG_SESSION_PURGE] = "DELETE FROM sessions WHERE expires <= $1",
	[PG_SESSION_COUNT_LIVE] =
	    "SELECT count(*) FROM sessions WHERE expires > $1",
	[PG_SESSION_DEL_OTHERS] = "DELETE FROM sessions WHERE user_id = $1 "
	    "AND token_hash != $2::bytea",
	[PG_PING] = "SELECT count(*) FROM meta",
	[PG_LOCK] = "SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))",
	[PG_ATTEMPT_COUNT] = "SELECT count(*), coalesce(min(at), 0) FROM "
	    "attempts WHERE kind = $1 AND key = $2 AND at > $3",
	[PG_ATTEMPT_ADD] = "INSERT INTO attempts (kind, key, at) "
	    "VALUES ($1, $2, $3) RETURNING id",
	[PG_ATTEMPT_DEL] = "DELETE FROM attempts WHERE id = $1",
	[PG_ATTEMPT_CLEAR] = "DELETE FROM attempts WHERE kind = $1 AND key = $2",
	[PG_ATTEMPT_PURGE] = "DELETE FROM attempts WHERE at <= $1",
	[PG_VERIFY_ADD] = "INSERT INTO verify_tokens (token_hash, user_id, "
	    "created, expires, pwhash) VALUES ($1::bytea, $2, $3, $4, $5)",
	[PG_VERIFY_FIND] = "SELECT u.id, u.email, u.role, u.verified, "
	    "u.disabled, u.created, u.pwhash, u.gen, v.id, v.pwhash "
	    "FROM verify_tokens v JOIN users u ON u.id = v.user_id "
	    "WHERE v.token_hash = $1::bytea AND v.used = 0 AND v.expires > $2 "
	    "AND u.disabled = 0",
	[PG_VERIFY_MARK] = "UPDATE verify_tokens SET used = $1 "
	    "WHERE id = $2 AND used = 0 AND expires > $1",
	[PG_VERIFY_RETIRE] = "UPDATE verify_tokens SET used = $1, pwhash = '' "
	    "WHERE user_id = $2 AND (used = 0 OR pwhash != '')",
	[PG_RESET_ADD] = "INSERT INTO reset_tokens (token_hash, user_id, gen, "
	    "created, expires) VALUES ($1::bytea, $2, $3, $4, $5)",
	[PG_RESET_FIND] = "SELECT u.id, u.email, u.role, u.verified, "
	    "u.disabled, u.created, u.pwhash, u.gen, r.id, r.gen "
	    "FROM reset_tokens r JOIN users u ON u.id = r.user_id "
	    "WHERE r.token_hash = $1::bytea AND r.used = 0 AND r.expires > $2 "
	    "AND u.disabled = 0 AND u.gen = r.gen",
	[PG_RESET_MARK] = "UPDATE reset_tokens SET used = $1 "
	    "WHERE id = $2 AND used = 0 AND expires > $1",
	[PG_RESET_PURGE] = "DELETE FROM reset_tokens WHERE expires <= $1",
	[PG_LOGIN_SEEN_GET] = "SELECT coalesce(max(CASE WHEN addr = $2 AND "
	    "ua_hash = $3::bytea THEN last_seen END), 0), count(*) "
	    "FROM login_seen WHERE user_id = $1",
	[PG_LOGIN_SEEN_PUT] = "INSERT INTO login_seen (user_id, addr, ua_hash, "
	    "last_seen) VALUES ($1, $2, $3::bytea, $4) ON CONFLICT (user_id, "
	    "addr, ua_hash) DO UPDATE SET last_seen = excluded.last_seen",
	[PG_LOGIN_SEEN_PURGE] = "DELETE FROM login_seen l WHERE "
	    "l.last_seen < $1 AND l.last_seen < (SELECT max(m.last_seen) "
	    "FROM login_seen m WHERE m.user_id = l.user_id)",
	[PG_OUTBOX_ADD] = "INSERT INTO outbox (created, recipient, message, "
	    "next_try) VALUES ($1, $2, $3, $1)",
	/* One statement, so one atomic claim; SKIP LOCKED: two hosts
	 * claiming at once take two messages, not one twice. */
	[PG_OUTBOX_CLAIM] = "UPDATE outbox SET next_try = $2 WHERE id = "
	    "(SELECT id FROM outbox WHERE sent = 0 AND next_try <= $1 "
	    "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	    "RETURNING id, attempts, recipient, message",
	[PG_OUTBOX_SENT] = "UPDATE outbox SET sent = $1, message = '', "
	    "last_error = '' WHERE id = $2 AND sent = 0",
	[PG_OUTBOX_FAILED] = "UPDATE outbox SET attempts = attempts + 1, "
	    "next_try = $1, last_error = $2 WHERE id = $3 AND sent = 0",
	[PG_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE sent = 0",
	[PG_TOKEN_COUNT] = "SELECT count(*) FROM api_tokens WHERE user_id = $1",
	[PG_TOKEN_ADD] = "INSERT INTO api_tokens (user_id, token_hash, name, "
	    "created, expires) SELECT $1::bigint, $2::bytea, $3::text, "
	    "$4::bigint, $5::bigint WHERE EXISTS (SELECT 1 FROM users "
	    "WHERE id = $1 AND disabled = 0 AND ($6::bytea IS NULL OR "
	    "verified = 1)) AND ($6::bytea IS NULL OR EXISTS (SELECT 1 "
	    "FROM sessions WHERE token_hash = $6::bytea AND user_id = $1)) "
	    "RETURNING id",
	[PG_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1::bytea",
	[PG_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used = $1 "
	    "WHERE id = $2 AND last_used = $3",
	[PG_TOKEN_EACH_USER] = "SELECT " TOKEN_LIST_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 ORDER BY t.id",
	[PG_TOKEN_EACH_ALL] = "SELECT " TOKEN_LIST_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id ORDER BY t.id",
	[PG_TOKEN_OF_USER] = "SELECT " TOKEN_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 ORDER BY t.id",
	[PG_TOKEN_DEL_USER] = "DELETE FROM api_tokens WHERE user_id = $1",
	[PG_TOKEN_DEL] = "WITH d AS (DELETE FROM api_tokens WHERE id = $1 AND "
	    "($2::bigint <= 0 OR user_id = $2) RETURNING token_hash, user_id) "
	    "SELECT token_hash, user_id, pg_notify('" PG_CHANNEL "', "
	    "'h ' || encode(token_hash, 'hex')) FROM d",
	[PG_TOKEN_PURGE] =
	    "DELETE FROM api_tokens WHERE expires != 0 AND expires <= $1",
	[PG_NOTIFY] = "SELECT pg_notify('" PG_CHANNEL "', $1)",
	[PG_NAMESPACE_GET] = "SELECT value FROM shared WHERE key = 'namespace'",
	/* Every host's listener hears the new value ("n <value>"). */
	[PG_NAMESPACE_BUMP] = "WITH b AS (INSERT INTO shared (key, value) "
	    "VALUES ('namespace', 1) ON CONFLICT (key) DO UPDATE SET "
	    "value = shared.value + 1 RETURNING value) SELECT b.value FROM b, "
	    "LATERAL pg_notify('" PG_CHANNEL "', 'n ' || b.value)",
	[PG_HOST_BEAT] = "INSERT INTO hosts (name, started, seen, checks, "
	    "cache_hits, cache_misses, workers) VALUES ($1, $2, $3, $4, $5, "
	    "$6, $7) ON CONFLICT (name) DO UPDATE SET "
	    "started = excluded.started, seen = excluded.seen, "
	    "checks = excluded.checks, cache_hits = excluded.cache_hits, "
	    "cache_misses = excluded.cache_misses, workers = excluded.workers",
	[PG_HOST_EACH] = "SELECT name, started, seen, checks, cache_hits, "
	    "cache_misses, workers FROM hosts WHERE seen >= $1 ORDER BY name",
	/* Hex whatever the server's bytea_output (totp_hex reads it). */
	[PG_TOTP_GET] = "SELECT encode(t.secret, 'hex'), "
	    "encode(t.pending, 'hex'), t.last_step, t.enabled, t.pending_gen, "
	    "t.pending_created, u.gen, t.factor FROM totp t JOIN users u "
	    "ON u.id = t.user_id WHERE t.user_id = $1",
	/* The first fresh pending secret stays: a second inserter waits for
	 * the first's commit, then its update's WHERE (re-evaluated on the
	 * committed row) finds a fresh one. A stale one (another generation
	 * of the user, or made at or before $4 = now -
	 * STORE_TOTP_PENDING_TTL) is replaced. */
	[PG_TOTP_PENDING_PUT] = "INSERT INTO totp (user_id, pending, "
	    "pending_gen, pending_created) SELECT id, $2::bytea, gen, "
	    "$3::bigint FROM users WHERE id = $1 ON CONFLICT (user_id) DO UPDATE SET "
	    "pending = excluded.pending, pending_gen = excluded.pending_gen, "
	    "pending_created = excluded.pending_created "
	    "WHERE totp.enabled = 0 AND (totp.pending IS NULL OR "
	    "totp.pending_gen <> excluded.pending_gen OR "
	    "totp.pending_created <= $4)",
	/* Under the user row lock: only a fresh pending secret. */
	[PG_TOTP_ENABLE] = "UPDATE totp SET secret = pending, pending = NULL, "
	    "enabled = 1, last_step = $3, factor = $5 WHERE user_id = $1 "
	    "AND enabled = 0 "
	    "AND pending = $2::bytea AND pending_created > $4 AND "
	    "pending_gen = (SELECT gen FROM users WHERE id = $1)",
	[PG_TOTP_RECOVERY_CLEAR] = "DELETE FROM totp_recovery WHERE user_id = $1",
	[PG_TOTP_RECOVERY_ADD] = "INSERT INTO totp_recovery (user_id, "
	    "code_hash) VALUES ($1, $2::bytea)",
	[PG_TOTP_REMOVE] = "DELETE FROM totp WHERE user_id = $1",
	[PG_TOTP_FACTOR] =
	    "SELECT factor FROM totp WHERE user_id = $1 AND enabled = 1",
	[PG_TOTP_NONCE_ADD] = "INSERT INTO totp_pending_used (nonce, expires) "
	    "VALUES ($1::bytea, $2)",
	[PG_TOTP_STEP] = "UPDATE totp SET last_step = $2 WHERE user_id = $1 "
	    "AND enabled = 1 AND last_step < $2",
	[PG_TOTP_RECOVERY_USE] = "DELETE FROM totp_recovery WHERE "
	    "user_id = $1 AND code_hash = $2::bytea AND EXISTS (SELECT 1 "
	    "FROM totp WHERE user_id = $1 AND enabled = 1)",
	[PG_TOTP_COUNT] = "SELECT count(*) FROM totp WHERE enabled = 1",
	[PG_TOTP_PURGE] = "DELETE FROM totp_pending_used WHERE expires <= $1",
	[PG_SCHEMA_VERSION] =
	    "SELECT coalesce(max(version), 0) FROM schema_migrations",
	[PG_BEGIN] = "BEGIN",
	[PG_COMMIT] = "COMMIT",
	[PG_ROLLBACK] = "ROLLBACK",
};

struct pg_store {
	struct store	 base;		/* first: the engine's table */
	PGconn		*conn;		/* NULL: lost, made again on demand */
	char		 uri[CONFIG_PATH_MAX];
	unsigned char	 prepared[PG__COUNT];	/* on this connection */
	int		 in_tx;		/* a transaction is open */
	int		 tx_lost;	/* the connection went inside it */
	int		 probing;	/* the listener's probe in flight */
	int64_t		 next_try;	/* monotonic usec of the next connect */
	int64_t		 backoff;	/* usec to wait after a failed one */
	char		 notice[PG_NOTICE_MAX + 1];	/* items to send */
	size_t		 notice_len;
};

#define PG(st)	((struct pg_store *)(st))

static const struct store_engine	pg_engine;

static enum store_rc	 pg_begin(struct store *);
static enum store_rc	 pg_commit(struct store *);
static void		 pg_rollback(struct store *);
static void		 pg_close(struct store *);
static enum store_rc	 pg_secret_get(struct store *, unsigned char [32]);
static enum store_rc	 pg_session_each(struct store *, int64_t,
			    store_session_cb, void *);
static enum store_rc	 pg_outbox_add(struct store *, const char *,
			    const char *, int64_t);

/* The bound values of one statement. */
struct args {
	const char	*v[PG_PARAMS_MAX];
	int		 len[PG_PARAMS_MAX];
	int		 fmt[PG_PARAMS_MAX];
	char		 num[PG_PARAMS_MAX][24];
	int		 n;
};

static void
arg_int(struct args *a, int64_t v)
{
	(void)snprintf(a->num[a->n], sizeof(a->num[a->n]), "%lld",
	    (long long)v);
	a->v[a->n] = a->num[a->n];
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

static void
arg_text(struct args *a, const char *v)
{
	a->v[a->n] = v;
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

/* A bytea, sent binary; NULL sends SQL NULL. */
static void
arg_blob(struct args *a, const unsigned char *v, size_t len)
{
	a->v[a->n] = (const char *)v;
	a->len[a->n] = (int)len;
	a->fmt[a->n++] = 1;
}

/*
 * A message of libpq's as it may be shown: its first line, every secret
 * of the URI hidden (util_uri_hide: libpq quotes parts of a URI it cannot
 * read, and sometimes all of it). Every libpq text goes through here.
 */
static void
pg_message(const char *uri, const char *msg, char *out, size_t outsz)
{
	char	 line[512];

	(void)util_strlcpy(line, msg != NULL ? msg : "", sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	(void)util_uri_hide(uri, line, out, outsz);
	crypto_cleanse(line, sizeof(line));
}

/* The connection is gone: forget it (and its prepared statements); the
 * next call makes a new one. */
static void
pg_lost(struct store *st)
{
	struct pg_store	*p = PG(st);
	char		 msg[512];

	pg_message(p->uri, pq.PQerrorMessage(p->conn), msg, sizeof(msg));
	log_error("postgresql: connection lost: %s", msg);
	pq.PQfinish(p->conn);
	p->conn = NULL;
	p->probing = 0;
	if (p->in_tx)
		p->tx_lost = 1;
	p->in_tx = 0;
}

/* The server's notices (such as "already exists, skipping") go to the
 * debug log, not to stderr. */
static void
pg_notice(void *arg, const char *msg)
{
	struct pg_store	*p = arg;
	char		 line[512];

	pg_message(p->uri, msg, line, sizeof(line));
	log_debug("postgresql: %s", line);
}

/*
 * Connect with the URI, keepalives on and a connect time-out unless the
 * URI sets them (its values come after ours and win). The name is a
 * fallback, so that an application_name or fallback_application_name in
 * the URI (the listener's "authgw-listener") wins. 0, or -1 with the
 * reason in err.
 */
static int
pg_connect(struct pg_store *p, char *err, size_t errsz)
{
	static const char *const keys[] = { "connect_timeout", "keepalives",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "fallback_application_name", "options", "dbname", NULL };
	const char	*vals[] = { "5", "1", "30", "10", "3", "authgw",
	    PG_OPTIONS, p->uri, NULL };
	PGconn		*c;
	char		 why[512];

	c = pq.PQconnectdbParams(keys, vals, 1);
	if (c == NULL || pq.PQstatus(c) != CONNECTION_OK) {
		pg_message(p->uri, c != NULL ? pq.PQerrorMessage(c) :
		    "out of memory", why, sizeof(why));
		snprintf(err, errsz, "postgresql: %s%s",
		    strcmp(why, UTIL_URI_HIDDEN) == 0 ? "" : "cannot connect: ",
		    why);
		pq.PQfinish(c);
		return -1;
	}
	pq.PQsetNoticeProcessor(c, pg_notice, p);
	p->conn = c;
	memset(p->prepared, 0, sizeof(p->prepared));
	p->in_tx = 0;
	return 0;
}

/*
 * A usable connection: 0, or -1 (down, and not retried before its
 * back-off ends; or inside a transaction that lost its connection, until
 * the caller rolls back).
 */
static int
pg_ready(struct store *st)
{
	struct pg_store	*p = PG(st);
	char		 err[320];
	int64_t		 now;

	if (p->tx_lost || p->probing)	/* one statement at a time */
		return -1;
	if (p->conn != NULL) {
		if (pq.PQstatus(p->conn) == CONNECTION_OK)
			return 0;
		pg_lost(st);
		if (p->tx_lost)
			return -1;
	}
	now = util_mono_usec();
	if (now < p->next_try)
		return -1;
	if (pg_connect(p, err, sizeof(err)) == -1) {
		log_error("%s (next attempt in %lld ms)", err,
		    (long long)(p->backoff / 1000));
		p->next_try = now + p->backoff;
		p->backoff = p->backoff * 2 > PG_BACKOFF_MAX_USEC ?
		    PG_BACKOFF_MAX_USEC : p->backoff * 2;
		return -1;
	}
	log_info("postgresql: connected");
	p->next_try = 0;
	p->backoff = PG_BACKOFF_MIN_USEC;
	return 0;
}

/* Log a failed result; a failure of the connection forgets it. */
static enum store_rc
pg_failed(struct store *st, PGresult *r, const char *what)
{
	const char	*state = r != NULL ?
	    pq.PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char		 msg[512];

	if (PG(st)->conn == NULL || pq.PQstatus(PG(st)->conn) != CONNECTION_OK) {
		pq.PQclear(r);
		pg_lost(st);
		return STORE_ERROR;
	}
	/* Class 23, integrity constraint violation: as SQLite's. */
	if (state != NULL && strncmp(state, "23", 2) == 0) {
		pq.PQclear(r);
		return STORE_EXISTS;
	}
	pg_message(PG(st)->uri, pq.PQerrorMessage(PG(st)->conn), msg,
	    sizeof(msg));
	log_error("postgresql: %s: %s", what, msg);
	pq.PQclear(r);
	return STORE_ERROR;
}

/*
 * Run statement id with a's values (prepared on first use on this
 * connection). STORE_OK with *res (PQclear it), or the failure: a
 * constraint STORE_EXISTS, anything else STORE_ERROR (logged).
 */
static enum store_rc
pg_run(struct store *st, enum stmt_id id, const struct args *a,
    PGresult **res)
{
	struct pg_store	*p = PG(st);
	PGresult	*r;
	char		 name[16];
	int		 s;

	*res = NULL;
	if (pg_ready(st) == -1)
		return STORE_ERROR;
	(void)snprintf(name, sizeof(name), "agw%d", (int)id);
	if (!p->prepared[id]) {
		r = pq.PQprepare(p->conn, name, pg_sql[id], 0, NULL);
		if (r == NULL || pq.PQresultStatus(r) != PGRES_COMMAND_OK)
			return pg_failed(st, r, "prepare");
		pq.PQclear(r);
		p->prepared[id] = 1;
	}
	r = pq.PQexecPrepared(p->conn, name, a != NULL ? a->n : 0,
	    a != NULL ? a->v : NULL, a != NULL ? a->len : NULL,
	    a != NULL ? a->fmt : NULL, 0);
	s = r != NULL ? (int)pq.PQresultStatus(r) : -1;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		return pg_failed(st, r, pg_sql[id]);
	*res = r;
	return STORE_OK;
}

/* Run a statement and keep only how it went and how many rows it
 * touched (*changes, may be NULL). */
static enum store_rc
pg_exec(struct store *st, enum stmt_id id, const struct args *a,
    int64_t *changes)
{
	PGresult	*r;
	const char	*n;
	enum store_rc	 rc;

	if ((rc = pg_run(st, id, a, &r)) != STORE_OK)
		return rc;
	if (changes != NULL) {
		n = pq.PQcmdTuples(r);
		if (util_parse_int64(n, strlen(n), 0, INT64_MAX, changes) == -1)
			*changes = 0;
	}
	pq.PQclear(r);
	return STORE_OK;
}

/* A statement with one integer parameter. */
static enum store_rc
pg_exec_int(struct store *st, enum stmt_id id, int64_t v, int64_t *changes)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, v);
	return pg_exec(st, id, &a, changes);
}

static int64_t
col_int(PGresult *r, int row, int col)
{
	const char	*v = pq.PQgetvalue(r, row, col);
	int64_t		 n;

	if (util_parse_int64(v, strlen(v), INT64_MIN, INT64_MAX, &n) == -1)
		return 0;
	return n;
}

static void
col_text(PGresult *r, int row, int col, char *dst, size_t dstsz)
{
	(void)util_strlcpy(dst, pq.PQgetvalue(r, row, col), dstsz);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A bytea of len bytes, in text form ("\x" and hex); zeros otherwise. */
static void
col_blob(PGresult *r, int row, int col, unsigned char *dst, size_t len)
{
	const char	*v = pq.PQgetvalue(r, row, col);
	size_t		 i;
	int		 hi, lo;

	memset(dst, 0, len);
	if ((size_t)pq.PQgetlength(r, row, col) != 2 + 2 * len ||
	    v[0] != '\\' || v[1] != 'x')
		return;
	for (i = 0; i < len; i++) {
		if ((hi = hexval(v[2 + 2 * i])) < 0 ||
		    (lo = hexval(v[3 + 2 * i])) < 0) {
			memset(dst, 0, len);
			return;
		}
		dst[i] = (unsigned char)(hi << 4 | lo);
	}
}

/* One integer of a one-row statement: STORE_OK, STORE_NOTFOUND (no row). */
static enum store_rc
pg_query_int(struct store *st, enum stmt_id id, const struct args *a,
    int64_t *out)
{
	PGresult	*r;
	enum store_rc	 rc;

	if ((rc = pg_run(st, id, a, &r)) != STORE_OK)
		return rc;
	rc = STORE_NOTFOUND;
	if (pq.PQntuples(r) > 0) {
		*out = col_int(r, 0, 0);
		rc = STORE_OK;
	}
	pq.PQclear(r);
	return rc;
}

/* Take an advisory lock until the end of the transaction. */
static enum store_rc
pg_lock(struct store *st, int class, const char *key)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, class);
	arg_text(&a, key);
	return pg_exec(st, PG_LOCK, &a, NULL);
}

/* Lock the user row for the rest of the transaction and read its state:
 * STORE_OK, STORE_NOTFOUND (no such user). */
static enum store_rc
pg_user_lock(struct store *st, int64_t id, int64_t *disabled, int64_t *gen)
{
	struct args	 a = { .n = 0 };
	PGresult	*r;
	enum store_rc	 rc;

	arg_int(&a, id);
	if ((rc = pg_run(st, PG_USER_LOCK, &a, &r)) != STORE_OK)
		return rc;
	rc = STORE_NOTFOUND;
	if (pq.PQntuples(r) > 0) {
		*disabled = col_int(r, 0, 0);
		*gen = col_int(r, 0, 1);
		rc = STORE_OK;
	}
	pq.PQclear(r);
	return rc;
}

/* Send the items gathered so far, inside the open transaction. */
static enum store_rc
notice_flush(struct store *st)
{
	struct pg_store	*p = PG(st);
	struct args	 a = { .n = 0 };
	enum store_rc	 rc;

	if (p->notice_len == 0)
		return STORE_OK;
	arg_text(&a, p->notice);
	rc = pg_exec(st, PG_NOTIFY, &a, NULL);
	p->notice_len = 0;
	p->notice[0] = '\0';
	return rc;
}

/* Add an item to the notice of this transaction (sent before commit, in
 * as many notices as their size bound needs). */
static enum store_rc
notice_add(struct store *st, const char *item)
{
	struct pg_store	*p = PG(st);
	size_t		 len = strlen(item);

	if (p->notice_len > 0 &&
	    len + 1 > sizeof(p->notice) - 1 - p->notice_len &&
	    notice_flush(st) != STORE_OK)
		return STORE_ERROR;
	if (p->notice_len > 0)
		p->notice[p->notice_len++] = '\n';
	memcpy(p->notice + p->notice_len, item, len + 1);
	p->notice_len += len;
	return STORE_OK;
}

static enum store_rc
notice_user(struct store *st, int64_t id)
{
	char	 item[32];

	(void)snprintf(item, sizeof(item), "u %lld", (long long)id);
	return notice_add(st, item);
}

static enum store_rc
notice_hash(struct store *st, const unsigned char h[CRYPTO_SHA256_LEN])
{
	static const char	 hex[] = "0123456789abcdef";
	char			 item[2 + 2 * CRYPTO_SHA256_LEN + 1];
	size_t			 i;

	item[0] = 'h';
	item[1] = ' ';
	for (i = 0; i < CRYPTO_SHA256_LEN; i++) {
		item[2 + 2 * i] = hex[h[i] >> 4];
		item[3 + 2 * i] = hex[h[i] & 0xf];
	}
	item[sizeof(item) - 1] = '\0';
	return notice_add(st, item);
}

/*
 * Apply every compiled-in migration not recorded, in order, each in its
 * own transaction, all under a session advisory lock: hosts starting
 * together on an empty database migrate once. 0, or -1 with err.
 */
static int
pg_migrate(struct store *st, char *err, size_t errsz)
{
	PGconn		*c = PG(st)->conn;
	PGresult	*r;
	char		 ver[16], lock[64], why[512];
	const char	*vals[1] = { ver };
	size_t		 i;
	int		 ok = 0, done;

	(void)snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d, 0)",
	    PG_LOCK_MIGRATE);
	/* Another host's migration, or a long one, takes what it takes. */
	r = pq.PQexec(c, "SET lock_timeout = 0; SET statement_timeout = 0");
	if (pq.PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	pq.PQclear(r);
	r = pq.PQexec(c, lock);
	if (pq.PQresultStatus(r) != PGRES_TUPLES_OK)
		goto fail;
	pq.PQclear(r);
	r = pq.PQexec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)");
	if (pq.PQresultStatus(r) != PGRES_COMMAND_OK)
		goto unlock;
	for (i = 0; i < sizeof(migrations_pg) / sizeof(migrations_pg[0]); i++) {
		pq.PQclear(r);
		(void)snprintf(ver, sizeof(ver), "%d", migrations_pg[i].version);
		r = pq.PQexecParams(c, "SELECT 1 FROM schema_migrations "
		    "WHERE version = $1", 1, NULL, vals, NULL, NULL, 0);
		if (pq.PQresultStatus(r) != PGRES_TUPLES_OK)
			goto unlock;
		done = pq.PQntuples(r) > 0;
		pq.PQclear(r);
		r = NULL;
		if (done)
			continue;
		r = pq.PQexec(c, "BEGIN");
		if (pq.PQresultStatus(r) != PGRES_COMMAND_OK)
			goto unlock;
		pq.PQclear(r);
		r = pq.PQexec(c, migrations_pg[i].sql);
		if (pq.PQresultStatus(r) != PGRES_COMMAND_OK)
			goto rollback;
		pq.PQclear(r);
		r = pq.PQexecParams(c, "INSERT INTO schema_migrations (version, "
		    "applied) VALUES ($1, extract(epoch FROM now())::bigint)",
		    1, NULL, vals, NULL, NULL, 0);
		if (pq.PQresultStatus(r) != PGRES_COMMAND_OK)
			goto rollback;
		pq.PQclear(r);
		r = pq.PQexec(c, "COMMIT");
		if (pq.PQresultStatus(r) != PGRES_COMMAND_OK)
			goto rollback;
		log_info("database migrated: migration %d applied",
		    migrations_pg[i].version);
	}
	ok = 1;
	goto unlock;
rollback:
	pg_message(PG(st)->uri, pq.PQerrorMessage(c), why, sizeof(why));
	snprintf(err, errsz, "migration %s failed: %s", ver, why);
	pq.PQclear(pq.PQexec(c, "ROLLBACK"));
unlock:
	if (!ok && err[0] == '\0') {
		pg_message(PG(st)->uri, pq.PQerrorMessage(c), why,
		    sizeof(why));
		snprintf(err, errsz, "migration failed: %s", why);
	}
	pq.PQclear(r);
	(void)snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%d, 0)",
	    PG_LOCK_MIGRATE);
	pq.PQclear(pq.PQexec(c, lock));
	pq.PQclear(pq.PQexec(c, "RESET lock_timeout; RESET statement_timeout"));
	return ok ? 0 : -1;
fail:
	pg_message(PG(st)->uri, pq.PQerrorMessage(c), why, sizeof(why));
	snprintf(err, errsz, "migration lock: %s", why);
	pq.PQclear(r);
	pq.PQclear(pq.PQexec(c, "RESET lock_timeout; RESET statement_timeout"));
	return -1;
}

/*
 * Compare the recorded migrations with the compiled-in ones: 0 when
 * every one is applied and none unknown, else -1 with err.
 */
static int
pg_migrations_check(struct store *st, char *err, size_t errsz)
{
	PGresult	*r;
	size_t		 i, n = sizeof(migrations_pg) / sizeof(migrations_pg[0]);
	size_t		 found = 0;
	int		 row, v, newer = 0;

	r = pq.PQexec(PG(st)->conn, "SELECT version FROM schema_migrations");
	if (pq.PQresultStatus(r) != PGRES_TUPLES_OK) {
		pq.PQclear(r);
		snprintf(err, errsz, "schema is not at version %d (run "
		    "'authgw db migrate')", migrations_pg[n - 1].version);
		return -1;
	}
	for (row = 0; row < pq.PQntuples(r); row++) {
		v = (int)col_int(r, row, 0);
		for (i = 0; i < n && migrations_pg[i].version != v; i++)
			continue;
		if (i < n)
			found++;
		else
			newer = v;
	}
	pq.PQclear(r);
	if (newer != 0) {
		snprintf(err, errsz, "database schema has migration %d, "
		    "unknown to this program (newer)", newer);
		return -1;
	}
	if (found != n) {
		snprintf(err, errsz, "schema is not at version %d (run "
		    "'authgw db migrate')", migrations_pg[n - 1].version);
		return -1;
	}
	return 0;
}

struct store *
store_pg_open(const char *uri, int migrate, char *err, size_t errsz)
{
	struct pg_store	*p;
	unsigned char	 secret[32];

	p = xcalloc(1, sizeof(*p));
	p->base.engine = &pg_engine;
	p->backoff = PG_BACKOFF_MIN_USEC;
	err[0] = '\0';
	if (util_strlcpy(p->uri, uri, sizeof(p->uri)) == -1) {
		snprintf(err, errsz, "database URI too long");
		goto fail;
	}
	if (pq_load(err, errsz) == -1 || pg_connect(p, err, errsz) == -1)
		goto fail;
	if (migrate && pg_migrate(&p->base, err, errsz) == -1)
		goto fail;
	if (pg_migrations_check(&p->base, err, errsz) == -1)
		goto fail;
	/* The secret exists before any request: a check never writes it. */
	if (migrate && pg_secret_get(&p->base, secret) != STORE_OK) {
		snprintf(err, errsz, "postgresql: cannot create the secret");
		goto fail;
	}
	crypto_cleanse(secret, sizeof(secret));
	return &p->base;
fail:
	pg_close(&p->base);
	return NULL;
}

static void
pg_close(struct store *st)
{
	struct pg_store	*p = PG(st);

	if (p->conn != NULL)
		pq.PQfinish(p->conn);
	crypto_cleanse(p->uri, sizeof(p->uri));
	free(p);
}

static int
pg_schema_version(struct store *st)
{
	int64_t	 v;

	if (pg_query_int(st, PG_SCHEMA_VERSION, NULL, &v) != STORE_OK)
		return -1;
	return (int)v;
}

/* A real round trip that reads a table. */
static int
pg_ping(struct store *st)
{
	int64_t	 v;

	return pg_query_int(st, PG_PING, NULL, &v) == STORE_OK;
}

static enum store_rc
pg_secret_get(struct store *st, unsigned char out[32])
{
	struct args	 a = { .n = 0 };
	unsigned char	 fresh[32];
	PGresult	*r;
	int		 tries, got;

	for (tries = 0; tries < 2; tries++) {
		if (pg_run(st, PG_SECRET_GET, NULL, &r) != STORE_OK)
			return STORE_ERROR;
		got = pq.PQntuples(r) > 0;
		if (got)
			col_blob(r, 0, 0, out, 32);
		pq.PQclear(r);
		if (got)
			return STORE_OK;
		/* None yet: create one; a concurrent creator may win. */
		if (crypto_random(fresh, sizeof(fresh)) == -1)
			return STORE_ERROR;
		a.n = 0;
		arg_blob(&a, fresh, sizeof(fresh));
		got = pg_exec(st, PG_SECRET_PUT, &a, NULL) == STORE_OK;
		crypto_cleanse(fresh, sizeof(fresh));
		if (!got)
			return STORE_ERROR;
	}
	return STORE_ERROR;
}

static enum store_rc
pg_user_add(struct store *st, const char *email, const char *pwhash,
    const char *role, int verified, int64_t now, int64_t *id)
{
	struct args	 a = { .n = 0 };
	int64_t		 v = 0;
	enum store_rc	 rc;

	arg_text(&a, email);
	arg_text(&a, pwhash);
	arg_text(&a, role);
	arg_int(&a, verified ? 1 : 0);
	arg_int(&a, now);
	if ((rc = pg_query_int(st, PG_USER_ADD, &a, &v)) == STORE_OK &&
	    id != NULL)
		*id = v;
	return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
}

static void
user_from_row(PGresult *r, int row, struct user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = col_int(r, row, 0);
	col_text(r, row, 1, u->email, sizeof(u->email));
	col_text(r, row, 2, u->role, sizeof(u->role));
	u->verified = (int)col_int(r, row, 3);
	u->disabled = (int)col_int(r, row, 4);
	u->created = col_int(r, row, 5);
	col_text(r, row, 6, u->pwhash, sizeof(u->pwhash));
	u->gen = col_int(r, row, 7);
}

/*
 * Run a query and pass each row to fill (non-zero stops). With one (a
 * one-row read) no row is STORE_NOTFOUND.
 */
static enum store_rc
pg_rows(struct store *st, enum stmt_id id, const struct args *a,
    int (*fill)(PGresult *, int, void *), void *arg, int one)
{
	PGresult	*r;
	enum store_rc	 rc;
	int		 row, n;

	if ((rc = pg_run(st, id, a, &r)) != STORE_OK)
		return rc;
	n = pq.PQntuples(r);
	for (row = 0; row < n; row++)
		if (fill(r, row, arg) != 0)
			break;
	pq.PQclear(r);
	return one && n == 0 ? STORE_NOTFOUND : STORE_OK;
}

static int
fill_user(PGresult *r, int row, void *out)
{
	user_from_row(r, row, out);
	return 1;
}

static enum store_rc
pg_user_get_email(struct store *st, const char *email, struct user *u)
{
	struct args	 a = { .n = 0 };

	arg_text(&a, email);
	return pg_rows(st, PG_USER_GET_EMAIL, &a, fill_user, u, 1);
}

/* A user-field change with its notice (USER_NOTIFY): STORE_NOTFOUND when
 * there is no such user. */
static enum store_rc
user_update(struct store *st, enum stmt_id id, int64_t uid, const char *text,
    int64_t num)
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;
	enum store_rc	 rc;

	if (text != NULL)
		arg_text(&a, text);
	else
		arg_int(&a, num);
	arg_int(&a, uid);
	if ((rc = pg_query_int(st, id, &a, &n)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
	return n == 0 ? STORE_NOTFOUND : STORE_OK;
}

static enum store_rc
pg_user_set_pwhash(struct store *st, int64_t id, const char *h)
{
	return user_update(st, PG_USER_SET_PWHASH, id, h, 0);
}

/* A conditional write: the row lock of the UPDATE and its re-check of
 * gen after a concurrent change make it one winner. */
static enum store_rc
pg_user_rehash(struct store *st, int64_t id, int64_t gen, const char *h)
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;
	enum store_rc	 rc;

	arg_text(&a, h);
	arg_int(&a, id);
	arg_int(&a, gen);
	if ((rc = pg_exec(st, PG_USER_REHASH, &a, &n)) != STORE_OK)
		return rc;
	return n == 0 ? STORE_CONFLICT : STORE_OK;
}

static enum store_rc
pg_user_set_role(struct store *st, int64_t id, const char *role)
{
	return user_update(st, PG_USER_SET_ROLE, id, role, 0);
}

static enum store_rc
pg_user_set_verified(struct store *st, int64_t id, int v)
{
	return user_update(st, PG_USER_SET_VERIFIED, id, NULL, v ? 1 : 0);
}

static enum store_rc
pg_user_set_disabled(struct store *st, int64_t id, int v)
{
	return user_update(st, PG_USER_SET_DISABLED, id, NULL, v ? 1 : 0);
}

/*
 * A callback that must see every row, and that adds each to the
 * transaction's notice first: a refusal (or a failed notice) fails the
 * caller.
 */
struct strict_cb {
	struct store		*st;
	store_session_cb	 cb;
	void			*arg;
	const unsigned char	*keep;	/* a session to skip, or NULL */
	int			 failed;
};

static int
strict_each(const struct session *se, void *arg)
{
	struct strict_cb	*s = arg;

	if (s->keep != NULL &&
	    memcmp(se->token_hash, s->keep, CRYPTO_SHA256_LEN) == 0)
		return 0;
	if (notice_hash(s->st, se->token_hash) != STORE_OK ||
	    (s->cb != NULL && s->cb(se, s->arg) != 0)) {
		s->failed = 1;
		return 1;
	}
	return 0;
}

static enum store_rc	token_rows(struct store *, int64_t, store_session_cb,
			    void *);
static enum store_rc	token_end(struct store *, int64_t, store_session_cb,
			    void *);

/* Commit with the notice gathered, or roll back: rc, or STORE_ERROR when
 * the commit fails. */
static enum store_rc
pg_finish(struct store *st, enum store_rc rc)
{
	if (rc == STORE_OK && (notice_flush(st) != STORE_OK ||
	    pg_commit(st) != STORE_OK))
		rc = STORE_ERROR;
	if (rc != STORE_OK)
		pg_rollback(st);
	return rc;
}

static enum store_rc
pg_user_del(struct store *st, int64_t id, store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { st, cb, arg, NULL, 0 };
	int64_t			 n = 0;
	enum store_rc		 rc = STORE_ERROR;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (pg_exec_int(st, PG_USER_GEN_BUMP, id, NULL) != STORE_OK ||
	    pg_session_each(st, id, strict_each, &s) != STORE_OK ||
	    s.failed || token_rows(st, id, strict_each, &s) != STORE_OK ||
	    s.failed || notice_user(st, id) != STORE_OK ||
	    pg_exec_int(st, PG_USER_DEL, id, &n) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	rc = n == 0 ? STORE_NOTFOUND : STORE_OK;
	return pg_finish(st, rc);
}

/* A caller's user callback, for pg_rows. */
struct user_rows {
	store_user_cb	 cb;
	void		*arg;
};

static int
user_row(PGresult *r, int row, void *arg)
{
	struct user_rows	*c = arg;
	struct user		 u;

	user_from_row(r, row, &u);
	return c->cb(&u, c->arg);
}

static enum store_rc
pg_user_each(struct store *st, store_user_cb cb, void *arg)
{
	struct user_rows	 c = { cb, arg };

	return pg_rows(st, PG_USER_EACH, NULL, user_row, &c, 0);
}

static void
session_from_row(PGresult *r, int row, struct session *se)
{
	memset(se, 0, sizeof(*se));
	se->id = col_int(r, row, 0);
	col_text(r, row, 1, se->public_id, sizeof(se->public_id));
	col_blob(r, row, 2, se->token_hash, CRYPTO_SHA256_LEN);
	se->created = col_int(r, row, 3);
	se->expires = col_int(r, row, 4);
	se->last_seen = col_int(r, row, 5);
	se->extensions = col_int(r, row, 6);
	col_text(r, row, 7, se->ip, sizeof(se->ip));
	col_text(r, row, 8, se->user_agent, sizeof(se->user_agent));
	se->user.id = col_int(r, row, 9);
	col_text(r, row, 10, se->user.email, sizeof(se->user.email));
	col_text(r, row, 11, se->user.role, sizeof(se->user.role));
	se->user.verified = (int)col_int(r, row, 12);
	se->user.disabled = (int)col_int(r, row, 13);
	se->user.created = col_int(r, row, 14);
	se->mfa = col_int(r, row, 15) != 0;
}

static int
fill_session(PGresult *r, int row, void *out)
{
	session_from_row(r, row, out);
	return 1;
}

/* A caller's session callback, for pg_rows. */
struct session_rows {
	store_session_cb	 cb;
	void			*arg;
};

static int
session_row(PGresult *r, int row, void *arg)
{
	struct session_rows	*c = arg;
	struct session		 se;

	session_from_row(r, row, &se);
	return c->cb(&se, c->arg);
}

/*
 * Inside store_session_add's transaction, the user row locked: end the
 * sessions beyond the max most recently used, each passed to cb (and to
 * the notice) first.
 */
static enum store_rc
session_trim(struct store *st, int64_t user_id, int64_t max,
    store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { st, cb, arg, NULL, 0 };
	struct session_rows	 c = { strict_each, &s };
	struct args		 a = { .n = 0 };

	arg_int(&a, user_id);
	arg_int(&a, max < 0 ? 0 : max);
	if (pg_rows(st, PG_SESSION_OVER_MAX, &a, session_row, &c, 0) !=
	    STORE_OK || s.failed)
		return STORE_ERROR;
	return pg_exec(st, PG_SESSION_TRIM, &a, NULL);
}

/*
 * The user row is locked first (FOR UPDATE): a concurrent "end every
 * session", new password, disabling or deletion of the user either came
 * before (gen or disabled tells, STORE_CONFLICT) or waits for this
 * commit; concurrent logins of the user run one after the other, so the
 * cap holds exactly.
 */
static enum store_rc
pg_session_add(struct store *st, struct session *se, int64_t gen,
    int64_t max, store_session_cb ended, void *arg)
{
	struct args	 a = { .n = 0 };
	int64_t		 disabled, cur, id = 0;
	enum store_rc	 rc;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = pg_user_lock(st, se->user.id, &disabled, &cur)) != STORE_OK)
		return pg_finish(st, rc == STORE_NOTFOUND ? STORE_CONFLICT : rc);
	if (disabled || cur != gen)
		return pg_finish(st, STORE_CONFLICT);
	arg_blob(&a, se->token_hash, CRYPTO_SHA256_LEN);
	arg_text(&a, se->public_id);
	arg_int(&a, se->user.id);
	arg_int(&a, se->created);
	arg_int(&a, se->expires);
	arg_int(&a, se->last_seen);
	arg_text(&a, se->ip);
	arg_text(&a, se->user_agent);
	arg_int(&a, se->mfa ? 1 : 0);
	if ((rc = pg_query_int(st, PG_SESSION_ADD, &a, &id)) != STORE_OK)
		return pg_finish(st, rc == STORE_NOTFOUND ? STORE_ERROR : rc);
	se->id = id;
	rc = session_trim(st, se->user.id, max, ended, arg);
	return pg_finish(st, rc);
}

static enum store_rc
pg_session_get(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    struct session *se)
{
	struct args	 a = { .n = 0 };

	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	return pg_rows(st, PG_SESSION_GET, &a, fill_session, se, 1);
}

static enum store_rc
pg_session_get_public(struct store *st, const char *public_id,
    struct session *se)
{
	struct args	 a = { .n = 0 };

	arg_text(&a, public_id);
	return pg_rows(st, PG_SESSION_GET_PUBLIC, &a, fill_session, se, 1);
}

/* One winner: the UPDATE's row lock, then its re-check of expires. */
static enum store_rc
pg_session_extend(struct store *st, int64_t id, int64_t old_expires,
    int64_t new_expires, int64_t now)
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;
	enum store_rc	 rc;

	arg_int(&a, new_expires);
	arg_int(&a, now);
	arg_int(&a, id);
	arg_int(&a, old_expires);
	if ((rc = pg_exec(st, PG_SESSION_EXTEND, &a, &n)) != STORE_OK)
		return rc;
	return n == 0 ? STORE_CONFLICT : STORE_OK;
}

static enum store_rc
pg_session_del_hash(struct store *st,
    const unsigned char hash[CRYPTO_SHA256_LEN])
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;
	enum store_rc	 rc;

	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	if ((rc = pg_query_int(st, PG_SESSION_DEL_HASH, &a, &n)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
	return n == 0 ? STORE_NOTFOUND : STORE_OK;
}

/* The generation's UPDATE locks the user row: a login of the user in
 * flight either committed before (its session is deleted here) or waits
 * and then finds the generation moved. */
static enum store_rc
pg_session_end_user(struct store *st, int64_t user_id, store_session_cb cb,
    void *arg)
{
	struct strict_cb	 s = { st, cb, arg, NULL, 0 };

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (pg_exec_int(st, PG_USER_GEN_BUMP, user_id, NULL) != STORE_OK ||
	    pg_session_each(st, user_id, strict_each, &s) != STORE_OK ||
	    s.failed || notice_user(st, user_id) != STORE_OK ||
	    pg_exec_int(st, PG_SESSION_DEL_USER, user_id, NULL) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	return pg_finish(st, STORE_OK);
}

static enum store_rc
pg_session_each(struct store *st, int64_t user_id, store_session_cb cb,
    void *arg)
{
	struct session_rows	 c = { cb, arg };
	struct args		 a = { .n = 0 };

	if (user_id <= 0)
		return pg_rows(st, PG_SESSION_EACH_ALL, NULL, session_row, &c,
		    0);
	arg_int(&a, user_id);
	return pg_rows(st, PG_SESSION_EACH_USER, &a, session_row, &c, 0);
}

static enum store_rc
pg_session_purge(struct store *st, int64_t now, int64_t *count)
{
	return pg_exec_int(st, PG_SESSION_PURGE, now, count);
}

static enum store_rc
pg_session_count_live(struct store *st, int64_t now, int64_t *count)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, now);
	return pg_query_int(st, PG_SESSION_COUNT_LIVE, &a, count);
}

/* Count every counter; 1 if one is at its max, 0 if not, -1 on error. */
static int
attempts_count(struct store *st, struct store_attempt *at, size_t n,
    int64_t since)
{
	struct args	 a;
	PGresult	*r;
	size_t		 i;
	int		 limited = 0;

	for (i = 0; i < n; i++) {
		a.n = 0;
		arg_int(&a, at[i].kind);
		arg_text(&a, at[i].key);
		arg_int(&a, since);
		if (pg_run(st, PG_ATTEMPT_COUNT, &a, &r) != STORE_OK)
			return -1;
		at[i].count = col_int(r, 0, 0);
		at[i].oldest = col_int(r, 0, 1);
		pq.PQclear(r);
		if (at[i].count >= at[i].max)
			limited = 1;
	}
	return limited;
}

/* Lock each counter (kind, key) until commit, in the order of kinds, so
 * that two takers never wait for each other in a circle. */
static enum store_rc
attempts_lock(struct store *st, const struct store_attempt *at, size_t n)
{
	size_t	 i;
	int	 kind, next, found;

	for (kind = INT_MIN;; kind = next) {
		next = INT_MAX;
		found = 0;
		for (i = 0; i < n; i++)
			if (at[i].kind > kind && at[i].kind <= next) {
				next = at[i].kind;
				found = 1;
			}
		if (!found)
			return STORE_OK;
		for (i = 0; i < n; i++)
			if (at[i].kind == next && pg_lock(st,
			    PG_LOCK_ATTEMPT + next, at[i].key) != STORE_OK)
				return STORE_ERROR;
		if (next == INT_MAX)
			return STORE_OK;
	}
}

static enum store_rc
pg_attempts_take(struct store *st, struct store_attempt *at, size_t n,
    int64_t now, int64_t window)
{
	struct args	 a;
	size_t		 i;
	int		 rc;

	/* A refusal needs no lock: the flood stays cheap. */
	if ((rc = attempts_count(st, at, n, now - window)) != 0)
		return rc < 0 ? STORE_ERROR : STORE_CONFLICT;
	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (attempts_lock(st, at, n) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	/* Count again under the locks: concurrent takers serialise here. */
	if ((rc = attempts_count(st, at, n, now - window)) != 0)
		return pg_finish(st, rc < 0 ? STORE_ERROR : STORE_CONFLICT);
	for (i = 0; i < n; i++) {
		a.n = 0;
		arg_int(&a, at[i].kind);
		arg_text(&a, at[i].key);
		arg_int(&a, now);
		if (pg_query_int(st, PG_ATTEMPT_ADD, &a, &at[i].id) != STORE_OK)
			return pg_finish(st, STORE_ERROR);
	}
	return pg_finish(st, STORE_OK);
}

static enum store_rc
pg_attempt_del(struct store *st, int64_t id)
{
	return pg_exec_int(st, PG_ATTEMPT_DEL, id, NULL);
}

static enum store_rc
pg_attempts_clear(struct store *st, int kind, const char *key)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, kind);
	arg_text(&a, key);
	return pg_exec(st, PG_ATTEMPT_CLEAR, &a, NULL);
}

static enum store_rc
pg_attempts_purge(struct store *st, int64_t before, int64_t *count)
{
	return pg_exec_int(st, PG_ATTEMPT_PURGE, before, count);
}

/* A transaction of the store's own (no lock beyond what it takes). */
static enum store_rc
pg_tx_begin(struct store *st)
{
	struct pg_store	*p = PG(st);

	if (p->in_tx || pg_exec(st, PG_BEGIN, NULL, NULL) != STORE_OK)
		return STORE_ERROR;
	p->in_tx = 1;
	p->notice_len = 0;
	return STORE_OK;
}

/*
 * A caller's unit of work (store_begin_key): a transaction holding the
 * unit lock of its key, so that the callers' units of one address (a
 * registration's "is the address taken, then add it", a reset link and
 * its mail, a sign-in record) serialise among themselves as under
 * SQLite's single writer; the store's own operations take finer locks
 * (doc/design.md). A lock held too long (lock_timeout) answers
 * STORE_ERROR.
 */
static enum store_rc
pg_begin_key(struct store *st, const char *key)
{
	if (pg_tx_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (pg_lock(st, PG_LOCK_UNIT, key) != STORE_OK) {
		pg_rollback(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static enum store_rc
pg_begin_unit(struct store *st)
{
	return pg_begin_key(st, "");
}

static enum store_rc
pg_begin(struct store *st)
{
	return pg_tx_begin(st);
}

static enum store_rc
pg_commit(struct store *st)
{
	struct pg_store	*p = PG(st);
	enum store_rc	 rc;

	if (p->tx_lost || !p->in_tx)
		return STORE_ERROR;
	if ((rc = notice_flush(st)) == STORE_OK)
		rc = pg_exec(st, PG_COMMIT, NULL, NULL);
	if (rc == STORE_OK)
		p->in_tx = 0;
	return rc;
}

static void
pg_rollback(struct store *st)
{
	struct pg_store	*p = PG(st);

	p->notice_len = 0;
	if (p->tx_lost) {
		p->tx_lost = 0;	/* it went with the connection */
		return;
	}
	if (!p->in_tx)
		return;
	(void)pg_exec(st, PG_ROLLBACK, NULL, NULL);
	p->in_tx = 0;
}

static enum store_rc
pg_verify_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t user_id, int64_t now, int64_t expires, const char *pwhash)
{
	struct args	 a = { .n = 0 };

	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	arg_int(&a, user_id);
	arg_int(&a, now);
	arg_int(&a, expires);
	arg_text(&a, pwhash);
	return pg_exec(st, PG_VERIFY_ADD, &a, NULL);
}

static int
fill_verify(PGresult *r, int row, void *out)
{
	struct store_verify	*v = out;

	user_from_row(r, row, &v->user);
	v->id = col_int(r, row, 8);
	col_text(r, row, 9, v->pwhash, sizeof(v->pwhash));
	return 1;
}

static enum store_rc
pg_verify_find(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct store_verify *v)
{
	struct args	 a = { .n = 0 };
	enum store_rc	 rc;

	memset(v, 0, sizeof(*v));
	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	arg_int(&a, now);
	if ((rc = pg_rows(st, PG_VERIFY_FIND, &a, fill_verify, v, 1)) !=
	    STORE_OK)
		crypto_cleanse(v, sizeof(*v));
	return rc;
}

/*
 * Spend a link (PG_VERIFY_MARK or PG_RESET_MARK) at now: the UPDATE's row
 * lock and its re-check of used make one winner; STORE_NOTFOUND for the
 * others (and for an expired link).
 */
static enum store_rc
link_claim(struct store *st, enum stmt_id id, int64_t link, int64_t now)
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;

	arg_int(&a, now);
	arg_int(&a, link);
	if (pg_exec(st, id, &a, &n) != STORE_OK)
		return STORE_ERROR;
	return n == 0 ? STORE_NOTFOUND : STORE_OK;
}

/*
 * Lock the user row, spend the link (link_stmt PG_VERIFY_MARK or
 * PG_RESET_MARK, or none when link is 0), then check the user as the
 * change must find them: enabled (unless admin) with generation gen. The
 * user row first, as every per-user unit of work takes it first (no
 * circle of waits); the link's answer first, as SQLite's order gives it.
 */
static enum store_rc
user_claim(struct store *st, int64_t id, int64_t gen, int admin,
    enum stmt_id link_stmt, int64_t link, int64_t now)
{
	int64_t		 disabled = 0, cur = 0;
	enum store_rc	 urc, rc;

	if ((urc = pg_user_lock(st, id, &disabled, &cur)) == STORE_ERROR)
		return urc;
	if (link != 0 && (rc = link_claim(st, link_stmt, link, now)) !=
	    STORE_OK)
		return rc;
	if (urc != STORE_OK || (disabled && !admin))
		return STORE_NOTFOUND;
	return cur == gen ? STORE_OK : STORE_CONFLICT;
}

static enum store_rc
verify_retire(struct store *st, int64_t user_id, int64_t now)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, now);
	arg_int(&a, user_id);
	return pg_exec(st, PG_VERIFY_RETIRE, &a, NULL);
}

static enum store_rc
pg_verify_use(struct store *st, const struct store_verify *v, int64_t now,
    store_session_cb cb, void *arg)
{
	enum store_rc	 rc;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = user_claim(st, v->user.id, v->user.gen, 0, PG_VERIFY_MARK,
	    v->id, now)) != STORE_OK)
		return pg_finish(st, rc);
	/* A password set by the link ends the API tokens made before it. */
	if (pg_user_set_verified(st, v->user.id, 1) != STORE_OK ||
	    (v->pwhash[0] != '\0' &&
	    (pg_user_set_pwhash(st, v->user.id, v->pwhash) != STORE_OK ||
	    token_end(st, v->user.id, cb, arg) != STORE_OK)) ||
	    verify_retire(st, v->user.id, now) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	return pg_finish(st, STORE_OK);
}

static enum store_rc
pg_reset_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t user_id, int64_t gen, int64_t now, int64_t expires)
{
	struct args	 a = { .n = 0 };

	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	arg_int(&a, user_id);
	arg_int(&a, gen);
	arg_int(&a, now);
	arg_int(&a, expires);
	return pg_exec(st, PG_RESET_ADD, &a, NULL);
}

static int
fill_reset(PGresult *r, int row, void *out)
{
	struct store_reset	*rs = out;

	user_from_row(r, row, &rs->user);
	rs->id = col_int(r, row, 8);
	rs->gen = col_int(r, row, 9);
	return 1;
}

static enum store_rc
pg_reset_find(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct store_reset *rs)
{
	struct args	 a = { .n = 0 };
	enum store_rc	 rc;

	memset(rs, 0, sizeof(*rs));
	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	arg_int(&a, now);
	if ((rc = pg_rows(st, PG_RESET_FIND, &a, fill_reset, rs, 1)) !=
	    STORE_OK)
		crypto_cleanse(rs, sizeof(*rs));
	return rc;
}

static enum store_rc
pg_reset_purge(struct store *st, int64_t now, int64_t *count)
{
	return pg_exec_int(st, PG_RESET_PURGE, now, count);
}

/* Inside store_password_set: end every session of the user but p->keep,
 * each passed to cb (and the notice) first. */
static enum store_rc
pwchange_end_sessions(struct store *st, const struct store_pwchange *p,
    store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { st, cb, arg, p->keep, 0 };
	struct args		 a = { .n = 0 };

	if (pg_session_each(st, p->user_id, strict_each, &s) != STORE_OK ||
	    s.failed)
		return STORE_ERROR;
	if (p->keep == NULL)
		return pg_exec_int(st, PG_SESSION_DEL_USER, p->user_id, NULL);
	arg_int(&a, p->user_id);
	arg_blob(&a, p->keep, CRYPTO_SHA256_LEN);
	return pg_exec(st, PG_SESSION_DEL_OTHERS, &a, NULL);
}

/* Inside store_password_set, the user row locked: with keep, that
 * session of the user still there. */
static enum store_rc
pwchange_keep(struct store *st, const struct store_pwchange *p)
{
	struct session	 se;
	enum store_rc	 rc;

	if (p->keep == NULL)
		return STORE_OK;
	if ((rc = pg_session_get(st, p->keep, &se)) != STORE_OK)
		return rc;
	return se.user.id == p->user_id ? STORE_OK : STORE_NOTFOUND;
}

static enum store_rc
pg_password_set(struct store *st, const struct store_pwchange *p,
    store_session_cb cb, void *arg)
{
	enum store_rc	 rc;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = user_claim(st, p->user_id, p->gen, p->admin, PG_RESET_MARK,
	    p->reset_id, p->now)) != STORE_OK ||
	    (rc = pwchange_keep(st, p)) != STORE_OK)
		return pg_finish(st, rc);
	if (pg_user_set_pwhash(st, p->user_id, p->pwhash) != STORE_OK ||
	    (p->reset_id != 0 &&
	    (pg_user_set_verified(st, p->user_id, 1) != STORE_OK ||
	    verify_retire(st, p->user_id, p->now) != STORE_OK)) ||
	    pwchange_end_sessions(st, p, cb, arg) != STORE_OK ||
	    (p->keep == NULL && token_end(st, p->user_id, cb, arg) !=
	    STORE_OK) ||
	    (p->mail != NULL &&
	    pg_outbox_add(st, p->mail_to, p->mail, p->now) != STORE_OK))
		return pg_finish(st, STORE_ERROR);
	return pg_finish(st, STORE_OK);
}

/* Inside the caller's unit of work, whose lock keeps two sign-ins from
 * both finding the place new. */
static enum store_rc
pg_login_seen(struct store *st, int64_t user_id, const char *addr,
    const unsigned char ua_hash[CRYPTO_SHA256_LEN], int64_t now,
    int64_t since, int *notify)
{
	struct args	 a = { .n = 0 };
	PGresult	*r;
	int64_t		 last, rows;

	*notify = 0;
	arg_int(&a, user_id);
	arg_text(&a, addr);
	arg_blob(&a, ua_hash, CRYPTO_SHA256_LEN);
	if (pg_run(st, PG_LOGIN_SEEN_GET, &a, &r) != STORE_OK)
		return STORE_ERROR;
	last = col_int(r, 0, 0);
	rows = col_int(r, 0, 1);
	pq.PQclear(r);
	a.n = 3;
	arg_int(&a, now);
	if (pg_exec(st, PG_LOGIN_SEEN_PUT, &a, NULL) != STORE_OK)
		return STORE_ERROR;
	*notify = rows > 0 && last <= since;
	return STORE_OK;
}

static enum store_rc
pg_login_seen_purge(struct store *st, int64_t before, int64_t *count)
{
	return pg_exec_int(st, PG_LOGIN_SEEN_PURGE, before, count);
}

static enum store_rc
pg_outbox_add(struct store *st, const char *recipient, const char *message,
    int64_t now)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, now);
	arg_text(&a, recipient);
	arg_text(&a, message);
	return pg_exec(st, PG_OUTBOX_ADD, &a, NULL);
}

static int
fill_mail(PGresult *r, int row, void *out)
{
	struct store_mail	*m = out;

	m->id = col_int(r, row, 0);
	m->attempts = col_int(r, row, 1);
	col_text(r, row, 2, m->recipient, sizeof(m->recipient));
	m->message = xstrdup(pq.PQgetvalue(r, row, 3));
	return 1;
}

static enum store_rc
pg_outbox_claim(struct store *st, int64_t now, int64_t lease_until,
    struct store_mail *m)
{
	struct args	 a = { .n = 0 };

	memset(m, 0, sizeof(*m));
	arg_int(&a, now);
	arg_int(&a, lease_until);
	return pg_rows(st, PG_OUTBOX_CLAIM, &a, fill_mail, m, 1);
}

static enum store_rc
pg_outbox_sent(struct store *st, int64_t id, int64_t now)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, now);
	arg_int(&a, id);
	return pg_exec(st, PG_OUTBOX_SENT, &a, NULL);
}

static enum store_rc
pg_outbox_failed(struct store *st, int64_t id, int64_t next_try,
    const char *error)
{
	struct args	 a = { .n = 0 };

	arg_int(&a, next_try);
	arg_text(&a, error);
	arg_int(&a, id);
	return pg_exec(st, PG_OUTBOX_FAILED, &a, NULL);
}

static enum store_rc
pg_outbox_count(struct store *st, int64_t *pending)
{
	return pg_query_int(st, PG_OUTBOX_COUNT, NULL, pending);
}

/* An API token row (TOKEN_COLS) in a session's shape. */
static void
token_from_row(PGresult *r, int row, struct session *se)
{
	memset(se, 0, sizeof(*se));
	se->is_token = 1;
	se->id = col_int(r, row, 0);
	(void)snprintf(se->public_id, sizeof(se->public_id), "%lld",
	    (long long)se->id);
	col_blob(r, row, 1, se->token_hash, CRYPTO_SHA256_LEN);
	se->created = col_int(r, row, 2);
	se->expires = col_int(r, row, 3);
	if (se->expires == 0)
		se->expires = STORE_NEVER;
	se->last_seen = col_int(r, row, 4);
	se->user.id = col_int(r, row, 5);
	col_text(r, row, 6, se->user.email, sizeof(se->user.email));
	col_text(r, row, 7, se->user.role, sizeof(se->user.role));
	se->user.verified = (int)col_int(r, row, 8);
	se->user.disabled = (int)col_int(r, row, 9);
	se->user.created = col_int(r, row, 10);
}

static int
fill_token(PGresult *r, int row, void *out)
{
	token_from_row(r, row, out);
	return 1;
}

/*
 * The user row is locked first: two adds for one user run one after the
 * other, so the count and the insert see the same tokens and the cap
 * holds; a reset or disabling either came first or waits.
 */
static enum store_rc
pg_token_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t user_id, const char *name, int64_t now, int64_t expires,
    const unsigned char *session, int64_t max, int64_t *id)
{
	struct args	 a = { .n = 0 };
	int64_t		 disabled, gen, n = 0;
	enum store_rc	 rc;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = pg_user_lock(st, user_id, &disabled, &gen)) != STORE_OK)
		return pg_finish(st, rc);
	arg_int(&a, user_id);
	if (pg_query_int(st, PG_TOKEN_COUNT, &a, &n) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	if (n >= max)
		return pg_finish(st, STORE_CONFLICT);
	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	arg_text(&a, name);
	arg_int(&a, now);
	arg_int(&a, expires);
	arg_blob(&a, session, session != NULL ? CRYPTO_SHA256_LEN : 0);
	if ((rc = pg_query_int(st, PG_TOKEN_ADD, &a, id)) != STORE_OK)
		return pg_finish(st, rc);
	return pg_finish(st, STORE_OK);
}

static enum store_rc
pg_token_get(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    struct session *se)
{
	struct args	 a = { .n = 0 };

	arg_blob(&a, hash, CRYPTO_SHA256_LEN);
	return pg_rows(st, PG_TOKEN_GET, &a, fill_token, se, 1);
}

static enum store_rc
pg_token_touch(struct store *st, int64_t id, int64_t old, int64_t now)
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;
	enum store_rc	 rc;

	arg_int(&a, now);
	arg_int(&a, id);
	arg_int(&a, old);
	if ((rc = pg_exec(st, PG_TOKEN_TOUCH, &a, &n)) != STORE_OK)
		return rc;
	return n == 0 ? STORE_CONFLICT : STORE_OK;
}

/* A caller's token callback, for pg_rows. */
struct token_list {
	store_token_cb	 cb;
	void		*arg;
};

static int
token_list_row(PGresult *r, int row, void *arg)
{
	struct token_list	*c = arg;
	struct store_token	 t;

	memset(&t, 0, sizeof(t));
	t.id = col_int(r, row, 0);
	t.user_id = col_int(r, row, 1);
	col_text(r, row, 2, t.email, sizeof(t.email));
	col_text(r, row, 3, t.name, sizeof(t.name));
	t.created = col_int(r, row, 4);
	t.last_used = col_int(r, row, 5);
	t.expires = col_int(r, row, 6);
	return c->cb(&t, c->arg);
}

static enum store_rc
pg_token_each(struct store *st, int64_t user_id, store_token_cb cb,
    void *arg)
{
	struct token_list	 c = { cb, arg };
	struct args		 a = { .n = 0 };

	if (user_id <= 0)
		return pg_rows(st, PG_TOKEN_EACH_ALL, NULL, token_list_row, &c,
		    0);
	arg_int(&a, user_id);
	return pg_rows(st, PG_TOKEN_EACH_USER, &a, token_list_row, &c, 0);
}

static int
token_row(PGresult *r, int row, void *arg)
{
	struct session_rows	*c = arg;
	struct session		 se;

	token_from_row(r, row, &se);
	return c->cb(&se, c->arg);
}

static enum store_rc
token_rows(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	struct session_rows	 c = { cb, arg };
	struct args		 a = { .n = 0 };

	arg_int(&a, user_id);
	return pg_rows(st, PG_TOKEN_OF_USER, &a, token_row, &c, 0);
}

/* Inside a transaction: every token of the user to cb and the notice,
 * then deleted. */
static enum store_rc
token_end(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { st, cb, arg, NULL, 0 };

	if (token_rows(st, user_id, strict_each, &s) != STORE_OK || s.failed)
		return STORE_ERROR;
	return pg_exec_int(st, PG_TOKEN_DEL_USER, user_id, NULL);
}

static enum store_rc
pg_token_hashes(struct store *st, int64_t user_id, store_session_cb cb,
    void *arg)
{
	return token_rows(st, user_id, cb, arg);
}

static enum store_rc
pg_token_del(struct store *st, int64_t id, int64_t user_id,
    unsigned char hash[CRYPTO_SHA256_LEN], int64_t *owner)
{
	struct args	 a = { .n = 0 };
	PGresult	*r;
	enum store_rc	 rc;

	arg_int(&a, id);
	arg_int(&a, user_id);
	if ((rc = pg_run(st, PG_TOKEN_DEL, &a, &r)) != STORE_OK)
		return rc;
	rc = STORE_NOTFOUND;
	if (pq.PQntuples(r) > 0) {
		col_blob(r, 0, 0, hash, CRYPTO_SHA256_LEN);
		*owner = col_int(r, 0, 1);
		rc = STORE_OK;
	}
	pq.PQclear(r);
	return rc;
}

static enum store_rc
pg_token_purge(struct store *st, int64_t now, int64_t *count)
{
	return pg_exec_int(st, PG_TOKEN_PURGE, now, count);
}

static int
pg_listen(struct store *st)
{
	PGresult	*r;
	int		 ok;

	if (pg_ready(st) == -1)
		return -1;
	r = pq.PQexec(PG(st)->conn, "LISTEN " PG_CHANNEL);
	ok = r != NULL && pq.PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		(void)pg_failed(st, r, "listen");
		return -1;
	}
	pq.PQclear(r);
	return pq.PQsocket(PG(st)->conn);
}

static enum store_rc
pg_listen_read(struct store *st, store_item_cb cb, void *arg)
{
	struct pg_store	*p = PG(st);
	PGnotify	*n;
	char		*item, *next;

	if (p->conn == NULL || pq.PQconsumeInput(p->conn) == 0 ||
	    pq.PQstatus(p->conn) != CONNECTION_OK) {
		if (p->conn != NULL)
			pg_lost(st);
		return STORE_ERROR;
	}
	while ((n = pq.PQnotifies(p->conn)) != NULL) {
		for (item = n->extra; item != NULL; item = next) {
			if ((next = strchr(item, '\n')) != NULL)
				*next++ = '\0';
			if (*item != '\0')
				cb(arg, item);
		}
		pq.PQfreemem(n);
	}
	return STORE_OK;
}

/* The listener's probe: a query whose answer is read by pg_listen_read
 * and pg_probe_done (libpq's own queue holds the answer meanwhile). */
static int
pg_probe_send(struct store *st)
{
	struct pg_store	*p = PG(st);

	if (p->conn == NULL || p->probing ||
	    pq.PQsendQuery(p->conn, "SELECT 1") == 0) {
		if (p->conn != NULL && !p->probing)
			pg_lost(st);
		return -1;
	}
	p->probing = 1;
	return 0;
}

static int
pg_probe_done(struct store *st)
{
	struct pg_store	*p = PG(st);
	PGresult	*r;
	int		 ok = 1;

	if (p->conn == NULL)
		return -1;
	if (!p->probing)
		return 1;
	if (pq.PQconsumeInput(p->conn) == 0) {
		p->probing = 0;
		pg_lost(st);
		return -1;
	}
	if (pq.PQisBusy(p->conn))
		return 0;
	while ((r = pq.PQgetResult(p->conn)) != NULL) {
		if (pq.PQresultStatus(r) != PGRES_TUPLES_OK)
			ok = 0;
		pq.PQclear(r);
	}
	p->probing = 0;
	if (!ok) {
		pg_lost(st);
		return -1;
	}
	return 1;
}

static enum store_rc
pg_namespace_get(struct store *st, uint64_t *ns)
{
	int64_t		 v = 0;
	enum store_rc	 rc;

	if ((rc = pg_query_int(st, PG_NAMESPACE_GET, NULL, &v)) == STORE_ERROR)
		return rc;
	*ns = (uint64_t)v;	/* none yet: 0 */
	return STORE_OK;
}

/* One statement: the upsert's row lock makes concurrent bumps add up. */
static enum store_rc
pg_namespace_bump(struct store *st, uint64_t *ns)
{
	int64_t	 v = 0;

	if (pg_query_int(st, PG_NAMESPACE_BUMP, NULL, &v) != STORE_OK)
		return STORE_ERROR;
	*ns = (uint64_t)v;
	return STORE_OK;
}

static enum store_rc
pg_host_beat(struct store *st, const struct store_host *h)
{
	struct args	 a = { .n = 0 };

	arg_text(&a, h->name);
	arg_int(&a, h->started);
	arg_int(&a, h->seen);
	arg_int(&a, h->checks);
	arg_int(&a, h->cache_hits);
	arg_int(&a, h->cache_misses);
	arg_int(&a, h->workers);
	return pg_exec(st, PG_HOST_BEAT, &a, NULL);
}

/* A caller's host callback, for pg_rows. */
struct host_rows {
	store_host_cb	 cb;
	void		*arg;
};

static int
host_row(PGresult *r, int row, void *arg)
{
	struct host_rows	*c = arg;
	struct store_host	 h;

	memset(&h, 0, sizeof(h));
	col_text(r, row, 0, h.name, sizeof(h.name));
	h.started = col_int(r, row, 1);
	h.seen = col_int(r, row, 2);
	h.checks = col_int(r, row, 3);
	h.cache_hits = col_int(r, row, 4);
	h.cache_misses = col_int(r, row, 5);
	h.workers = col_int(r, row, 6);
	return c->cb(&h, c->arg);
}

static enum store_rc
pg_host_each(struct store *st, int64_t since, store_host_cb cb, void *arg)
{
	struct host_rows	 c = { cb, arg };
	struct args		 a = { .n = 0 };

	arg_int(&a, since);
	return pg_rows(st, PG_HOST_EACH, &a, host_row, &c, 0);
}

/*
 * A hex column (PG_TOTP_GET's encode(..., 'hex')) into (dst, *len): 0,
 * with *len 0 for SQL NULL; -1 when it is not hex or longer than dstsz.
 */
static int
totp_hex(PGresult *r, int row, int col, unsigned char *dst, size_t dstsz,
    size_t *len)
{
	const char	*v = pq.PQgetvalue(r, row, col);
	size_t		 i, n = (size_t)pq.PQgetlength(r, row, col);
	int		 hi, lo;

	*len = 0;
	if (pq.PQgetisnull(r, row, col))
		return 0;
	if (n % 2 != 0 || n / 2 > dstsz)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval(v[2 * i])) < 0 ||
		    (lo = hexval(v[2 * i + 1])) < 0)
			return -1;
		dst[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

/*
 * A row that does not read (an enabled factor without a secret that
 * opens as hex) is STORE_ERROR, never "off": mfa_is_on takes a secret of
 * length 0 for a factor that is off.
 */
static enum store_rc
pg_totp_get(struct store *st, int64_t user_id, struct store_totp *t)
{
	struct args	 a = { .n = 0 };
	PGresult	*r;
	enum store_rc	 rc;

	memset(t, 0, sizeof(*t));
	arg_int(&a, user_id);
	if ((rc = pg_run(st, PG_TOTP_GET, &a, &r)) != STORE_OK)
		return rc;
	rc = STORE_NOTFOUND;
	if (pq.PQntuples(r) > 0) {
		rc = STORE_OK;
		if (totp_hex(r, 0, 0, t->secret, sizeof(t->secret),
		    &t->secret_len) == -1 || totp_hex(r, 0, 1, t->pending,
		    sizeof(t->pending), &t->pending_len) == -1)
			rc = STORE_ERROR;
		t->last_step = col_int(r, 0, 2);
		t->pending_gen = col_int(r, 0, 4);
		t->pending_created = col_int(r, 0, 5);
		t->gen = col_int(r, 0, 6);
		t->factor = col_int(r, 0, 7);
		if (col_int(r, 0, 3) == 0)
			t->secret_len = 0;
		else if (t->secret_len == 0)
			rc = STORE_ERROR;
	}
	pq.PQclear(r);
	if (rc == STORE_ERROR) {
		log_error("postgresql: user %lld: the second factor's row does "
		    "not read", (long long)user_id);
		crypto_cleanse(t, sizeof(*t));
	}
	return rc;
}

/* One statement: the upsert's conditional update (PG_TOTP_PENDING_PUT). */
static enum store_rc
pg_totp_pending_put(struct store *st, int64_t user_id,
    const unsigned char *sealed, size_t len, int64_t now)
{
	struct args	 a = { .n = 0 };

	if (len == 0 || len > STORE_TOTP_SEALED_MAX)
		return STORE_ERROR;
	arg_int(&a, user_id);
	arg_blob(&a, sealed, len);
	arg_int(&a, now);
	arg_int(&a, now - STORE_TOTP_PENDING_TTL);
	return pg_exec(st, PG_TOTP_PENDING_PUT, &a, NULL);
}

/* Inside pg_totp_enable's transaction: the new recovery codes. */
static enum store_rc
totp_codes_put(struct store *st, int64_t user_id,
    const unsigned char (*codes)[CRYPTO_SHA256_LEN], size_t n)
{
	struct args	 a;
	size_t		 i;
	enum store_rc	 rc;

	if (pg_exec_int(st, PG_TOTP_RECOVERY_CLEAR, user_id, NULL) != STORE_OK)
		return STORE_ERROR;
	for (i = 0; i < n; i++) {
		a.n = 0;
		arg_int(&a, user_id);
		arg_blob(&a, codes[i], CRYPTO_SHA256_LEN);
		if ((rc = pg_exec(st, PG_TOTP_RECOVERY_ADD, &a, NULL)) !=
		    STORE_OK)
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* Inside pg_totp_enable's transaction, the user row locked: the
 * generation moves (with the user's notice) and every session of the user
 * but keep goes, each passed to cb (and the notice) first. */
static enum store_rc
totp_end_others(struct store *st, int64_t user_id, const unsigned char *keep,
    store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { st, cb, arg, keep, 0 };
	struct args		 a = { .n = 0 };

	if (pg_exec_int(st, PG_USER_GEN_BUMP, user_id, NULL) != STORE_OK ||
	    notice_user(st, user_id) != STORE_OK ||
	    pg_session_each(st, user_id, strict_each, &s) != STORE_OK ||
	    s.failed)
		return STORE_ERROR;
	if (keep == NULL)
		return pg_exec_int(st, PG_SESSION_DEL_USER, user_id, NULL);
	arg_int(&a, user_id);
	arg_blob(&a, keep, CRYPTO_SHA256_LEN);
	return pg_exec(st, PG_SESSION_DEL_OTHERS, &a, NULL);
}

/*
 * The user row first (every per-user unit takes it first), then the
 * conditional UPDATE: of two enablers the second waits, then finds
 * enabled set (0 rows, STORE_CONFLICT). Then the codes, and the other
 * sessions end (a login waiting for the user row sees the new
 * generation).
 */
static enum store_rc
pg_totp_enable(struct store *st, int64_t user_id,
    const unsigned char *pending, size_t len, int64_t now, int64_t step,
    int64_t factor, const unsigned char (*codes)[CRYPTO_SHA256_LEN],
    size_t n, const unsigned char *keep, store_session_cb ended, void *arg)
{
	struct args	 a = { .n = 0 };
	int64_t		 disabled, gen, changed = 0;
	enum store_rc	 rc;

	if (len == 0 || len > STORE_TOTP_SEALED_MAX)
		return STORE_CONFLICT;
	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = pg_user_lock(st, user_id, &disabled, &gen)) != STORE_OK)
		return pg_finish(st, rc == STORE_NOTFOUND ? STORE_CONFLICT : rc);
	arg_int(&a, user_id);
	arg_blob(&a, pending, len);
	arg_int(&a, step);
	arg_int(&a, now - STORE_TOTP_PENDING_TTL);
	arg_int(&a, factor);
	if (pg_exec(st, PG_TOTP_ENABLE, &a, &changed) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	if (changed == 0)
		return pg_finish(st, STORE_CONFLICT);
	if (totp_codes_put(st, user_id, codes, n) != STORE_OK ||
	    totp_end_others(st, user_id, keep, ended, arg) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	return pg_finish(st, STORE_OK);
}

static enum store_rc
pg_totp_remove(struct store *st, int64_t user_id)
{
	int64_t		 disabled, gen, n = 0;
	enum store_rc	 rc;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = pg_user_lock(st, user_id, &disabled, &gen)) != STORE_OK)
		return pg_finish(st, rc);
	if (pg_exec_int(st, PG_TOTP_REMOVE, user_id, &n) != STORE_OK ||
	    pg_exec_int(st, PG_TOTP_RECOVERY_CLEAR, user_id, NULL) != STORE_OK)
		return pg_finish(st, STORE_ERROR);
	if ((rc = pg_finish(st, STORE_OK)) != STORE_OK)
		return rc;
	return n > 0 ? STORE_OK : STORE_NOTFOUND;
}

/* Inside pg_totp_login's transaction: spend the step or the code, each a
 * conditional write (one row changed, or STORE_NOTFOUND). */
static enum store_rc
totp_spend(struct store *st, int64_t user_id, int64_t step,
    const unsigned char *recovery)
{
	struct args	 a = { .n = 0 };
	int64_t		 n = 0;
	enum store_rc	 rc;

	arg_int(&a, user_id);
	if (recovery != NULL)
		arg_blob(&a, recovery, CRYPTO_SHA256_LEN);
	else
		arg_int(&a, step);
	if ((rc = pg_exec(st, recovery != NULL ? PG_TOTP_RECOVERY_USE :
	    PG_TOTP_STEP, &a, &n)) != STORE_OK)
		return rc;
	return n == 1 ? STORE_OK : STORE_NOTFOUND;
}

/*
 * The user row first, FOR UPDATE, and the generation checked under it: a
 * password change, disabling, "end every session" or removal of the
 * factor either committed before (seen here) or waits for this commit.
 * Then the factor's instance (enabling and removal take the user row
 * first too, so it holds until the commit), then the nonce (its primary
 * key: a second use, even a concurrent one, is a unique violation,
 * STORE_EXISTS), then the step or the code.
 */
static enum store_rc
pg_totp_login(struct store *st, int64_t user_id, int64_t gen,
    int64_t factor, const unsigned char nonce[STORE_TOTP_NONCE_LEN],
    int64_t expires, int64_t step, const unsigned char *recovery)
{
	struct args	 a = { .n = 0 };
	int64_t		 disabled = 0, cur = 0;
	enum store_rc	 rc;

	if (pg_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = pg_user_lock(st, user_id, &disabled, &cur)) == STORE_ERROR)
		return pg_finish(st, rc);
	if (rc == STORE_NOTFOUND || disabled || cur != gen)
		return pg_finish(st, STORE_CONFLICT);
	/* Off: STORE_NOTFOUND; turned off and on again: STORE_CONFLICT. */
	arg_int(&a, user_id);
	if ((rc = pg_query_int(st, PG_TOTP_FACTOR, &a, &cur)) != STORE_OK)
		return pg_finish(st, rc);
	if (cur != factor)
		return pg_finish(st, STORE_CONFLICT);
	a.n = 0;
	arg_blob(&a, nonce, STORE_TOTP_NONCE_LEN);
	arg_int(&a, expires);
	if ((rc = pg_exec(st, PG_TOTP_NONCE_ADD, &a, NULL)) != STORE_OK)
		return pg_finish(st, rc);
	return pg_finish(st, totp_spend(st, user_id, step, recovery));
}

static enum store_rc
pg_totp_count(struct store *st, int64_t *count)
{
	return pg_query_int(st, PG_TOTP_COUNT, NULL, count);
}

static enum store_rc
pg_totp_purge(struct store *st, int64_t now, int64_t *count)
{
	return pg_exec_int(st, PG_TOTP_PURGE, now, count);
}

static const struct store_engine pg_engine = {
	.close = pg_close,
	.schema_version = pg_schema_version,
	.secret_get = pg_secret_get,
	.ping = pg_ping,
	.user_add = pg_user_add,
	.user_get_email = pg_user_get_email,
	.user_set_pwhash = pg_user_set_pwhash,
	.user_rehash = pg_user_rehash,
	.user_set_role = pg_user_set_role,
	.user_set_verified = pg_user_set_verified,
	.user_set_disabled = pg_user_set_disabled,
	.user_del = pg_user_del,
	.user_each = pg_user_each,
	.session_add = pg_session_add,
	.session_get = pg_session_get,
	.session_get_public = pg_session_get_public,
	.session_extend = pg_session_extend,
	.session_del_hash = pg_session_del_hash,
	.session_end_user = pg_session_end_user,
	.session_each = pg_session_each,
	.session_purge = pg_session_purge,
	.session_count_live = pg_session_count_live,
	.attempts_take = pg_attempts_take,
	.attempt_del = pg_attempt_del,
	.attempts_clear = pg_attempts_clear,
	.begin = pg_begin_unit,
	.begin_key = pg_begin_key,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.verify_add = pg_verify_add,
	.verify_find = pg_verify_find,
	.verify_use = pg_verify_use,
	.reset_add = pg_reset_add,
	.reset_find = pg_reset_find,
	.password_set = pg_password_set,
	.reset_purge = pg_reset_purge,
	.login_seen = pg_login_seen,
	.login_seen_purge = pg_login_seen_purge,
	.outbox_add = pg_outbox_add,
	.outbox_claim = pg_outbox_claim,
	.outbox_sent = pg_outbox_sent,
	.outbox_failed = pg_outbox_failed,
	.outbox_count = pg_outbox_count,
	.token_add = pg_token_add,
	.token_get = pg_token_get,
	.token_touch = pg_token_touch,
	.token_each = pg_token_each,
	.token_hashes = pg_token_hashes,
	.token_del = pg_token_del,
	.token_purge = pg_token_purge,
	.attempts_purge = pg_attempts_purge,
	.listen = pg_listen,
	.listen_read = pg_listen_read,
	.probe_send = pg_probe_send,
	.probe_done = pg_probe_done,
	.namespace_get = pg_namespace_get,
	.namespace_bump = pg_namespace_bump,
	.host_beat = pg_host_beat,
	.host_each = pg_host_each,
	.totp_get = pg_totp_get,
	.totp_pending_put = pg_totp_pending_put,
	.totp_enable = pg_totp_enable,
	.totp_remove = pg_totp_remove,
	.totp_login = pg_totp_login,
	.totp_count = pg_totp_count,
	.totp_purge = pg_totp_purge,
};
