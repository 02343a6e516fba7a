/*
 * The SQLite engine of the store (store.h, behind store.c): the only
 * module that includes SQLite (loaded with dlopen by the first open).
 * WAL mode, a busy time-out, the numbered migrations of sql/ compiled in,
 * every statement prepared once per connection and every value bound.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "migrations.h"
#include "store.h"
#include "store_engine.h"
#include "util.h"

/* The file configure found the program would link (libsqlite3.so.0). */
#ifndef SQLITE_SONAME
#define SQLITE_SONAME	"libsqlite3.so.0"
#endif

/*
 * libsqlite3 is loaded with dlopen by the first store_open, not linked:
 * its loading and relocation cost every process start (a plain CGI run
 * most of a millisecond), although a check the host session table answers
 * never opens the store. Each function has the type its header declares.
 */
#define SQ_FUNCS \
	SQ_FUNC(sqlite3_bind_blob) \
	SQ_FUNC(sqlite3_bind_int64) \
	SQ_FUNC(sqlite3_bind_text) \
	SQ_FUNC(sqlite3_busy_timeout) \
	SQ_FUNC(sqlite3_changes) \
	SQ_FUNC(sqlite3_clear_bindings) \
	SQ_FUNC(sqlite3_close) \
	SQ_FUNC(sqlite3_column_blob) \
	SQ_FUNC(sqlite3_column_bytes) \
	SQ_FUNC(sqlite3_column_int) \
	SQ_FUNC(sqlite3_column_int64) \
	SQ_FUNC(sqlite3_column_text) \
	SQ_FUNC(sqlite3_errmsg) \
	SQ_FUNC(sqlite3_exec) \
	SQ_FUNC(sqlite3_extended_result_codes) \
	SQ_FUNC(sqlite3_finalize) \
	SQ_FUNC(sqlite3_free) \
	SQ_FUNC(sqlite3_last_insert_rowid) \
	SQ_FUNC(sqlite3_open_v2) \
	SQ_FUNC(sqlite3_prepare_v2) \
	SQ_FUNC(sqlite3_prepare_v3) \
	SQ_FUNC(sqlite3_reset) \
	SQ_FUNC(sqlite3_step)

static struct {
#define SQ_FUNC(f)	__typeof__(f) *f;
	SQ_FUNCS
#undef SQ_FUNC
} sq;
static int	sq_state;	/* 0 not tried, 1 loaded, -1 failed */
static char	sq_err[256];

