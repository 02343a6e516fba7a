/*
 * The store's front: picks the engine by the database value (a
 * PostgreSQL connection URI, else an SQLite file) and passes every call
 * on to the engine the handle was opened with (store_engine.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "store_engine.h"

/*
 * Every member of struct store_engine, by name: store_open refuses an
 * engine whose table leaves one NULL (a port that forgot a function fails
 * its first open in a test, not a request in production). The static
 * assertion keeps the list whole: a member added to the struct and not
 * here fails the build.
 */
#define ENGINE_MEMBERS(X) \
	X(close) X(schema_version) X(secret_get) X(ping) X(user_add) \
	X(user_get_email) X(user_set_pwhash) X(user_rehash) X(user_set_role) \
	X(user_set_verified) X(user_set_disabled) X(user_del) X(user_each) \
	X(session_add) X(session_get) X(session_get_public) \
	X(session_extend) X(session_del_hash) X(session_end_user) \
	X(session_each) X(session_purge) X(session_count_live) \
	X(attempts_take) X(attempt_del) X(attempts_clear) X(begin) \
	X(begin_key) X(commit) \
	X(rollback) X(verify_add) X(verify_find) X(verify_use) X(reset_add) \
	X(reset_find) X(password_set) X(reset_purge) X(login_seen) \
	X(login_seen_purge) X(outbox_add) X(outbox_claim) X(outbox_sent) \
	X(outbox_failed) X(outbox_count) X(token_add) X(token_get) \
	X(token_touch) X(token_each) X(token_hashes) X(token_del) \
	X(token_purge) X(attempts_purge) X(listen) X(listen_read) \
	X(probe_send) X(probe_done) \
	X(namespace_get) X(namespace_bump) X(host_beat) X(host_each) \
	X(totp_get) X(totp_pending_put) X(totp_enable) X(totp_remove) \
	X(totp_login) X(totp_count) X(totp_purge)

#define ENGINE_ONE(m)	+ 1
_Static_assert(sizeof(struct store_engine) ==
    (0 ENGINE_MEMBERS(ENGINE_ONE)) * sizeof(void (*)(void)),
    "store.c's ENGINE_MEMBERS must name every member of struct store_engine");
#undef ENGINE_ONE

/* The first member of e left NULL, or NULL when the table is whole. */
static const char *
engine_missing(const struct store_engine *e)
{
#define ENGINE_NULL(m)	if (e->m == NULL) return #m;
	ENGINE_MEMBERS(ENGINE_NULL)
#undef ENGINE_NULL
	return NULL;
}

struct store *
store_open(const char *database, int migrate, char *err, size_t errsz)
{
	struct store	*st;
	const char	*missing;

	if (config_database_is_pg(database))
		st = store_pg_open(database, migrate, err, errsz);
	else
		st = store_sqlite_open(database, migrate, err, errsz);
	if (st != NULL && (missing = engine_missing(st->engine)) != NULL) {
		snprintf(err, errsz, "internal error: the %s engine has no %s",
		    config_database_is_pg(database) ? "PostgreSQL" : "SQLite",
		    missing);
		st->engine->close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->engine->close(st);
}

int
store_schema_version(struct store *st)
{
	return st->engine->schema_version(st);
}

enum store_rc
store_secret_get(struct store *st, unsigned char out[32])
{
	return st->engine->secret_get(st, out);
}

int
store_ping(struct store *st)
{
	return st->engine->ping(st);
}

enum store_rc
store_user_add(struct store *st, const char *email, const char *pwhash, const char *role, int verified, int64_t now, int64_t *id)
{
	return st->engine->user_add(st, email, pwhash, role, verified, now, id);
}

enum store_rc
store_user_get_email(struct store *st, const char *email, struct user *u)
{
	return st->engine->user_get_email(st, email, u);
}

enum store_rc
store_user_set_pwhash(struct store *st, int64_t id, const char *s)
{
	return st->engine->user_set_pwhash(st, id, s);
}

enum store_rc
store_user_rehash(struct store *st, int64_t id, int64_t gen, const char *s)
{
	return st->engine->user_rehash(st, id, gen, s);
}

enum store_rc
store_user_set_role(struct store *st, int64_t id, const char *s)
{
	return st->engine->user_set_role(st, id, s);
}

enum store_rc
store_user_set_verified(struct store *st, int64_t id, int v)
{
	return st->engine->user_set_verified(st, id, v);
}

enum store_rc
store_user_set_disabled(struct store *st, int64_t id, int v)
{
	return st->engine->user_set_disabled(st, id, v);
}

enum store_rc
store_user_del(struct store *st, int64_t id, store_session_cb cb, void *arg)
{
	return st->engine->user_del(st, id, cb, arg);
}

enum store_rc
store_user_each(struct store *st, store_user_cb cb, void *arg)
{
	return st->engine->user_each(st, cb, arg);
}

enum store_rc
store_session_add(struct store *st, struct session *se, int64_t gen, int64_t max, store_session_cb ended, void *arg)
{
	return st->engine->session_add(st, se, gen, max, ended, arg);
}

enum store_rc
store_session_get(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], struct session *se)
{
	return st->engine->session_get(st, hash, se);
}