/* dlopen and dlsym everything: 0, or -1 with sq_err set. */
static int
sq_resolve(void)
{
	void	*h;

	if ((h = dlopen(SQLITE_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(sq_err, sizeof(sq_err), "cannot load %s: %s",
		    SQLITE_SONAME, dlerror());
		return -1;
	}
#define SQ_FUNC(f) \
	if ((sq.f = (__typeof__(f) *)dlsym(h, #f)) == NULL) { \
		snprintf(sq_err, sizeof(sq_err), "%s has no %s", \
		    SQLITE_SONAME, #f); \
		return -1; \
	}
	SQ_FUNCS
#undef SQ_FUNC
	return 0;	/* never closed: it lives as long as we do */
}

/* Load libsqlite3, once per process: 0, or -1 with err (each time). */
static int
sq_load(char *err, size_t errsz)
{
	if (sq_state == 0)
		sq_state = sq_resolve() == 0 ? 1 : -1;
	if (sq_state == 1)
		return 0;
	snprintf(err, errsz, "%s", sq_err);
	return -1;
}

#define STORE_BUSY_TIMEOUT_MS	5000

enum stmt_id {
	SQL_SECRET_GET,
	SQL_SECRET_PUT,
	SQL_USER_ADD,
	SQL_USER_GET_EMAIL,
	SQL_USER_SET_PWHASH,
	SQL_USER_REHASH,
	SQL_USER_GEN_BUMP,
	SQL_USER_SET_ROLE,
	SQL_USER_SET_VERIFIED,
	SQL_USER_SET_DISABLED,
	SQL_USER_DEL,
	SQL_USER_EACH,
	SQL_SESSION_ADD,
	SQL_SESSION_OVER_MAX,
	SQL_SESSION_TRIM,
	SQL_SESSION_GET,
	SQL_SESSION_GET_PUBLIC,
	SQL_SESSION_EXTEND,
	SQL_SESSION_DEL_HASH,
	SQL_SESSION_DEL_USER,
	SQL_SESSION_EACH_USER,
	SQL_SESSION_EACH_ALL,
	SQL_SESSION_PURGE,
	SQL_SESSION_COUNT_LIVE,
	SQL_PING,
	SQL_ATTEMPT_COUNT,
	SQL_ATTEMPT_ADD,
	SQL_ATTEMPT_DEL,
	SQL_ATTEMPT_CLEAR,
	SQL_ATTEMPT_PURGE,
	SQL_VERIFY_ADD,
	SQL_VERIFY_FIND,
	SQL_VERIFY_USER,
	SQL_VERIFY_MARK,
	SQL_VERIFY_RETIRE,
	SQL_RESET_ADD,
	SQL_RESET_FIND,
	SQL_RESET_MARK,
	SQL_RESET_PURGE,
	SQL_SESSION_DEL_OTHERS,
	SQL_LOGIN_SEEN_GET,
	SQL_LOGIN_SEEN_PUT,
	SQL_LOGIN_SEEN_PURGE,
	SQL_OUTBOX_ADD,
	SQL_OUTBOX_CLAIM,
	SQL_OUTBOX_SENT,
	SQL_OUTBOX_FAILED,
	SQL_OUTBOX_COUNT,
	SQL_TOKEN_COUNT,
	SQL_TOKEN_ADD,
	SQL_TOKEN_GET,
	SQL_TOKEN_TOUCH,
	SQL_TOKEN_EACH_USER,
	SQL_TOKEN_EACH_ALL,
	SQL_TOKEN_OF_USER,
	SQL_TOKEN_DEL_USER,
	SQL_TOKEN_DEL,
	SQL_TOKEN_PURGE,
	SQL_NAMESPACE_GET,
	SQL_NAMESPACE_BUMP,
	SQL_HOST_BEAT,
	SQL_HOST_EACH,
	SQL_TOTP_GET,
	SQL_TOTP_PENDING_PUT,
	SQL_TOTP_ENABLE,
	SQL_TOTP_RECOVERY_CLEAR,
	SQL_TOTP_RECOVERY_ADD,
	SQL_TOTP_REMOVE,
	SQL_TOTP_NONCE_ADD,
	SQL_TOTP_FACTOR,
	SQL_TOTP_STEP,
	SQL_TOTP_RECOVERY_USE,
	SQL_TOTP_COUNT,
	SQL_TOTP_PURGE,
	SQL_BEGIN_IMMEDIATE,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL__COUNT
};

#define SESSION_COLS \
	"s.id, s.public_id, s.token_hash, s.created, s.expires, s.last_seen, " \
	"s.extensions, s.ip, s.user_agent, u.id, u.email, u.role, " \
	"u.verified, u.disabled, u.created, s.mfa"
#define USER_COLS "id, email, role, verified, disabled, created, pwhash, gen"
/* An API token in a session's shape (token_from_row). */
#define TOKEN_COLS \
	"t.id, t.token_hash, t.created, t.expires, t.last_used, u.id, " \
	"u.email, u.role, u.verified, u.disabled, u.created"
#define TOKEN_LIST_COLS \
	"t.id, t.user_id, u.email, t.name, t.created, t.last_used, t.expires"

static const char *const sql_text[SQL__COUNT] = {
	[SQL_SECRET_GET] = "SELECT value FROM meta WHERE key = 'secret'",
	[SQL_SECRET_PUT] =
	    "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)",
	[SQL_USER_ADD] = "INSERT INTO users (email, pwhash, role, verified, "
	    "created) VALUES (?, ?, ?, ?, ?)",
	[SQL_USER_GET_EMAIL] = "SELECT " USER_COLS " FROM users WHERE email = ?",
	[SQL_USER_SET_PWHASH] =
	    "UPDATE users SET pwhash = ?, gen = gen + 1 WHERE id = ?",
	[SQL_USER_REHASH] =
	    "UPDATE users SET pwhash = ? WHERE id = ? AND gen = ?",
	[SQL_USER_GEN_BUMP] = "UPDATE users SET gen = gen + 1 WHERE id = ?",
	[SQL_USER_SET_ROLE] = "UPDATE users SET role = ? WHERE id = ?",
	[SQL_USER_SET_VERIFIED] = "UPDATE users SET verified = ? WHERE id = ?",
	[SQL_USER_SET_DISABLED] =
	    "UPDATE users SET disabled = ?, gen = gen + 1 WHERE id = ?",
	[SQL_USER_DEL] = "DELETE FROM users WHERE id = ?",
	[SQL_USER_EACH] = "SELECT " USER_COLS " FROM users ORDER BY id",
	[SQL_SESSION_ADD] = "INSERT INTO sessions (token_hash, public_id, "
	    "user_id, created, expires, last_seen, ip, user_agent, mfa) "
	    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10 WHERE EXISTS (SELECT 1 "
	    "FROM users WHERE id = ?3 AND gen = ?9 AND disabled = 0)",
	[SQL_SESSION_OVER_MAX] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.user_id = ? "
	    "ORDER BY s.last_seen DESC, s.created DESC, s.id DESC "
	    "LIMIT -1 OFFSET ?",
	[SQL_SESSION_TRIM] = "DELETE FROM sessions WHERE id IN (SELECT id "
	    "FROM sessions WHERE user_id = ? ORDER BY last_seen DESC, "
	    "created DESC, id DESC LIMIT -1 OFFSET ?)",
	[SQL_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
	[SQL_SESSION_GET_PUBLIC] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.public_id = ?",
	[SQL_SESSION_EXTEND] = "UPDATE sessions SET expires = ?, last_seen = ?, "
	    "extensions = extensions + 1 WHERE id = ? AND expires = ?",
	[SQL_SESSION_DEL_HASH] = "DELETE FROM sessions WHERE token_hash = ?",
	[SQL_SESSION_DEL_USER] = "DELETE FROM sessions WHERE user_id = ?",
	[SQL_SESSION_EACH_USER] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id WHERE s.user_id = ? "
	    "ORDER BY s.created DESC, s.id DESC",
	[SQL_SESSION_EACH_ALL] = "SELECT " SESSION_COLS " FROM sessions s "
	    "JOIN users u ON u.id = s.user_id ORDER BY s.created DESC, s.id DESC",
	[SQL_SESSION_PURGE] = "DELETE FROM sessions WHERE expires <= ?",
	[SQL_SESSION_COUNT_LIVE] =
	    "SELECT count(*) FROM sessions WHERE expires > ?",
	[SQL_PING] = "SELECT 1",
	[SQL_ATTEMPT_COUNT] = "SELECT count(*), coalesce(min(at), 0) FROM "
	    "attempts WHERE kind = ? AND key = ? AND at > ?",
	[SQL_ATTEMPT_ADD] = "INSERT INTO attempts (kind, key, at) VALUES (?, ?, ?)",
	[SQL_ATTEMPT_DEL] = "DELETE FROM attempts WHERE id = ?",
	[SQL_ATTEMPT_CLEAR] = "DELETE FROM attempts WHERE kind = ? AND key = ?",
	[SQL_ATTEMPT_PURGE] = "DELETE FROM attempts WHERE at <= ?",
	[SQL_VERIFY_ADD] = "INSERT INTO verify_tokens (token_hash, user_id, "
	    "created, expires, pwhash) VALUES (?, ?, ?, ?, ?)",
	/* The user's columns first, in user_from_row's order. */
	[SQL_VERIFY_FIND] = "SELECT u.id, u.email, u.role, u.verified, "
	    "u.disabled, u.created, u.pwhash, u.gen, v.id, v.pwhash "
	    "FROM verify_tokens v JOIN users u ON u.id = v.user_id "
	    "WHERE v.token_hash = ? AND v.used = 0 AND v.expires > ? "
	    "AND u.disabled = 0",
	[SQL_VERIFY_USER] = "SELECT disabled, gen FROM users WHERE id = ?",
	[SQL_VERIFY_MARK] = "UPDATE verify_tokens SET used = ?1 "
	    "WHERE id = ?2 AND used = 0 AND expires > ?1",
	[SQL_VERIFY_RETIRE] = "UPDATE verify_tokens SET used = ?, pwhash = '' "
	    "WHERE user_id = ? AND (used = 0 OR pwhash != '')",
	[SQL_RESET_ADD] = "INSERT INTO reset_tokens (token_hash, user_id, gen, "
	    "created, expires) VALUES (?, ?, ?, ?, ?)",
	/* The user's columns first, in user_from_row's order. */
	[SQL_RESET_FIND] = "SELECT u.id, u.email, u.role, u.verified, "
	    "u.disabled, u.created, u.pwhash, u.gen, r.id, r.gen "
	    "FROM reset_tokens r JOIN users u ON u.id = r.user_id "
	    "WHERE r.token_hash = ? AND r.used = 0 AND r.expires > ? "
	    "AND u.disabled = 0 AND u.gen = r.gen",
	[SQL_RESET_MARK] = "UPDATE reset_tokens SET used = ?1 "
	    "WHERE id = ?2 AND used = 0 AND expires > ?1",
	[SQL_RESET_PURGE] = "DELETE FROM reset_tokens WHERE expires <= ?",
	[SQL_SESSION_DEL_OTHERS] =
	    "DELETE FROM sessions WHERE user_id = ? AND token_hash != ?",
	[SQL_LOGIN_SEEN_GET] = "SELECT coalesce(max(CASE WHEN addr = ?2 AND "
	    "ua_hash = ?3 THEN last_seen END), 0), count(*) FROM login_seen "
	    "WHERE user_id = ?1",
	[SQL_LOGIN_SEEN_PUT] = "INSERT INTO login_seen (user_id, addr, ua_hash, "
	    "last_seen) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, addr, "
	    "ua_hash) DO UPDATE SET last_seen = excluded.last_seen",
	/* Each user's newest row stays: "never seen" is not "long ago". */
	[SQL_LOGIN_SEEN_PURGE] = "DELETE FROM login_seen WHERE last_seen < ? "
	    "AND last_seen < (SELECT max(l.last_seen) FROM login_seen l "
	    "WHERE l.user_id = login_seen.user_id)",
	[SQL_OUTBOX_ADD] = "INSERT INTO outbox (created, recipient, message, "
	    "next_try) VALUES (?, ?, ?, ?)",
	/* One statement: the claim is the write that picks the message. */
	[SQL_OUTBOX_CLAIM] = "UPDATE outbox SET next_try = ?2 WHERE id = "
	    "(SELECT id FROM outbox WHERE sent = 0 AND next_try <= ?1 "
	    "ORDER BY id LIMIT 1) RETURNING id, attempts, recipient, message",
	[SQL_OUTBOX_SENT] = "UPDATE outbox SET sent = ?, message = '', "
	    "last_error = '' WHERE id = ? AND sent = 0",
	[SQL_OUTBOX_FAILED] = "UPDATE outbox SET attempts = attempts + 1, "
	    "next_try = ?, last_error = ? WHERE id = ? AND sent = 0",
	[SQL_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE sent = 0",
	[SQL_TOKEN_COUNT] = "SELECT count(*) FROM api_tokens WHERE user_id = ?",
	/* Only for an enabled user and, with ?6, while that session of the
	 * user exists (a reset ends it in the same unit of work). */
	[SQL_TOKEN_ADD] = "INSERT INTO api_tokens (user_id, token_hash, name, "
	    "created, expires) SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 "
	    "FROM users WHERE id = ?1 AND disabled = 0 AND (?6 IS NULL OR "
	    "verified = 1)) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM sessions "
	    "WHERE token_hash = ?6 AND user_id = ?1))",
	[SQL_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
	[SQL_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used = ? "
	    "WHERE id = ? AND last_used = ?",
	[SQL_TOKEN_EACH_USER] = "SELECT " TOKEN_LIST_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.user_id = ? ORDER BY t.id",
	[SQL_TOKEN_EACH_ALL] = "SELECT " TOKEN_LIST_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id ORDER BY t.id",
	[SQL_TOKEN_OF_USER] = "SELECT " TOKEN_COLS " FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.user_id = ?",
	[SQL_TOKEN_DEL_USER] = "DELETE FROM api_tokens WHERE user_id = ?",
	[SQL_TOKEN_DEL] = "DELETE FROM api_tokens WHERE id = ?1 AND "
	    "(?2 <= 0 OR user_id = ?2) RETURNING token_hash, user_id",
	[SQL_TOKEN_PURGE] =
	    "DELETE FROM api_tokens WHERE expires != 0 AND expires <= ?",
	[SQL_NAMESPACE_GET] =
	    "SELECT value FROM shared WHERE key = 'namespace'",
	[SQL_NAMESPACE_BUMP] = "INSERT INTO shared (key, value) VALUES "
	    "('namespace', 1) ON CONFLICT (key) DO UPDATE SET "
	    "value = value + 1 RETURNING value",
	[SQL_HOST_BEAT] = "INSERT INTO hosts (name, started, seen, checks, "
	    "cache_hits, cache_misses, workers) VALUES (?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (name) DO UPDATE SET started = excluded.started, "
	    "seen = excluded.seen, checks = excluded.checks, "
	    "cache_hits = excluded.cache_hits, "
	    "cache_misses = excluded.cache_misses, workers = excluded.workers",
	[SQL_HOST_EACH] = "SELECT name, started, seen, checks, cache_hits, "
	    "cache_misses, workers FROM hosts WHERE seen >= ? ORDER BY name",
	[SQL_TOTP_GET] = "SELECT t.secret, t.pending, t.last_step, t.enabled, "
	    "t.pending_gen, t.pending_created, u.gen, t.factor FROM totp t "
	    "JOIN users u ON u.id = t.user_id WHERE t.user_id = ?",
	/* The first fresh pending secret stays: every worker shows the
	 * same. A stale one (another generation of the user, or made at or
	 * before ?4 = now - STORE_TOTP_PENDING_TTL) is replaced. The
	 * generation is the user row's, read here. */
	[SQL_TOTP_PENDING_PUT] = "INSERT INTO totp (user_id, pending, "
	    "pending_gen, pending_created) SELECT id, ?2, gen, ?3 FROM users "
	    "WHERE id = ?1 ON CONFLICT (user_id) DO UPDATE SET "
	    "pending = excluded.pending, pending_gen = excluded.pending_gen, "
	    "pending_created = excluded.pending_created "
	    "WHERE totp.enabled = 0 AND (totp.pending IS NULL OR "
	    "totp.pending_gen <> excluded.pending_gen OR "
	    "totp.pending_created <= ?4)",
	/* Only a fresh pending secret (?4 = now - STORE_TOTP_PENDING_TTL). */
	[SQL_TOTP_ENABLE] = "UPDATE totp SET secret = pending, pending = NULL, "
	    "enabled = 1, last_step = ?3, factor = ?5 WHERE user_id = ?1 "
	    "AND enabled = 0 "
	    "AND pending = ?2 AND pending_created > ?4 AND pending_gen = "
	    "(SELECT gen FROM users WHERE id = ?1)",
	[SQL_TOTP_RECOVERY_CLEAR] = "DELETE FROM totp_recovery WHERE user_id = ?",
	[SQL_TOTP_RECOVERY_ADD] =
	    "INSERT INTO totp_recovery (user_id, code_hash) VALUES (?, ?)",
	[SQL_TOTP_REMOVE] = "DELETE FROM totp WHERE user_id = ?",
	[SQL_TOTP_FACTOR] =
	    "SELECT factor FROM totp WHERE user_id = ? AND enabled = 1",
	[SQL_TOTP_NONCE_ADD] =
	    "INSERT INTO totp_pending_used (nonce, expires) VALUES (?, ?)",
	[SQL_TOTP_STEP] = "UPDATE totp SET last_step = ?2 WHERE user_id = ?1 "
	    "AND enabled = 1 AND last_step < ?2",
	[SQL_TOTP_RECOVERY_USE] = "DELETE FROM totp_recovery WHERE user_id = ?1 "
	    "AND code_hash = ?2 AND EXISTS (SELECT 1 FROM totp WHERE "
	    "user_id = ?1 AND enabled = 1)",
	[SQL_TOTP_COUNT] = "SELECT count(*) FROM totp WHERE enabled = 1",
	[SQL_TOTP_PURGE] = "DELETE FROM totp_pending_used WHERE expires <= ?",
	[SQL_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
};

struct sqlite_store {
	struct store	 base;		/* first: the engine's table */
	sqlite3		*db;
	sqlite3_stmt	*stmt[SQL__COUNT];
	char		 path[CONFIG_PATH_MAX];	/* for store_ping's probe */
};

/* The SQLite handle of a store handle (base is its first member). */
#define SQ(st)	((struct sqlite_store *)(st))

/* Used before their definitions, and the table at the end. */
static enum store_rc	 sqlite_begin(struct store *);
static enum store_rc	 sqlite_commit(struct store *);
static void		 sqlite_rollback(struct store *);
static void		 sqlite_close(struct store *);
static enum store_rc	 sqlite_secret_get(struct store *, unsigned char [32]);
static enum store_rc	 sqlite_session_each(struct store *, int64_t,
			    store_session_cb, void *);
static enum store_rc	 sqlite_outbox_add(struct store *, const char *,
			    const char *, int64_t);
static const struct store_engine	sqlite_engine;

static void
store_log(struct store *st, const char *what)
{
	log_error("sqlite: %s: %s", what, sq.sqlite3_errmsg(SQ(st)->db));
}

/* The prepared statement id, reset and with bindings cleared. */
static sqlite3_stmt *
stmt_get(struct store *st, enum stmt_id id)
{
	sqlite3_stmt	*s = SQ(st)->stmt[id];

	if (s == NULL) {
		if (sq.sqlite3_prepare_v3(SQ(st)->db, sql_text[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &SQ(st)->stmt[id], NULL) !=
		    SQLITE_OK) {
			store_log(st, "prepare");
			return NULL;
		}
		s = SQ(st)->stmt[id];
	}
	return s;
}

static void
stmt_done(sqlite3_stmt *s)
{
	sq.sqlite3_reset(s);
	sq.sqlite3_clear_bindings(s);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sq.sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int
bind_blob(sqlite3_stmt *s, int i, const void *v, size_t len)
{
	return sq.sqlite3_bind_blob(s, i, v, (int)len, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

static int
bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	return sq.sqlite3_bind_int64(s, i, v) == SQLITE_OK ? 0 : -1;
}

static void
col_text(sqlite3_stmt *s, int i, char *dst, size_t dstsz)
{
	const unsigned char	*p = sq.sqlite3_column_text(s, i);

	(void)util_strlcpy(dst, p ? (const char *)p : "", dstsz);
}

/* Step a statement that returns no rows; maps constraint errors. */
static enum store_rc
step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int	 rc = sq.sqlite3_step(s);

	stmt_done(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	store_log(st, what);
	return STORE_ERROR;
}

static int
exec(struct store *st, const char *sql)
{
	char	*msg = NULL;

	if (sq.sqlite3_exec(SQ(st)->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("sqlite: %s", msg ? msg : "exec failed");
		sq.sqlite3_free(msg);
		return -1;
	}
	return 0;
}

#define MIGRATIONS_N	(sizeof(migrations) / sizeof(migrations[0]))
/* The last migration before schema_migrations kept the record. */
#define MIGRATIONS_LEGACY_MAX	5
#define MIGRATIONS_TABLE "CREATE TABLE schema_migrations (" \
	"version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)"

/* One integer from a query without parameters; -1 on error. */
static int64_t
query_int(struct store *st, const char *sql)
{
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sq.sqlite3_prepare_v2(SQ(st)->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sq.sqlite3_step(s) == SQLITE_ROW)
		v = sq.sqlite3_column_int64(s, 0);
	sq.sqlite3_finalize(s);
	return v;
}

static int
user_version(struct store *st)
{
	return (int)query_int(st, "PRAGMA user_version");
}

/* 1 if the record of applied migrations exists, 0 if not, -1 on error. */
static int
migrations_recorded(struct store *st)
{
	return (int)query_int(st, "SELECT count(*) FROM sqlite_schema WHERE "
	    "type = 'table' AND name = 'schema_migrations'");
}

/*
 * Compare the applied migrations with the compiled-in ones: 0 when every
 * one is applied, 1 when some are not, -1 on error. *newer gets a version
 * the database has and this program does not know (0: none).
 */
static int
migrations_state(struct store *st, int *newer)
{
	sqlite3_stmt	*s;
	size_t		 i, found = 0;
	int		 rc, v;

	*newer = 0;
	if ((rc = migrations_recorded(st)) == 0) {
		/* No record: user_version counted the migrations, 1 to 5
		 * without a gap, before there was one. Above that it was
		 * written by a program that knew more. */
		if ((v = user_version(st)) < 0)
			return -1;
		if (v > MIGRATIONS_LEGACY_MAX)
			*newer = v;
		return 1;
	}
	if (rc != 1)
		return -1;
	if (sq.sqlite3_prepare_v2(SQ(st)->db, "SELECT version FROM schema_migrations",
	    -1, &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sq.sqlite3_step(s)) == SQLITE_ROW) {
		v = sq.sqlite3_column_int(s, 0);
		for (i = 0; i < MIGRATIONS_N && migrations[i].version != v; i++)
			continue;
		if (i < MIGRATIONS_N)
			found++;
		else
			*newer = v;
	}
	sq.sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	return found == MIGRATIONS_N ? 0 : 1;
}

/*
 * Inside a migration's transaction: make the record of applied migrations
 * if there is none. Before it existed, user_version counted the
 * migrations applied, which were numbered 1 to 5 without a gap: the ones
 * numbered up to it are in.
 */
static int
migrations_bootstrap(struct store *st)
{
	char	 sql[128];
	size_t	 i;
	int	 v, rc;

	if ((rc = migrations_recorded(st)) != 0)
		return rc == 1 ? 0 : -1;
	if ((v = user_version(st)) < 0 || exec(st, MIGRATIONS_TABLE) == -1)
		return -1;
	for (i = 0; i < MIGRATIONS_N && migrations[i].version <= v; i++) {
		(void)snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
		    "(version, applied) VALUES (%d, 0)", migrations[i].version);
		if (exec(st, sql) == -1)
			return -1;
	}
	return 0;
}

/*
 * Apply m unless it is recorded, in one IMMEDIATE transaction (so
 * concurrent starters serialise), recording it and raising user_version
 * to the highest version applied.
 */
static int
migration_apply(struct store *st, const struct migration *m)
{
	char	 sql[192];
	int64_t	 done;
	int	 v;

	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (migrations_bootstrap(st) == -1)
		goto rollback;
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "schema_migrations WHERE version = %d", m->version);
	if ((done = query_int(st, sql)) < 0)
		goto rollback;
	if (done > 0)
		return exec(st, "COMMIT");
	if (exec(st, m->sql) == -1 || (v = user_version(st)) < 0)
		goto rollback;
	(void)snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
	    "(version, applied) VALUES (%d, strftime('%%s', 'now')); "
	    "PRAGMA user_version = %d", m->version,
	    v > m->version ? v : m->version);
	if (exec(st, sql) == -1 || exec(st, "COMMIT") == -1)
		goto rollback;
	log_info("database migrated: migration %d applied", m->version);
	return 0;
rollback:
	exec(st, "ROLLBACK");
	return -1;
}

/*
 * Apply every compiled-in migration the database has not recorded, in
 * the order of their numbers. A number may be missing (reserved for a
 * migration not merged yet); when it comes, it is applied then, after
 * higher ones: a migration must not depend on a higher-numbered one.
 */
static int
store_migrate(struct store *st, char *err, size_t errsz)
{
	size_t	 i;
	int	 newer, rc;

	if ((rc = migrations_state(st, &newer)) == 0 && newer == 0)
		return 0;	/* the common case: no write lock taken */
	if (rc == -1)
		goto fail;
	if (newer == 0)
		for (i = 0; i < MIGRATIONS_N; i++)
			if (migration_apply(st, &migrations[i]) == -1)
				goto fail;
	if (newer != 0 || (rc = migrations_state(st, &newer)) != 0 ||
	    newer != 0) {
		if (newer == 0)
			goto fail;
		snprintf(err, errsz, "database schema has migration %d, "
		    "unknown to this program (newer)", newer);
		return -1;
	}
	return 0;
fail:
	snprintf(err, errsz, "migration failed: %s", sq.sqlite3_errmsg(SQ(st)->db));
	return -1;
}

struct store *
store_sqlite_open(const char *path, int migrate, char *err, size_t errsz)
{
	struct sqlite_store	*sst;
	struct store		*st;
	unsigned char		 secret[32];
	int			 newer;

	sst = xcalloc(1, sizeof(*sst));
	sst->base.engine = &sqlite_engine;
	st = &sst->base;
	if (util_strlcpy(SQ(st)->path, path, sizeof(SQ(st)->path)) == -1) {
		snprintf(err, errsz, "database path too long");
		goto fail;
	}
	if (sq_load(err, errsz) == -1)
		goto fail;
	if (sq.sqlite3_open_v2(path, &SQ(st)->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path,
		    SQ(st)->db ? sq.sqlite3_errmsg(SQ(st)->db) : "cannot open");
		goto fail;
	}
	sq.sqlite3_extended_result_codes(SQ(st)->db, 1);
	sq.sqlite3_busy_timeout(SQ(st)->db, STORE_BUSY_TIMEOUT_MS);
	if (exec(st, "PRAGMA journal_mode = WAL") == -1 ||
	    exec(st, "PRAGMA synchronous = NORMAL") == -1 ||
	    exec(st, "PRAGMA foreign_keys = ON") == -1) {
		snprintf(err, errsz, "%s: %s", path, sq.sqlite3_errmsg(SQ(st)->db));
		goto fail;
	}
	if (migrate && store_migrate(st, err, errsz) == -1)
		goto fail;
	/* The secret exists before any request: a check never writes it. */
	if (migrate && sqlite_secret_get(st, secret) != STORE_OK) {
		snprintf(err, errsz, "%s: cannot create the secret", path);
		goto fail;
	}
	crypto_cleanse(secret, sizeof(secret));
	if (!migrate && (migrations_state(st, &newer) != 0 || newer != 0)) {
		snprintf(err, errsz, "%s: schema is not at version %d "
		    "(run 'authgw db migrate')", path,
		    migrations[MIGRATIONS_N - 1].version);
		goto fail;
	}
	return st;
fail:
	sqlite_close(st);
	return NULL;
}

static void
sqlite_close(struct store *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	if (SQ(st)->db != NULL) {	/* else libsqlite3 may not be loaded */
		for (i = 0; i < SQL__COUNT; i++)
			sq.sqlite3_finalize(SQ(st)->stmt[i]);
		sq.sqlite3_close(SQ(st)->db);
	}
	free(st);
}

static int
sqlite_schema_version(struct store *st)
{
	return user_version(st);
}

/*
 * Read what a health probe must: the schema, and the first pages of the
 * tables every request uses. Through a connection of its own, opened for
 * this probe alone: a long-lived connection may answer from its page
 * cache for a file damaged or overwritten under it.
 */
static const char	probe_sql[] =
	"SELECT count(*) FROM sqlite_schema; "
	"SELECT count(*) FROM meta; "
	"SELECT id FROM users LIMIT 1; "
	"SELECT id FROM sessions LIMIT 1";

static int
sqlite_ping(struct store *st)
{
	sqlite3_stmt	*s;
	sqlite3		*db = NULL;
	int		 rc;

	if ((s = stmt_get(st, SQL_PING)) == NULL)
		return 0;
	rc = sq.sqlite3_step(s) == SQLITE_ROW;
	stmt_done(s);
	if (!rc)
		return 0;
	rc = sq.sqlite3_open_v2(SQ(st)->path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK;
	if (rc) {
		sq.sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
		rc = sq.sqlite3_exec(db, probe_sql, NULL, NULL, NULL) == SQLITE_OK;
		if (!rc)
			log_error("sqlite: health probe: %s", sq.sqlite3_errmsg(db));
	}
	sq.sqlite3_close(db);
	return rc;
}

static enum store_rc
sqlite_secret_get(struct store *st, unsigned char out[32])
{
	sqlite3_stmt	*s;
	unsigned char	 fresh[32];
	int		 rc, tries;

	for (tries = 0; tries < 2; tries++) {
		if ((s = stmt_get(st, SQL_SECRET_GET)) == NULL)
			return STORE_ERROR;
		rc = sq.sqlite3_step(s);
		if (rc == SQLITE_ROW && sq.sqlite3_column_bytes(s, 0) == 32) {
			memcpy(out, sq.sqlite3_column_blob(s, 0), 32);
			stmt_done(s);
			return STORE_OK;
		}
		stmt_done(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			store_log(st, "secret");
			return STORE_ERROR;
		}
		/* None yet: create one; a concurrent creator may win. */
		if (crypto_random(fresh, sizeof(fresh)) == -1 ||
		    (s = stmt_get(st, SQL_SECRET_PUT)) == NULL ||
		    bind_blob(s, 1, fresh, sizeof(fresh)) == -1) {
			crypto_cleanse(fresh, sizeof(fresh));
			return STORE_ERROR;
		}
		crypto_cleanse(fresh, sizeof(fresh));
		if (step_done(st, s, "secret put") == STORE_ERROR)
			return STORE_ERROR;
	}
	return STORE_ERROR;
}

static enum store_rc
sqlite_user_add(struct store *st, const char *email, const char *pwhash,
    const char *role, int verified, int64_t now, int64_t *id)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_USER_ADD)) == NULL)
		return STORE_ERROR;
	if (bind_text(s, 1, email) || bind_text(s, 2, pwhash) ||
	    bind_text(s, 3, role) || bind_int(s, 4, verified ? 1 : 0) ||
	    bind_int(s, 5, now)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "user add")) == STORE_OK && id != NULL)
		*id = sq.sqlite3_last_insert_rowid(SQ(st)->db);
	return rc;
}

static void
user_from_row(sqlite3_stmt *s, struct user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sq.sqlite3_column_int64(s, 0);
	col_text(s, 1, u->email, sizeof(u->email));
	col_text(s, 2, u->role, sizeof(u->role));
	u->verified = sq.sqlite3_column_int(s, 3);
	u->disabled = sq.sqlite3_column_int(s, 4);
	u->created = sq.sqlite3_column_int64(s, 5);
	col_text(s, 6, u->pwhash, sizeof(u->pwhash));
	u->gen = sq.sqlite3_column_int64(s, 7);
}

/* Step a one-row query; fill() copies the row. */
static enum store_rc
step_row(struct store *st, sqlite3_stmt *s, const char *what,
    void (*fill)(sqlite3_stmt *, void *), void *out)
{
	int	 rc = sq.sqlite3_step(s);

	if (rc == SQLITE_ROW)
		fill(s, out);
	stmt_done(s);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	store_log(st, what);
	return STORE_ERROR;
}

/*
 * Step a query over its rows; row() handles each (non-zero stops). The
 * statement is reset after. STORE_OK, or STORE_ERROR logged as what.
 */
static enum store_rc
step_rows(struct store *st, sqlite3_stmt *s, const char *what,
    int (*row)(sqlite3_stmt *, void *), void *arg)
{
	int	 rc;

	while ((rc = sq.sqlite3_step(s)) == SQLITE_ROW)
		if (row(s, arg) != 0)
			break;
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_log(st, what);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* A single integer column (a count). */
static void
fill_int64(sqlite3_stmt *s, void *out)
{
	*(int64_t *)out = sq.sqlite3_column_int64(s, 0);
}

static void
fill_user(sqlite3_stmt *s, void *out)
{
	user_from_row(s, out);
}

static enum store_rc
sqlite_user_get_email(struct store *st, const char *email, struct user *u)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_USER_GET_EMAIL)) == NULL)
		return STORE_ERROR;
	if (bind_text(s, 1, email)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_row(st, s, "user get", fill_user, u);
}

/* UPDATE ... SET col = ? WHERE id = ?, with a text or integer value. */
static enum store_rc
user_update(struct store *st, enum stmt_id id, int64_t uid, const char *text,
    int64_t num)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, id)) == NULL)
		return STORE_ERROR;
	if ((text ? bind_text(s, 1, text) : bind_int(s, 1, num)) ||
	    bind_int(s, 2, uid)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "user update")) == STORE_OK &&
	    sq.sqlite3_changes(SQ(st)->db) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

static enum store_rc
sqlite_user_set_pwhash(struct store *st, int64_t id, const char *h)
{
	return user_update(st, SQL_USER_SET_PWHASH, id, h, 0);
}

static enum store_rc
sqlite_user_rehash(struct store *st, int64_t id, int64_t gen, const char *h)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_USER_REHASH)) == NULL)
		return STORE_ERROR;
	if (bind_text(s, 1, h) || bind_int(s, 2, id) || bind_int(s, 3, gen)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "user rehash")) == STORE_OK &&
	    sq.sqlite3_changes(SQ(st)->db) == 0)
		rc = STORE_CONFLICT;
	return rc;
}