enum store_rc
store_session_get_public(struct store *st, const char *public_id, struct session *se)
{
	return st->engine->session_get_public(st, public_id, se);
}

enum store_rc
store_session_extend(struct store *st, int64_t id, int64_t old_expires, int64_t new_expires, int64_t now)
{
	return st->engine->session_extend(st, id, old_expires, new_expires, now);
}

enum store_rc
store_session_del_hash(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	return st->engine->session_del_hash(st, hash);
}

enum store_rc
store_session_end_user(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	return st->engine->session_end_user(st, user_id, cb, arg);
}

enum store_rc
store_session_each(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	return st->engine->session_each(st, user_id, cb, arg);
}

enum store_rc
store_session_purge(struct store *st, int64_t now, int64_t *count)
{
	return st->engine->session_purge(st, now, count);
}

enum store_rc
store_session_count_live(struct store *st, int64_t now, int64_t *count)
{
	return st->engine->session_count_live(st, now, count);
}

enum store_rc
store_attempts_take(struct store *st, struct store_attempt *a, size_t n, int64_t now, int64_t window)
{
	return st->engine->attempts_take(st, a, n, now, window);
}

enum store_rc
store_attempt_del(struct store *st, int64_t id)
{
	return st->engine->attempt_del(st, id);
}

enum store_rc
store_attempts_clear(struct store *st, int kind, const char *key)
{
	return st->engine->attempts_clear(st, kind, key);
}

enum store_rc
store_begin(struct store *st)
{
	return st->engine->begin(st);
}

enum store_rc
store_begin_key(struct store *st, const char *key)
{
	return st->engine->begin_key(st, key);
}

enum store_rc
store_commit(struct store *st)
{
	return st->engine->commit(st);
}

void
store_rollback(struct store *st)
{
	st->engine->rollback(st);
}

enum store_rc
store_verify_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id, int64_t now, int64_t expires, const char *pwhash)
{
	return st->engine->verify_add(st, hash, user_id, now, expires, pwhash);
}

enum store_rc
store_verify_find(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now, struct store_verify *v)
{
	return st->engine->verify_find(st, hash, now, v);
}

enum store_rc
store_verify_use(struct store *st, const struct store_verify *v, int64_t now, store_session_cb cb, void *arg)
{
	return st->engine->verify_use(st, v, now, cb, arg);
}

enum store_rc
store_reset_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id, int64_t gen, int64_t now, int64_t expires)
{
	return st->engine->reset_add(st, hash, user_id, gen, now, expires);
}

enum store_rc
store_reset_find(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now, struct store_reset *r)
{
	return st->engine->reset_find(st, hash, now, r);
}

enum store_rc
store_password_set(struct store *st, const struct store_pwchange *p, store_session_cb cb, void *arg)
{
	return st->engine->password_set(st, p, cb, arg);
}

enum store_rc
store_reset_purge(struct store *st, int64_t now, int64_t *count)
{
	return st->engine->reset_purge(st, now, count);
}

enum store_rc
store_login_seen(struct store *st, int64_t user_id, const char *addr, const unsigned char ua_hash[CRYPTO_SHA256_LEN], int64_t now, int64_t since, int *notify)
{
	return st->engine->login_seen(st, user_id, addr, ua_hash, now, since, notify);
}

enum store_rc
store_login_seen_purge(struct store *st, int64_t before, int64_t *count)
{
	return st->engine->login_seen_purge(st, before, count);
}

enum store_rc
store_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now)
{
	return st->engine->outbox_add(st, recipient, message, now);
}

enum store_rc
store_outbox_claim(struct store *st, int64_t now, int64_t lease_until,
    struct store_mail *m)
{
	return st->engine->outbox_claim(st, now, lease_until, m);
}

enum store_rc
store_outbox_sent(struct store *st, int64_t id, int64_t now)
{
	return st->engine->outbox_sent(st, id, now);
}

enum store_rc
store_outbox_failed(struct store *st, int64_t id, int64_t next_try, const char *error)
{
	return st->engine->outbox_failed(st, id, next_try, error);
}