static enum store_rc
sqlite_user_set_role(struct store *st, int64_t id, const char *role)
{
	return user_update(st, SQL_USER_SET_ROLE, id, role, 0);
}

static enum store_rc
sqlite_user_set_verified(struct store *st, int64_t id, int v)
{
	return user_update(st, SQL_USER_SET_VERIFIED, id, NULL, v ? 1 : 0);
}

static enum store_rc
sqlite_user_set_disabled(struct store *st, int64_t id, int v)
{
	return user_update(st, SQL_USER_SET_DISABLED, id, NULL, v ? 1 : 0);
}

/* A statement with one integer parameter. *changes gets the row count. */
static enum store_rc
exec_int(struct store *st, enum stmt_id id, int64_t v, int64_t *changes)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, id)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, v)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	rc = step_done(st, s, "delete");
	if (changes != NULL)
		*changes = sq.sqlite3_changes(SQ(st)->db);
	return rc;
}

/* A callback that must see every row: a refusal fails the caller. */
struct strict_cb {
	store_session_cb	 cb;
	void			*arg;
	int			 failed;
};

static int
strict_each(const struct session *se, void *arg)
{
	struct strict_cb	*s = arg;

	if (s->cb(se, s->arg) != 0) {
		s->failed = 1;
		return 1;
	}
	return 0;
}

static enum store_rc	token_rows(struct store *, int64_t, store_session_cb,
			    void *);
static enum store_rc	token_end(struct store *, int64_t, store_session_cb,
			    void *);

/* The user and every session of theirs in one unit of work; see store.h. */
static enum store_rc
sqlite_user_del(struct store *st, int64_t id, store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { cb, arg, 0 };
	int64_t			 n = 0;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (exec_int(st, SQL_USER_GEN_BUMP, id, NULL) != STORE_OK ||
	    sqlite_session_each(st, id, strict_each, &s) != STORE_OK ||
	    s.failed || token_rows(st, id, strict_each, &s) != STORE_OK ||
	    s.failed || exec_int(st, SQL_USER_DEL, id, &n) != STORE_OK) {
		sqlite_rollback(st);
		return STORE_ERROR;
	}
	if (n == 0) {
		sqlite_rollback(st);
		return STORE_NOTFOUND;
	}
	if (sqlite_commit(st) != STORE_OK) {
		sqlite_rollback(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static enum store_rc
sqlite_user_each(struct store *st, store_user_cb cb, void *arg)
{
	sqlite3_stmt	*s;
	struct user	 u;
	int		 rc;

	if ((s = stmt_get(st, SQL_USER_EACH)) == NULL)
		return STORE_ERROR;
	while ((rc = sq.sqlite3_step(s)) == SQLITE_ROW) {
		user_from_row(s, &u);
		if (cb(&u, arg) != 0)
			break;
	}
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_log(st, "user list");
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* The insert of store_session_add: STORE_CONFLICT when the user's
 * generation moved or the user is disabled or gone. */
static enum store_rc
session_insert(struct store *st, struct session *se, int64_t gen)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_SESSION_ADD)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, se->token_hash, sizeof(se->token_hash)) ||
	    bind_text(s, 2, se->public_id) || bind_int(s, 3, se->user.id) ||
	    bind_int(s, 4, se->created) || bind_int(s, 5, se->expires) ||
	    bind_int(s, 6, se->last_seen) || bind_text(s, 7, se->ip) ||
	    bind_text(s, 8, se->user_agent) || bind_int(s, 9, gen) ||
	    bind_int(s, 10, se->mfa ? 1 : 0)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "session add")) != STORE_OK)
		return rc;
	if (sq.sqlite3_changes(SQ(st)->db) == 0)
		return STORE_CONFLICT;
	se->id = sq.sqlite3_last_insert_rowid(SQ(st)->db);
	return STORE_OK;
}

static void	session_from_row(sqlite3_stmt *, struct session *);

/*
 * End the user's sessions beyond the max most recently used ones, each
 * passed to cb first (a non-zero return fails the whole unit of work).
 */
static enum store_rc
session_trim(struct store *st, int64_t user_id, int64_t max,
    store_session_cb cb, void *arg)
{
	sqlite3_stmt	*s;
	struct session	 old;
	int		 rc, stop = 0;

	if ((s = stmt_get(st, SQL_SESSION_OVER_MAX)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || bind_int(s, 2, max)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	while (!stop && (rc = sq.sqlite3_step(s)) == SQLITE_ROW) {
		session_from_row(s, &old);
		stop = cb != NULL && cb(&old, arg) != 0;
	}
	stmt_done(s);
	if (stop || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
		store_log(st, "session trim");
		return STORE_ERROR;
	}
	if ((s = stmt_get(st, SQL_SESSION_TRIM)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || bind_int(s, 2, max)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "session trim");
}

static enum store_rc
sqlite_session_add(struct store *st, struct session *se, int64_t gen,
    int64_t max, store_session_cb ended, void *arg)
{
	enum store_rc	 rc;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = session_insert(st, se, gen)) != STORE_OK)
		goto fail;
	if ((rc = session_trim(st, se->user.id, max, ended, arg)) != STORE_OK)
		goto fail;
	if (sqlite_commit(st) != STORE_OK) {
		rc = STORE_ERROR;
		goto fail;
	}
	return STORE_OK;
fail:
	sqlite_rollback(st);
	return rc;
}

static void
session_from_row(sqlite3_stmt *s, struct session *se)
{
	memset(se, 0, sizeof(*se));
	se->id = sq.sqlite3_column_int64(s, 0);
	col_text(s, 1, se->public_id, sizeof(se->public_id));
	if (sq.sqlite3_column_bytes(s, 2) == CRYPTO_SHA256_LEN)
		memcpy(se->token_hash, sq.sqlite3_column_blob(s, 2),
		    CRYPTO_SHA256_LEN);
	se->created = sq.sqlite3_column_int64(s, 3);
	se->expires = sq.sqlite3_column_int64(s, 4);
	se->last_seen = sq.sqlite3_column_int64(s, 5);
	se->extensions = sq.sqlite3_column_int64(s, 6);
	col_text(s, 7, se->ip, sizeof(se->ip));
	col_text(s, 8, se->user_agent, sizeof(se->user_agent));
	se->user.id = sq.sqlite3_column_int64(s, 9);
	col_text(s, 10, se->user.email, sizeof(se->user.email));
	col_text(s, 11, se->user.role, sizeof(se->user.role));
	se->user.verified = sq.sqlite3_column_int(s, 12);
	se->user.disabled = sq.sqlite3_column_int(s, 13);
	se->user.created = sq.sqlite3_column_int64(s, 14);
	se->mfa = sq.sqlite3_column_int(s, 15) != 0;
}

static void
fill_session(sqlite3_stmt *s, void *out)
{
	session_from_row(s, out);
}

static enum store_rc
sqlite_session_get(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    struct session *se)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_SESSION_GET)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_row(st, s, "session get", fill_session, se);
}