enum store_rc
store_outbox_count(struct store *st, int64_t *pending)
{
	return st->engine->outbox_count(st, pending);
}

enum store_rc
store_token_add(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id, const char *name, int64_t now, int64_t expires, const unsigned char *session, int64_t max, int64_t *id)
{
	return st->engine->token_add(st, hash, user_id, name, now, expires, session, max, id);
}

enum store_rc
store_token_get(struct store *st, const unsigned char hash[CRYPTO_SHA256_LEN], struct session *se)
{
	return st->engine->token_get(st, hash, se);
}

enum store_rc
store_token_touch(struct store *st, int64_t id, int64_t old, int64_t now)
{
	return st->engine->token_touch(st, id, old, now);
}

enum store_rc
store_token_each(struct store *st, int64_t user_id, store_token_cb cb, void *arg)
{
	return st->engine->token_each(st, user_id, cb, arg);
}

enum store_rc
store_token_hashes(struct store *st, int64_t user_id, store_session_cb cb, void *arg)
{
	return st->engine->token_hashes(st, user_id, cb, arg);
}

enum store_rc
store_token_del(struct store *st, int64_t id, int64_t user_id, unsigned char hash[CRYPTO_SHA256_LEN], int64_t *owner)
{
	return st->engine->token_del(st, id, user_id, hash, owner);
}

enum store_rc
store_token_purge(struct store *st, int64_t now, int64_t *count)
{
	return st->engine->token_purge(st, now, count);
}

enum store_rc
store_attempts_purge(struct store *st, int64_t before, int64_t *count)
{
	return st->engine->attempts_purge(st, before, count);
}

int
store_listen(struct store *st)
{
	return st->engine->listen(st);
}

enum store_rc
store_listen_read(struct store *st, store_item_cb cb, void *arg)
{
	return st->engine->listen_read(st, cb, arg);
}

int
store_probe_send(struct store *st)
{
	return st->engine->probe_send(st);
}

int
store_probe_done(struct store *st)
{
	return st->engine->probe_done(st);
}

enum store_rc
store_namespace_get(struct store *st, uint64_t *ns)
{
	return st->engine->namespace_get(st, ns);
}

enum store_rc
store_namespace_bump(struct store *st, uint64_t *ns)
{
	return st->engine->namespace_bump(st, ns);
}

enum store_rc
store_host_beat(struct store *st, const struct store_host *h)
{
	return st->engine->host_beat(st, h);
}

enum store_rc
store_host_each(struct store *st, int64_t since, store_host_cb cb, void *arg)
{
	return st->engine->host_each(st, since, cb, arg);
}

enum store_rc
store_totp_get(struct store *st, int64_t user_id, struct store_totp *t)
{
	return st->engine->totp_get(st, user_id, t);
}

int
store_totp_pending_fresh(const struct store_totp *t, int64_t now)
{
	return t->pending_len > 0 && t->pending_gen == t->gen &&
	    t->pending_created > now - STORE_TOTP_PENDING_TTL;
}

enum store_rc
store_totp_pending_put(struct store *st, int64_t user_id,
    const unsigned char *sealed, size_t len, int64_t now)
{
	return st->engine->totp_pending_put(st, user_id, sealed, len, now);
}

enum store_rc
store_totp_enable(struct store *st, int64_t user_id,
    const unsigned char *pending, size_t len, int64_t now, int64_t step,
    int64_t factor, const unsigned char (*codes)[CRYPTO_SHA256_LEN],
    size_t n, const unsigned char *keep, store_session_cb ended, void *arg)
{
	if (factor == 0)
		return STORE_ERROR;
	return st->engine->totp_enable(st, user_id, pending, len, now, step,
	    factor, codes, n, keep, ended, arg);
}

enum store_rc
store_totp_remove(struct store *st, int64_t user_id)
{
	return st->engine->totp_remove(st, user_id);
}

enum store_rc
store_totp_login(struct store *st, int64_t user_id, int64_t gen,
    int64_t factor, const unsigned char nonce[STORE_TOTP_NONCE_LEN],
    int64_t expires, int64_t step, const unsigned char *recovery)
{
	return st->engine->totp_login(st, user_id, gen, factor, nonce,
	    expires, step, recovery);
}

enum store_rc
store_totp_count(struct store *st, int64_t *count)
{
	return st->engine->totp_count(st, count);
}

enum store_rc
store_totp_purge(struct store *st, int64_t now, int64_t *count)
{
	return st->engine->totp_purge(st, now, count);
}