static enum store_rc
sqlite_session_get_public(struct store *st, const char *public_id,
    struct session *se)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_SESSION_GET_PUBLIC)) == NULL)
		return STORE_ERROR;
	if (bind_text(s, 1, public_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_row(st, s, "session get", fill_session, se);
}

static enum store_rc
sqlite_session_extend(struct store *st, int64_t id, int64_t old_expires,
    int64_t new_expires, int64_t now)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_SESSION_EXTEND)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, new_expires) || bind_int(s, 2, now) ||
	    bind_int(s, 3, id) || bind_int(s, 4, old_expires)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "session extend")) == STORE_OK &&
	    sq.sqlite3_changes(SQ(st)->db) == 0)
		rc = STORE_CONFLICT;
	return rc;
}

static enum store_rc
sqlite_session_del_hash(struct store *st,
    const unsigned char hash[CRYPTO_SHA256_LEN])
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_SESSION_DEL_HASH)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "session delete")) == STORE_OK &&
	    sq.sqlite3_changes(SQ(st)->db) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

static enum store_rc
sqlite_session_end_user(struct store *st, int64_t user_id,
    store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { cb, arg, 0 };

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (exec_int(st, SQL_USER_GEN_BUMP, user_id, NULL) != STORE_OK ||
	    sqlite_session_each(st, user_id, strict_each, &s) != STORE_OK ||
	    s.failed ||
	    exec_int(st, SQL_SESSION_DEL_USER, user_id, NULL) !=
	    STORE_OK || sqlite_commit(st) != STORE_OK) {
		sqlite_rollback(st);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static enum store_rc
sqlite_session_each(struct store *st, int64_t user_id, store_session_cb cb,
    void *arg)
{
	sqlite3_stmt	*s;
	struct session	 se;
	int		 rc;

	s = stmt_get(st, user_id > 0 ? SQL_SESSION_EACH_USER :
	    SQL_SESSION_EACH_ALL);
	if (s == NULL)
		return STORE_ERROR;
	if (user_id > 0 && bind_int(s, 1, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	while ((rc = sq.sqlite3_step(s)) == SQLITE_ROW) {
		session_from_row(s, &se);
		if (cb(&se, arg) != 0)
			break;
	}
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_log(st, "session list");
		return STORE_ERROR;
	}
	return STORE_OK;
}

static enum store_rc
sqlite_session_purge(struct store *st, int64_t now, int64_t *count)
{
	return exec_int(st, SQL_SESSION_PURGE, now, count);
}

static enum store_rc
sqlite_session_count_live(struct store *st, int64_t now, int64_t *count)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_SESSION_COUNT_LIVE)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_row(st, s, "session count", fill_int64, count);
}

/* Run a prepared statement without parameters or rows. */
static enum store_rc
run_simple(struct store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, id)) == NULL)
		return STORE_ERROR;
	return step_done(st, s, what);
}

/* Count every counter; 1 if one is at its max, 0 if not, -1 on error. */
static int
attempts_count(struct store *st, struct store_attempt *a, size_t n,
    int64_t since)
{
	sqlite3_stmt	*s;
	size_t		 i;
	int		 rc, limited = 0;

	for (i = 0; i < n; i++) {
		if ((s = stmt_get(st, SQL_ATTEMPT_COUNT)) == NULL)
			return -1;
		if (bind_int(s, 1, a[i].kind) || bind_text(s, 2, a[i].key) ||
		    bind_int(s, 3, since)) {
			stmt_done(s);
			return -1;
		}
		if ((rc = sq.sqlite3_step(s)) == SQLITE_ROW) {
			a[i].count = sq.sqlite3_column_int64(s, 0);
			a[i].oldest = sq.sqlite3_column_int64(s, 1);
		}
		stmt_done(s);
		if (rc != SQLITE_ROW) {
			store_log(st, "attempt count");
			return -1;
		}
		if (a[i].count >= a[i].max)
			limited = 1;
	}
	return limited;
}

static enum store_rc
sqlite_attempts_take(struct store *st, struct store_attempt *a, size_t n,
    int64_t now, int64_t window)
{
	sqlite3_stmt	*s;
	size_t		 i;
	int		 rc;

	/* A refusal needs no write lock: the flood stays cheap. */
	if ((rc = attempts_count(st, a, n, now - window)) != 0)
		return rc < 0 ? STORE_ERROR : STORE_CONFLICT;
	if (run_simple(st, SQL_BEGIN_IMMEDIATE, "begin") != STORE_OK)
		return STORE_ERROR;
	/* Count again under the lock: concurrent takers serialise here. */
	if ((rc = attempts_count(st, a, n, now - window)) != 0)
		goto rollback;
	for (i = 0; i < n; i++) {
		if ((s = stmt_get(st, SQL_ATTEMPT_ADD)) == NULL)
			goto fail;
		if (bind_int(s, 1, a[i].kind) || bind_text(s, 2, a[i].key) ||
		    bind_int(s, 3, now)) {
			stmt_done(s);
			goto fail;
		}
		if (step_done(st, s, "attempt add") != STORE_OK)
			goto fail;
		a[i].id = sq.sqlite3_last_insert_rowid(SQ(st)->db);
	}
	if (run_simple(st, SQL_COMMIT, "commit") != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	rc = -1;
rollback:
	(void)run_simple(st, SQL_ROLLBACK, "rollback");
	return rc < 0 ? STORE_ERROR : STORE_CONFLICT;
}

static enum store_rc
sqlite_attempt_del(struct store *st, int64_t id)
{
	return exec_int(st, SQL_ATTEMPT_DEL, id, NULL);
}

static enum store_rc
sqlite_attempts_clear(struct store *st, int kind, const char *key)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_ATTEMPT_CLEAR)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, kind) || bind_text(s, 2, key)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "attempt clear");
}

static enum store_rc
sqlite_attempts_purge(struct store *st, int64_t before, int64_t *count)
{
	return exec_int(st, SQL_ATTEMPT_PURGE, before, count);
}

static enum store_rc
sqlite_begin(struct store *st)
{
	return run_simple(st, SQL_BEGIN_IMMEDIATE, "begin");
}

static enum store_rc
sqlite_commit(struct store *st)
{
	return run_simple(st, SQL_COMMIT, "commit");
}

static void
sqlite_rollback(struct store *st)
{
	(void)run_simple(st, SQL_ROLLBACK, "rollback");
}

static enum store_rc
sqlite_verify_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t user_id, int64_t now, int64_t expires, const char *pwhash)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_VERIFY_ADD)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN) || bind_int(s, 2, user_id) ||
	    bind_int(s, 3, now) || bind_int(s, 4, expires) ||
	    bind_text(s, 5, pwhash)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "verify add");
}

static void
fill_verify(sqlite3_stmt *s, void *out)
{
	struct store_verify	*v = out;

	user_from_row(s, &v->user);
	v->id = sq.sqlite3_column_int64(s, 8);
	col_text(s, 9, v->pwhash, sizeof(v->pwhash));
}

static enum store_rc
sqlite_verify_find(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct store_verify *v)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	memset(v, 0, sizeof(*v));
	if ((s = stmt_get(st, SQL_VERIFY_FIND)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN) || bind_int(s, 2, now)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_row(st, s, "verify find", fill_verify, v)) != STORE_OK)
		crypto_cleanse(v, sizeof(*v));
	return rc;
}

/* The user's state as store_verify_use must find it. */
struct verify_user {
	int64_t	 disabled;
	int64_t	 gen;
};

static void
fill_verify_user(sqlite3_stmt *s, void *out)
{
	struct verify_user	*vu = out;

	vu->disabled = sq.sqlite3_column_int64(s, 0);
	vu->gen = sq.sqlite3_column_int64(s, 1);
}

/*
 * Inside store_verify_use's unit of work: mark the link used now, then
 * check that its user is enabled with generation gen. STORE_OK, or what
 * store_verify_use answers (a link used concurrently is STORE_NOTFOUND,
 * whatever that use did to the user).
 */
static enum store_rc
verify_claim(struct store *st, int64_t id, int64_t user_id, int64_t gen,
    int64_t now)
{
	sqlite3_stmt		*s;
	struct verify_user	 vu;
	enum store_rc		 rc;

	if ((s = stmt_get(st, SQL_VERIFY_MARK)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now) || bind_int(s, 2, id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if (step_done(st, s, "verify mark") != STORE_OK)
		return STORE_ERROR;
	/* Used concurrently, or expired since it was read. */
	if (sq.sqlite3_changes(SQ(st)->db) == 0)
		return STORE_NOTFOUND;
	if ((s = stmt_get(st, SQL_VERIFY_USER)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_row(st, s, "verify user", fill_verify_user, &vu)) !=
	    STORE_OK)
		return rc;
	if (vu.disabled)
		return STORE_NOTFOUND;
	return vu.gen == gen ? STORE_OK : STORE_CONFLICT;
}

static enum store_rc
sqlite_verify_use(struct store *st, const struct store_verify *v, int64_t now,
    store_session_cb cb, void *arg)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((rc = verify_claim(st, v->id, v->user.id, v->user.gen, now)) !=
	    STORE_OK)
		goto fail;
	rc = STORE_ERROR;
	/* A password set by the link is the owner's claim: API tokens made
	 * before it (by whoever knew the earlier one) end with it. */
	if (sqlite_user_set_verified(st, v->user.id, 1) != STORE_OK ||
	    (v->pwhash[0] != '\0' &&
	    (sqlite_user_set_pwhash(st, v->user.id, v->pwhash) != STORE_OK ||
	    token_end(st, v->user.id, cb, arg) != STORE_OK)))
		goto fail;
	/* Every other link of the user dies, with its pending password. */
	if ((s = stmt_get(st, SQL_VERIFY_RETIRE)) == NULL)
		goto fail;
	if (bind_int(s, 1, now) || bind_int(s, 2, v->user.id)) {
		stmt_done(s);
		goto fail;
	}
	if (step_done(st, s, "verify retire") != STORE_OK ||
	    sqlite_commit(st) != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	sqlite_rollback(st);
	return rc;
}

static enum store_rc
sqlite_reset_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t user_id, int64_t gen, int64_t now, int64_t expires)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_RESET_ADD)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN) || bind_int(s, 2, user_id) ||
	    bind_int(s, 3, gen) || bind_int(s, 4, now) ||
	    bind_int(s, 5, expires)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "reset add");
}

static void
fill_reset(sqlite3_stmt *s, void *out)
{
	struct store_reset	*r = out;

	user_from_row(s, &r->user);
	r->id = sq.sqlite3_column_int64(s, 8);
	r->gen = sq.sqlite3_column_int64(s, 9);
}

static enum store_rc
sqlite_reset_find(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t now, struct store_reset *r)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	memset(r, 0, sizeof(*r));
	if ((s = stmt_get(st, SQL_RESET_FIND)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN) || bind_int(s, 2, now)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_row(st, s, "reset find", fill_reset, r)) != STORE_OK)
		crypto_cleanse(r, sizeof(*r));
	return rc;
}

static enum store_rc
sqlite_reset_purge(struct store *st, int64_t now, int64_t *count)
{
	return exec_int(st, SQL_RESET_PURGE, now, count);
}

/* An API token row (TOKEN_COLS) in a session's shape. */
static void
token_from_row(sqlite3_stmt *s, struct session *se)
{
	memset(se, 0, sizeof(*se));
	se->is_token = 1;
	se->id = sq.sqlite3_column_int64(s, 0);
	(void)snprintf(se->public_id, sizeof(se->public_id), "%lld",
	    (long long)se->id);
	if (sq.sqlite3_column_bytes(s, 1) == CRYPTO_SHA256_LEN)
		memcpy(se->token_hash, sq.sqlite3_column_blob(s, 1),
		    CRYPTO_SHA256_LEN);
	se->created = sq.sqlite3_column_int64(s, 2);
	se->expires = sq.sqlite3_column_int64(s, 3);
	if (se->expires == 0)
		se->expires = STORE_NEVER;
	se->last_seen = sq.sqlite3_column_int64(s, 4);
	se->user.id = sq.sqlite3_column_int64(s, 5);
	col_text(s, 6, se->user.email, sizeof(se->user.email));
	col_text(s, 7, se->user.role, sizeof(se->user.role));
	se->user.verified = sq.sqlite3_column_int(s, 8);
	se->user.disabled = sq.sqlite3_column_int(s, 9);
	se->user.created = sq.sqlite3_column_int64(s, 10);
}

static void
fill_token(sqlite3_stmt *s, void *out)
{
	token_from_row(s, out);
}

static enum store_rc
sqlite_token_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    int64_t user_id, const char *name, int64_t now, int64_t expires,
    const unsigned char *session, int64_t max, int64_t *id)
{
	sqlite3_stmt	*s;
	int64_t		 n = 0;
	enum store_rc	 rc = STORE_ERROR;
	int		 b;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((s = stmt_get(st, SQL_TOKEN_COUNT)) == NULL)
		goto fail;
	if (bind_int(s, 1, user_id)) {
		stmt_done(s);
		goto fail;
	}
	if (step_row(st, s, "token count", fill_int64, &n) != STORE_OK)
		goto fail;
	if (n >= max) {
		rc = STORE_CONFLICT;
		goto fail;
	}
	if ((s = stmt_get(st, SQL_TOKEN_ADD)) == NULL)
		goto fail;
	b = bind_int(s, 1, user_id) || bind_blob(s, 2, hash, CRYPTO_SHA256_LEN) ||
	    bind_text(s, 3, name) || bind_int(s, 4, now) ||
	    bind_int(s, 5, expires) ||
	    (session != NULL && bind_blob(s, 6, session, CRYPTO_SHA256_LEN));
	if (b) {
		stmt_done(s);
		goto fail;
	}
	if ((rc = step_done(st, s, "token add")) != STORE_OK)
		goto fail;
	rc = STORE_NOTFOUND;
	if (sq.sqlite3_changes(SQ(st)->db) == 0)
		goto fail;
	*id = sq.sqlite3_last_insert_rowid(SQ(st)->db);
	rc = STORE_ERROR;
	if (sqlite_commit(st) != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	sqlite_rollback(st);
	return rc;
}

static enum store_rc
sqlite_token_get(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN],
    struct session *se)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_TOKEN_GET)) == NULL)
		return STORE_ERROR;
	if (bind_blob(s, 1, hash, CRYPTO_SHA256_LEN)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_row(st, s, "token get", fill_token, se);
}

static enum store_rc
sqlite_token_touch(struct store *st, int64_t id, int64_t old, int64_t now)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_TOKEN_TOUCH)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now) || bind_int(s, 2, id) || bind_int(s, 3, old)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "token touch")) == STORE_OK &&
	    sq.sqlite3_changes(SQ(st)->db) == 0)
		rc = STORE_CONFLICT;
	return rc;
}

/* A callback of the caller's and its argument, for step_rows. */
struct row_cb {
	union {
		store_token_cb		 token;
		store_session_cb	 session;
	}	 fn;
	void	*arg;
};

static int
token_list_row(sqlite3_stmt *s, void *arg)
{
	struct row_cb		*r = arg;
	struct store_token	 t;

	memset(&t, 0, sizeof(t));
	t.id = sq.sqlite3_column_int64(s, 0);
	t.user_id = sq.sqlite3_column_int64(s, 1);
	col_text(s, 2, t.email, sizeof(t.email));
	col_text(s, 3, t.name, sizeof(t.name));
	t.created = sq.sqlite3_column_int64(s, 4);
	t.last_used = sq.sqlite3_column_int64(s, 5);
	t.expires = sq.sqlite3_column_int64(s, 6);
	return r->fn.token(&t, r->arg);
}

static enum store_rc
sqlite_token_each(struct store *st, int64_t user_id, store_token_cb cb,
    void *arg)
{
	struct row_cb	 r = { .fn.token = cb, .arg = arg };
	sqlite3_stmt	*s;

	s = stmt_get(st, user_id > 0 ? SQL_TOKEN_EACH_USER : SQL_TOKEN_EACH_ALL);
	if (s == NULL)
		return STORE_ERROR;
	if (user_id > 0 && bind_int(s, 1, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_rows(st, s, "token list", token_list_row, &r);
}

static int
token_row(sqlite3_stmt *s, void *arg)
{
	struct row_cb	*r = arg;
	struct session	 se;

	token_from_row(s, &se);
	return r->fn.session(&se, r->arg);
}

/* Every token of user_id, in a session's shape, to cb (stops at non-zero). */
static enum store_rc
token_rows(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	struct row_cb	 r = { .fn.session = cb, .arg = arg };
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_TOKEN_OF_USER)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_rows(st, s, "token rows", token_row, &r);
}

/* Inside a unit of work: every token of the user to cb (if not NULL),
 * then deleted. */
static enum store_rc
token_end(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	struct strict_cb	 s = { cb, arg, 0 };

	if (cb != NULL && (token_rows(st, user_id, strict_each, &s) !=
	    STORE_OK || s.failed))
		return STORE_ERROR;
	return exec_int(st, SQL_TOKEN_DEL_USER, user_id, NULL);
}

static enum store_rc
sqlite_token_hashes(struct store *st, int64_t user_id, store_session_cb cb,
    void *arg)
{
	return token_rows(st, user_id, cb, arg);
}

/* The deleted token's hash and owner (SQL_TOKEN_DEL's RETURNING). */
struct token_gone {
	unsigned char	*hash;
	int64_t		*owner;
};

static void
fill_token_gone(sqlite3_stmt *s, void *out)
{
	struct token_gone	*g = out;

	memset(g->hash, 0, CRYPTO_SHA256_LEN);
	if (sq.sqlite3_column_bytes(s, 0) == CRYPTO_SHA256_LEN)
		memcpy(g->hash, sq.sqlite3_column_blob(s, 0), CRYPTO_SHA256_LEN);
	*g->owner = sq.sqlite3_column_int64(s, 1);
}

static enum store_rc
sqlite_token_del(struct store *st, int64_t id, int64_t user_id,
    unsigned char hash[CRYPTO_SHA256_LEN], int64_t *owner)
{
	struct token_gone	 g = { hash, owner };
	sqlite3_stmt		*s;

	if ((s = stmt_get(st, SQL_TOKEN_DEL)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, id) || bind_int(s, 2, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	/* The delete is done by the first step (RETURNING). */
	return step_row(st, s, "token revoke", fill_token_gone, &g);
}

static enum store_rc
sqlite_token_purge(struct store *st, int64_t now, int64_t *count)
{
	return exec_int(st, SQL_TOKEN_PURGE, now, count);
}

/* Inside store_password_set: spend the reset link id at now. */
static enum store_rc
reset_claim(struct store *st, int64_t id, int64_t now)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_RESET_MARK)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now) || bind_int(s, 2, id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if (step_done(st, s, "reset mark") != STORE_OK)
		return STORE_ERROR;
	return sq.sqlite3_changes(SQ(st)->db) == 0 ? STORE_NOTFOUND : STORE_OK;
}

/*
 * Inside store_password_set: the user as the change must find it (enabled,
 * generation gen) and, with keep, that session of theirs still there.
 */
static enum store_rc
pwchange_check(struct store *st, const struct store_pwchange *p)
{
	struct verify_user	 vu;
	struct session		 se;
	sqlite3_stmt		*s;
	enum store_rc		 rc;

	if ((s = stmt_get(st, SQL_VERIFY_USER)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, p->user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_row(st, s, "user state", fill_verify_user, &vu)) !=
	    STORE_OK)
		return rc;
	if (vu.disabled && !p->admin)
		return STORE_NOTFOUND;
	if (vu.gen != p->gen)
		return STORE_CONFLICT;
	if (p->keep == NULL)
		return STORE_OK;
	if ((rc = sqlite_session_get(st, p->keep, &se)) != STORE_OK)
		return rc;
	return se.user.id == p->user_id ? STORE_OK : STORE_NOTFOUND;
}

/* Passes every session but the one to keep on to the caller's callback. */
struct keep_cb {
	const unsigned char	*keep;
	store_session_cb	 cb;
	void			*arg;
	int			 failed;
};

static int
keep_each(const struct session *se, void *arg)
{
	struct keep_cb	*k = arg;

	if (k->keep != NULL &&
	    memcmp(se->token_hash, k->keep, CRYPTO_SHA256_LEN) == 0)
		return 0;
	if (k->cb(se, k->arg) != 0) {
		k->failed = 1;
		return 1;
	}
	return 0;
}

/* Inside store_password_set: end every session of the user but keep. */
static enum store_rc
pwchange_end_sessions(struct store *st, const struct store_pwchange *p,
    store_session_cb cb, void *arg)
{
	struct keep_cb	 k = { p->keep, cb, arg, 0 };
	sqlite3_stmt	*s;

	if (sqlite_session_each(st, p->user_id, keep_each, &k) != STORE_OK ||
	    k.failed)
		return STORE_ERROR;
	if (p->keep == NULL)
		return exec_int(st, SQL_SESSION_DEL_USER, p->user_id, NULL);
	if ((s = stmt_get(st, SQL_SESSION_DEL_OTHERS)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, p->user_id) ||
	    bind_blob(s, 2, p->keep, CRYPTO_SHA256_LEN)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "session end others");
}

/* Inside store_password_set, for a reset: the address is verified now,
 * and no verification link is left to set another password. */
static enum store_rc
pwchange_reset_extras(struct store *st, const struct store_pwchange *p)
{
	sqlite3_stmt	*s;

	if (sqlite_user_set_verified(st, p->user_id, 1) != STORE_OK)
		return STORE_ERROR;
	if ((s = stmt_get(st, SQL_VERIFY_RETIRE)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, p->now) || bind_int(s, 2, p->user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "verify retire");
}

static enum store_rc
sqlite_password_set(struct store *st, const struct store_pwchange *p,
    store_session_cb cb, void *arg)
{
	enum store_rc	 rc;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((p->reset_id != 0 &&
	    (rc = reset_claim(st, p->reset_id, p->now)) != STORE_OK) ||
	    (rc = pwchange_check(st, p)) != STORE_OK)
		goto fail;
	rc = STORE_ERROR;
	if (sqlite_user_set_pwhash(st, p->user_id, p->pwhash) != STORE_OK ||
	    (p->reset_id != 0 && pwchange_reset_extras(st, p) != STORE_OK))
		goto fail;
	/* A reset (no session kept) ends the API tokens too (SPEC 4), in
	 * this unit of work; the caller drops them with the sessions. */
	if (pwchange_end_sessions(st, p, cb, arg) != STORE_OK ||
	    (p->keep == NULL && token_end(st, p->user_id, cb, arg) !=
	    STORE_OK) ||
	    (p->mail != NULL &&
	    sqlite_outbox_add(st, p->mail_to, p->mail, p->now) != STORE_OK) ||
	    sqlite_commit(st) != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	sqlite_rollback(st);
	return rc;
}

/* The login records of a user: the pair's last time, and how many. */
struct seen_row {
	int64_t	 last;
	int64_t	 rows;
};

static void
fill_seen(sqlite3_stmt *s, void *out)
{
	struct seen_row	*r = out;

	r->last = sq.sqlite3_column_int64(s, 0);
	r->rows = sq.sqlite3_column_int64(s, 1);
}

static enum store_rc
sqlite_login_seen(struct store *st, int64_t user_id, const char *addr,
    const unsigned char ua_hash[CRYPTO_SHA256_LEN], int64_t now,
    int64_t since, int *notify)
{
	struct seen_row	 r = { 0, 0 };
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	*notify = 0;
	if ((s = stmt_get(st, SQL_LOGIN_SEEN_GET)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || bind_text(s, 2, addr) ||
	    bind_blob(s, 3, ua_hash, CRYPTO_SHA256_LEN)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_row(st, s, "login seen", fill_seen, &r)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
	if ((s = stmt_get(st, SQL_LOGIN_SEEN_PUT)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || bind_text(s, 2, addr) ||
	    bind_blob(s, 3, ua_hash, CRYPTO_SHA256_LEN) || bind_int(s, 4, now)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "login seen put")) != STORE_OK)
		return rc;
	*notify = r.rows > 0 && r.last <= since;
	return STORE_OK;
}

static enum store_rc
sqlite_login_seen_purge(struct store *st, int64_t before, int64_t *count)
{
	return exec_int(st, SQL_LOGIN_SEEN_PURGE, before, count);
}

static enum store_rc
sqlite_outbox_add(struct store *st, const char *recipient, const char *message,
    int64_t now)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_OUTBOX_ADD)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now) || bind_text(s, 2, recipient) ||
	    bind_text(s, 3, message) || bind_int(s, 4, now)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "outbox add");
}

static void
fill_mail(sqlite3_stmt *s, void *out)
{
	struct store_mail	*m = out;
	const unsigned char	*msg = sq.sqlite3_column_text(s, 3);

	m->id = sq.sqlite3_column_int64(s, 0);
	m->attempts = sq.sqlite3_column_int64(s, 1);
	col_text(s, 2, m->recipient, sizeof(m->recipient));
	m->message = xstrdup(msg ? (const char *)msg : "");
}

static enum store_rc
sqlite_outbox_claim(struct store *st, int64_t now, int64_t lease_until,
    struct store_mail *m)
{
	sqlite3_stmt	*s;
	int		 rc;

	memset(m, 0, sizeof(*m));
	if ((s = stmt_get(st, SQL_OUTBOX_CLAIM)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now) || bind_int(s, 2, lease_until)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	/*
	 * The row comes back from the first step; the statement (and its
	 * autocommit transaction) is complete only at SQLITE_DONE. A claim
	 * not known to be committed is not a claim: nothing is sent.
	 */
	if ((rc = sq.sqlite3_step(s)) == SQLITE_ROW) {
		fill_mail(s, m);
		rc = sq.sqlite3_step(s);
		if (rc != SQLITE_DONE) {
			crypto_cleanse(m->message, strlen(m->message));
			free(m->message);
			memset(m, 0, sizeof(*m));
		}
		stmt_done(s);
		if (rc == SQLITE_DONE)
			return STORE_OK;
	} else {
		stmt_done(s);
		if (rc == SQLITE_DONE)
			return STORE_NOTFOUND;
	}
	store_log(st, "outbox claim");
	return STORE_ERROR;
}

static enum store_rc
sqlite_outbox_sent(struct store *st, int64_t id, int64_t now)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_OUTBOX_SENT)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, now) || bind_int(s, 2, id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "outbox sent");
}

static enum store_rc
sqlite_outbox_failed(struct store *st, int64_t id, int64_t next_try,
    const char *error)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_OUTBOX_FAILED)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, next_try) || bind_text(s, 2, error) ||
	    bind_int(s, 3, id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "outbox failed");
}

static enum store_rc
sqlite_outbox_count(struct store *st, int64_t *pending)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_OUTBOX_COUNT)) == NULL)
		return STORE_ERROR;
	/* count(*) always yields a row: NOTFOUND cannot come back. */
	return step_row(st, s, "outbox count", fill_int64, pending);
}

/* SQLite has no notices: one host, one table, nothing to hear. */
static int
sqlite_listen(struct store *st)
{
	(void)st;
	return -1;
}

static enum store_rc
sqlite_listen_read(struct store *st, store_item_cb cb, void *arg)
{
	(void)st;
	(void)cb;
	(void)arg;
	return STORE_ERROR;
}

static enum store_rc
sqlite_namespace_get(struct store *st, uint64_t *ns)
{
	sqlite3_stmt	*s;
	int64_t		 v = 0;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_NAMESPACE_GET)) == NULL)
		return STORE_ERROR;
	if ((rc = step_row(st, s, "namespace", fill_int64, &v)) == STORE_ERROR)
		return rc;
	*ns = (uint64_t)v;	/* none yet: 0 */
	return STORE_OK;
}

static enum store_rc
sqlite_namespace_bump(struct store *st, uint64_t *ns)
{
	sqlite3_stmt	*s;
	int64_t		 v = 0;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_NAMESPACE_BUMP)) == NULL)
		return STORE_ERROR;
	/* One statement: atomic; the write is done by the first step. */
	if ((rc = step_row(st, s, "namespace bump", fill_int64, &v)) !=
	    STORE_OK)
		return STORE_ERROR;
	*ns = (uint64_t)v;
	return STORE_OK;
}

static enum store_rc
sqlite_host_beat(struct store *st, const struct store_host *h)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_HOST_BEAT)) == NULL)
		return STORE_ERROR;
	if (bind_text(s, 1, h->name) || bind_int(s, 2, h->started) ||
	    bind_int(s, 3, h->seen) || bind_int(s, 4, h->checks) ||
	    bind_int(s, 5, h->cache_hits) || bind_int(s, 6, h->cache_misses) ||
	    bind_int(s, 7, h->workers)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "host beat");
}

/* A callback of the caller's for the hosts' rows. */
struct host_rows {
	store_host_cb	 cb;
	void		*arg;
};

static int
host_row(sqlite3_stmt *s, void *arg)
{
	struct host_rows	*r = arg;
	struct store_host	 h;

	memset(&h, 0, sizeof(h));
	col_text(s, 0, h.name, sizeof(h.name));
	h.started = sq.sqlite3_column_int64(s, 1);
	h.seen = sq.sqlite3_column_int64(s, 2);
	h.checks = sq.sqlite3_column_int64(s, 3);
	h.cache_hits = sq.sqlite3_column_int64(s, 4);
	h.cache_misses = sq.sqlite3_column_int64(s, 5);
	h.workers = sq.sqlite3_column_int64(s, 6);
	return r->cb(&h, r->arg);
}

static enum store_rc
sqlite_host_each(struct store *st, int64_t since, store_host_cb cb, void *arg)
{
	struct host_rows	 r = { cb, arg };
	sqlite3_stmt		*s;

	if ((s = stmt_get(st, SQL_HOST_EACH)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, since)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_rows(st, s, "host list", host_row, &r);
}

/* Second factor (SPEC 9) */

/* A blob column into (dst, *len), 0 when NULL or too long. */
static void
col_blob(sqlite3_stmt *s, int i, unsigned char *dst, size_t dstsz,
    size_t *len)
{
	int	 n = sq.sqlite3_column_bytes(s, i);

	*len = 0;
	if (n > 0 && (size_t)n <= dstsz) {
		memcpy(dst, sq.sqlite3_column_blob(s, i), (size_t)n);
		*len = (size_t)n;
	}
}

/* The row into out: 0, or -1 when the factor is on but its secret cannot
 * be read (NULL, empty or too long): an error, never "off". */
static int
fill_totp(sqlite3_stmt *s, struct store_totp *t)
{
	memset(t, 0, sizeof(*t));
	col_blob(s, 0, t->secret, sizeof(t->secret), &t->secret_len);
	col_blob(s, 1, t->pending, sizeof(t->pending), &t->pending_len);
	t->last_step = sq.sqlite3_column_int64(s, 2);
	t->pending_gen = sq.sqlite3_column_int64(s, 4);
	t->pending_created = sq.sqlite3_column_int64(s, 5);
	t->gen = sq.sqlite3_column_int64(s, 6);
	t->factor = sq.sqlite3_column_int64(s, 7);
	if (sq.sqlite3_column_int(s, 3) == 0)
		t->secret_len = 0;
	else if (t->secret_len == 0)
		return -1;
	return 0;
}

static enum store_rc
sqlite_totp_get(struct store *st, int64_t user_id, struct store_totp *t)
{
	sqlite3_stmt	*s;
	int		 rc, bad = 0;

	memset(t, 0, sizeof(*t));
	if ((s = stmt_get(st, SQL_TOTP_GET)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = sq.sqlite3_step(s)) == SQLITE_ROW)
		bad = fill_totp(s, t) == -1;
	stmt_done(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	if (rc == SQLITE_ROW && !bad)
		return STORE_OK;
	if (bad) {
		/* Fail closed: the factor is on and unreadable. */
		crypto_cleanse(t, sizeof(*t));
		log_error("sqlite: totp: user %lld has the factor on and no "
		    "readable secret", (long long)user_id);
		return STORE_ERROR;
	}
	store_log(st, "totp get");
	return STORE_ERROR;
}

static enum store_rc
sqlite_totp_pending_put(struct store *st, int64_t user_id,
    const unsigned char *sealed, size_t len, int64_t now)
{
	sqlite3_stmt	*s;

	if (len == 0 || len > STORE_TOTP_SEALED_MAX ||
	    (s = stmt_get(st, SQL_TOTP_PENDING_PUT)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || bind_blob(s, 2, sealed, len) ||
	    bind_int(s, 3, now) ||
	    bind_int(s, 4, now - STORE_TOTP_PENDING_TTL)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "totp pending");
}

/* Inside sqlite_totp_enable's unit of work: the new recovery codes. */
static enum store_rc
totp_codes_put(struct store *st, int64_t user_id,
    const unsigned char (*codes)[CRYPTO_SHA256_LEN], size_t n)
{
	sqlite3_stmt	*s;
	size_t		 i;
	enum store_rc	 rc;

	if (exec_int(st, SQL_TOTP_RECOVERY_CLEAR, user_id, NULL) != STORE_OK)
		return STORE_ERROR;
	for (i = 0; i < n; i++) {
		if ((s = stmt_get(st, SQL_TOTP_RECOVERY_ADD)) == NULL)
			return STORE_ERROR;
		if (bind_int(s, 1, user_id) ||
		    bind_blob(s, 2, codes[i], CRYPTO_SHA256_LEN)) {
			stmt_done(s);
			return STORE_ERROR;
		}
		if ((rc = step_done(st, s, "totp recovery")) != STORE_OK)
			return rc == STORE_EXISTS ? STORE_ERROR : rc;
	}
	return STORE_OK;
}

static int
totp_ended_none(const struct session *se, void *arg)
{
	(void)se;
	(void)arg;
	return 0;
}

/* Inside sqlite_totp_enable's unit of work: the generation moves and
 * every session of the user but keep goes, each passed to cb first. */
static enum store_rc
totp_end_others(struct store *st, int64_t user_id, const unsigned char *keep,
    store_session_cb cb, void *arg)
{
	struct keep_cb	 k = { keep, cb != NULL ? cb : totp_ended_none, arg,
			    0 };
	sqlite3_stmt	*s;

	if (exec_int(st, SQL_USER_GEN_BUMP, user_id, NULL) != STORE_OK ||
	    sqlite_session_each(st, user_id, keep_each, &k) != STORE_OK ||
	    k.failed)
		return STORE_ERROR;
	if (keep == NULL)
		return exec_int(st, SQL_SESSION_DEL_USER, user_id, NULL);
	if ((s = stmt_get(st, SQL_SESSION_DEL_OTHERS)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || bind_blob(s, 2, keep, CRYPTO_SHA256_LEN)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	return step_done(st, s, "totp end others");
}

static enum store_rc
sqlite_totp_enable(struct store *st, int64_t user_id,
    const unsigned char *pending, size_t len, int64_t now, int64_t step,
    int64_t factor, const unsigned char (*codes)[CRYPTO_SHA256_LEN],
    size_t n, const unsigned char *keep, store_session_cb ended, void *arg)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc = STORE_ERROR;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((s = stmt_get(st, SQL_TOTP_ENABLE)) == NULL)
		goto fail;
	if (bind_int(s, 1, user_id) || bind_blob(s, 2, pending, len) ||
	    bind_int(s, 3, step) ||
	    bind_int(s, 4, now - STORE_TOTP_PENDING_TTL) ||
	    bind_int(s, 5, factor)) {
		stmt_done(s);
		goto fail;
	}
	if ((rc = step_done(st, s, "totp enable")) != STORE_OK)
		goto fail;
	if (sq.sqlite3_changes(SQ(st)->db) == 0) {
		rc = STORE_CONFLICT;
		goto fail;
	}
	if ((rc = totp_codes_put(st, user_id, codes, n)) != STORE_OK ||
	    (rc = totp_end_others(st, user_id, keep, ended, arg)) != STORE_OK)
		goto fail;
	if ((rc = sqlite_commit(st)) == STORE_OK)
		return STORE_OK;
fail:
	sqlite_rollback(st);
	return rc;
}

static enum store_rc
sqlite_totp_remove(struct store *st, int64_t user_id)
{
	int64_t		 n = 0;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if (exec_int(st, SQL_TOTP_REMOVE, user_id, &n) != STORE_OK ||
	    exec_int(st, SQL_TOTP_RECOVERY_CLEAR, user_id, NULL) != STORE_OK ||
	    sqlite_commit(st) != STORE_OK) {
		sqlite_rollback(st);
		return STORE_ERROR;
	}
	return n > 0 ? STORE_OK : STORE_NOTFOUND;
}

/* Inside sqlite_totp_login's unit of work: spend the step or the code. */
static enum store_rc
totp_spend(struct store *st, int64_t user_id, int64_t step,
    const unsigned char *recovery)
{
	sqlite3_stmt	*s;
	enum store_rc	 rc;

	if ((s = stmt_get(st, recovery != NULL ? SQL_TOTP_RECOVERY_USE :
	    SQL_TOTP_STEP)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id) || (recovery != NULL ?
	    bind_blob(s, 2, recovery, CRYPTO_SHA256_LEN) :
	    bind_int(s, 2, step))) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_done(st, s, "totp spend")) != STORE_OK)
		return rc;
	return sq.sqlite3_changes(SQ(st)->db) == 1 ? STORE_OK : STORE_NOTFOUND;
}

/* Inside sqlite_totp_login's unit of work: the factor on, as the
 * instance the pending login was issued under. */
static enum store_rc
totp_factor_is(struct store *st, int64_t user_id, int64_t factor)
{
	sqlite3_stmt	*s;
	int64_t		 cur = 0;
	enum store_rc	 rc;

	if ((s = stmt_get(st, SQL_TOTP_FACTOR)) == NULL)
		return STORE_ERROR;
	if (bind_int(s, 1, user_id)) {
		stmt_done(s);
		return STORE_ERROR;
	}
	if ((rc = step_row(st, s, "totp factor", fill_int64, &cur)) !=
	    STORE_OK)
		return rc;
	return cur == factor ? STORE_OK : STORE_CONFLICT;
}

static enum store_rc
sqlite_totp_login(struct store *st, int64_t user_id, int64_t gen,
    int64_t factor, const unsigned char nonce[STORE_TOTP_NONCE_LEN],
    int64_t expires, int64_t step, const unsigned char *recovery)
{
	sqlite3_stmt		*s;
	struct verify_user	 vu;
	enum store_rc		 rc = STORE_ERROR;

	if (sqlite_begin(st) != STORE_OK)
		return STORE_ERROR;
	if ((s = stmt_get(st, SQL_VERIFY_USER)) == NULL)
		goto fail;
	if (bind_int(s, 1, user_id)) {
		stmt_done(s);
		goto fail;
	}
	if ((rc = step_row(st, s, "totp user", fill_verify_user, &vu)) ==
	    STORE_NOTFOUND || (rc == STORE_OK && (vu.disabled ||
	    vu.gen != gen)))
		rc = STORE_CONFLICT;
	if (rc != STORE_OK)
		goto fail;
	/* Off: STORE_NOTFOUND; turned off and on again: STORE_CONFLICT. */
	if ((rc = totp_factor_is(st, user_id, factor)) != STORE_OK)
		goto fail;
	if ((s = stmt_get(st, SQL_TOTP_NONCE_ADD)) == NULL) {
		rc = STORE_ERROR;
		goto fail;
	}
	if (bind_blob(s, 1, nonce, STORE_TOTP_NONCE_LEN) ||
	    bind_int(s, 2, expires)) {
		stmt_done(s);
		rc = STORE_ERROR;
		goto fail;
	}
	/* STORE_EXISTS: this pending login was finished before. */
	if ((rc = step_done(st, s, "totp nonce")) != STORE_OK)
		goto fail;
	if ((rc = totp_spend(st, user_id, step, recovery)) != STORE_OK)
		goto fail;
	if ((rc = sqlite_commit(st)) == STORE_OK)
		return STORE_OK;
fail:
	sqlite_rollback(st);
	return rc;
}

static enum store_rc
sqlite_totp_count(struct store *st, int64_t *count)
{
	sqlite3_stmt	*s;

	if ((s = stmt_get(st, SQL_TOTP_COUNT)) == NULL)
		return STORE_ERROR;
	return step_row(st, s, "totp count", fill_int64, count);
}

static enum store_rc
sqlite_totp_purge(struct store *st, int64_t now, int64_t *count)
{
	return exec_int(st, SQL_TOTP_PURGE, now, count);
}

/* SQLite has one writer: a key serialises nothing more than BEGIN
 * IMMEDIATE already does. */
/* SQLite has no notices, hence no listener to prove its connection. */
static int
sqlite_probe(struct store *st)
{
	(void)st;
	return -1;
}

static enum store_rc
sqlite_begin_key(struct store *st, const char *key)
{
	(void)key;
	return sqlite_begin(st);
}

static const struct store_engine sqlite_engine = {
	.close = sqlite_close,
	.schema_version = sqlite_schema_version,
	.secret_get = sqlite_secret_get,
	.ping = sqlite_ping,
	.user_add = sqlite_user_add,
	.user_get_email = sqlite_user_get_email,
	.user_set_pwhash = sqlite_user_set_pwhash,
	.user_rehash = sqlite_user_rehash,
	.user_set_role = sqlite_user_set_role,
	.user_set_verified = sqlite_user_set_verified,
	.user_set_disabled = sqlite_user_set_disabled,
	.user_del = sqlite_user_del,
	.user_each = sqlite_user_each,
	.session_add = sqlite_session_add,
	.session_get = sqlite_session_get,
	.session_get_public = sqlite_session_get_public,
	.session_extend = sqlite_session_extend,
	.session_del_hash = sqlite_session_del_hash,
	.session_end_user = sqlite_session_end_user,
	.session_each = sqlite_session_each,
	.session_purge = sqlite_session_purge,
	.session_count_live = sqlite_session_count_live,
	.attempts_take = sqlite_attempts_take,
	.attempt_del = sqlite_attempt_del,
	.attempts_clear = sqlite_attempts_clear,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.verify_add = sqlite_verify_add,
	.verify_find = sqlite_verify_find,
	.verify_use = sqlite_verify_use,
	.reset_add = sqlite_reset_add,
	.reset_find = sqlite_reset_find,
	.password_set = sqlite_password_set,
	.reset_purge = sqlite_reset_purge,
	.login_seen = sqlite_login_seen,
	.login_seen_purge = sqlite_login_seen_purge,
	.outbox_add = sqlite_outbox_add,
	.outbox_claim = sqlite_outbox_claim,
	.outbox_sent = sqlite_outbox_sent,
	.outbox_failed = sqlite_outbox_failed,
	.outbox_count = sqlite_outbox_count,
	.token_add = sqlite_token_add,
	.token_get = sqlite_token_get,
	.token_touch = sqlite_token_touch,
	.token_each = sqlite_token_each,
	.token_hashes = sqlite_token_hashes,
	.token_del = sqlite_token_del,
	.token_purge = sqlite_token_purge,
	.attempts_purge = sqlite_attempts_purge,
	.listen = sqlite_listen,
	.probe_send = sqlite_probe,
	.probe_done = sqlite_probe,
	.listen_read = sqlite_listen_read,
	.namespace_get = sqlite_namespace_get,
	.namespace_bump = sqlite_namespace_bump,
	.host_beat = sqlite_host_beat,
	.host_each = sqlite_host_each,
	.begin_key = sqlite_begin_key,
	.totp_get = sqlite_totp_get,
	.totp_pending_put = sqlite_totp_pending_put,
	.totp_enable = sqlite_totp_enable,
	.totp_remove = sqlite_totp_remove,
	.totp_login = sqlite_totp_login,
	.totp_count = sqlite_totp_count,
	.totp_purge = sqlite_totp_purge,
};
