#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cache.h"
#include "crypto.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "stats.h"
#include "token.h"
#include "util.h"

int
session_cookie_hash(const char *val, size_t len,
    unsigned char hash[CRYPTO_SHA256_LEN])
{
	return token_hash(val, len, SESSION_TOKEN_LEN, hash);
}

int
session_hashes_collect(const struct session *se, void *arg)
{
	struct session_hashes	*hs = arg;
	void			*p;

	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 16;
		if ((p = realloc(hs->h, hs->cap * sizeof(*hs->h))) == NULL) {
			hs->failed = 1;
			return -1;
		}
		hs->h = p;
	}
	memcpy(hs->h[hs->n++], se->token_hash, CRYPTO_SHA256_LEN);
	if (se->is_token)
		hs->tokens++;
	return 0;
}

int
session_hashes_drop(struct app *app, int64_t user_id,
    const struct session_hashes *hs)
{
	if (cache_drop_user(app_cache(app), user_id,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])hs->h, hs->n) == -1) {
		log_error("user %lld: sessions or API tokens changed in the "
		    "database, but the host session table is unreachable from "
		    "this process: other processes may still accept them",
		    (long long)user_id);
		return -1;
	}
	return 0;
}

/* A new session row for u, with its token in cookie. */
static int
session_new(struct app *app, const struct user *u, const char *ip,
    const char *ua, char *cookie, size_t cookiesz, struct session *out)
{
	unsigned char	 pub[16];

	memset(out, 0, sizeof(*out));
	if (token_new(SESSION_TOKEN_LEN, cookie, cookiesz,
	    out->token_hash) == -1 ||
	    crypto_random(pub, sizeof(pub)) == -1 ||
	    crypto_b64url_encode(pub, sizeof(pub), out->public_id,
	    sizeof(out->public_id)) != STORE_PUBLIC_ID_LEN)
		return -1;
	out->user = *u;
	out->user.pwhash[0] = '\0';
	out->created = out->last_seen = util_now();
	out->expires = policy_initial_expiry(&app->policy, out->created);
	(void)util_strlcpy(out->ip, ip, sizeof(out->ip));
	(void)util_strlcpy(out->user_agent, ua, sizeof(out->user_agent));
	return 0;
}

enum session_rc
session_create(struct app *app, const struct user *u, const char *ip,
    const char *ua, char *cookie, size_t cookiesz, struct session *out)
{
	return session_create_mfa(app, u, 0, ip, ua, cookie, cookiesz, out);
}

enum session_rc
session_create_mfa(struct app *app, const struct user *u, int mfa,
    const char *ip, const char *ua, char *cookie, size_t cookiesz,
    struct session *out)
{
	struct store	*st;
	struct session_hashes	 ended = SESSION_HASHES_INIT;
	enum session_rc	 rc = SESSION_ERROR;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	if (session_new(app, u, ip, ua, cookie, cookiesz, out) == -1)
		goto out;
	out->mfa = mfa != 0;
	switch (store_session_add(st, out, u->gen,
	    app->cfg->max_sessions_per_user, session_hashes_collect, &ended)) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		/* The password changed, the user was disabled or signed out
		 * everywhere since the password was read. */
		rc = SESSION_NONE;
		goto out;
	default:
		goto out;
	}
	stats_inc(app->stats, STAT_SESSIONS_CREATED);
	if (ended.n > 0) {
		log_info("user %lld: %zu least recently used session(s) ended "
		    "(max_sessions_per_user)", (long long)u->id, ended.n);
		stats_add(app->stats, STAT_LOGOUTS, ended.n);
		(void)session_hashes_drop(app, u->id, &ended);
	}
	rc = SESSION_OK;
out:
	free(ended.h);
	if (rc != SESSION_OK)
		crypto_cleanse(cookie, cookiesz);
	return rc;
}

/* Load from the store: a session, or with token an API token. */
static enum session_rc
session_load(struct app *app, struct store *st,
    const unsigned char hash[CRYPTO_SHA256_LEN], int token,
    struct session *out)
{
	switch (token ? store_token_get(st, hash, out) :
	    store_session_get(st, hash, out)) {
	case STORE_OK:
		return SESSION_OK;
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		stats_inc(app->stats, STAT_STORE_ERRORS);
		return SESSION_ERROR;
	}
}

void	(*session_test_refill_hook)(void *);
void	*session_test_refill_arg;

/* 1 if se (of either kind) is alive at now. */
static int
session_alive(const struct app *app, const struct session *se, int64_t now)
{
	if (se->user.disabled)
		return 0;
	if (se->is_token)
		return se->expires > now;
	return policy_alive(&app->policy, now, se->created, se->expires);
}

/*
 * An API token's last_used, written at most once per half lifetime (SPEC
 * 5): the new value, or 0 when it is not due.
 */
static int64_t
token_touch_due(const struct app *app, const struct session *se, int64_t now)
{
	return (now - se->last_seen) * 2 >= app->policy.lifetime ? now : 0;
}

/*
 * Renew se by extension when due (an API token: its last_used), and never
 * when passive. *put: se should be (re)cached.
 */
static enum session_rc
session_renew(struct app *app, struct store **st,
    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now, int passive,
    struct session *se, enum session_source *src, int *put)
{
	int64_t		 next;
	enum session_rc	 rc;
	enum store_rc	 wrc;

	*put = *src == SOURCE_DB;
	if (passive)
		return SESSION_OK;
	if (se->is_token)
		next = token_touch_due(app, se, now);
	else
		next = policy_extend(&app->policy, now, se->created,
		    se->expires);
	if (next == 0)
		return SESSION_OK;
	/* A cached session stays valid while the store is away: the
	 * extension is tried again by a later check. */
	if (*st == NULL && (*st = app_store(app)) == NULL) {
		*put = 0;
		return SESSION_OK;
	}
	if (se->is_token)
		wrc = store_token_touch(*st, se->id, se->last_seen, now);
	else
		wrc = store_session_extend(*st, se->id, se->expires, next, now);
	switch (wrc) {
	case STORE_OK:
		if (!se->is_token) {
			stats_inc(app->stats, STAT_SESSIONS_EXTENDED);
			se->expires = next;
		}
		se->last_seen = now;
		*put = 1;
		return SESSION_OK;
	case STORE_CONFLICT:
		/* Extended (or ended, or its user changed) elsewhere: the
		 * store says which, and its row is judged again. */
		if ((rc = session_load(app, *st, hash, se->is_token, se)) !=
		    SESSION_OK)
			return rc;
		*src = SOURCE_DB;
		if (!session_alive(app, se, now))
			return SESSION_NONE;
		*put = 1;
		return SESSION_OK;
	default:
		/* Still valid; the extension is retried later. */
		log_warn("session extension failed");
		*put = 0;
		return SESSION_OK;
	}
}

/*
 * The coherence rule (cache.h): the hash's generation is read before
 * anything about the session is, and everything cached here is cached
 * under it. An invalidation after that read moves the generation, so
 * whatever this check read before it is never accepted from a cache
 * afterwards; one before it is seen by every read that follows.
 */
enum session_rc
session_check(struct app *app, const unsigned char hash[CRYPTO_SHA256_LEN],
    int flags, struct session *out, enum session_source *src)
{
	return session_check_for(app, hash, flags, NULL, NULL, out, src);
}

enum session_rc
session_check_for(struct app *app, const unsigned char hash[CRYPTO_SHA256_LEN],
    int flags, session_accept_fn accept, void *arg, struct session *out,
    enum session_source *src)
{
	struct cache	*cache = app_cache(app);
	struct store	*st = NULL;
	int64_t		 now = util_now();
	uint64_t	 gen = cache_gen(cache, hash);
	enum session_rc	 rc;
	int		 put, fresh = (flags & SESSION_CHECK_FRESH) != 0;
	int		 token = (flags & SESSION_CHECK_TOKEN) != 0;

	*src = SOURCE_DB;
	if (token)
		stats_inc(app->stats, STAT_TOKENS_CHECKED);
	/* An entry of the other kind is a miss (the hashes of the two kinds
	 * never meet, and the entry says which it is anyway). */
	if (!fresh && cache_get(cache, hash, now, out) &&
	    out->is_token == token) {
		*src = SOURCE_CACHE;
		stats_inc(app->stats, STAT_CACHE_HITS);
	} else {
		if (!fresh)
			stats_inc(app->stats, STAT_CACHE_MISSES);
		if ((st = app_store(app)) == NULL)
			return SESSION_ERROR;
		if ((rc = session_load(app, st, hash, token, out)) !=
		    SESSION_OK)
			return rc;
		if (session_test_refill_hook != NULL)
			session_test_refill_hook(session_test_refill_arg);
	}
	if (!session_alive(app, out, now))
		return SESSION_NONE;	/* dead rows go at the next purge */
	/* Refused by the caller: nothing written, nothing cached. */
	if (accept != NULL && !accept(out, arg))
		return SESSION_NONE;
	if ((rc = session_renew(app, &st, hash, now,
	    (flags & SESSION_CHECK_PASSIVE) != 0, out, src, &put)) !=
	    SESSION_OK)
		return rc;
	if (put)
		cache_put(cache, out, now, gen);
	return SESSION_OK;
}

enum session_rc
session_end(struct app *app, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	struct store	*st;
	enum session_rc	 rc;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	switch (store_session_del_hash(st, hash)) {
	case STORE_OK:
		stats_inc(app->stats, STAT_LOGOUTS);
		rc = SESSION_OK;
		break;
	case STORE_NOTFOUND:
		rc = SESSION_NONE;
		break;
	default:
		return SESSION_ERROR;
	}
	/* After the store: the generation moves past every load before. */
	if (cache_drop(app_cache(app), hash) == -1) {
		log_error("session ended in the database, but the host session "
		    "table is unreachable from this process: other processes "
		    "may still accept it");
		return SESSION_ERROR;
	}
	return rc;
}

enum session_rc
session_user_changed(struct app *app, int64_t user_id, int end_sessions)
{
	struct store	*st;
	struct session_hashes	 hs = SESSION_HASHES_INIT;
	enum store_rc	 src;
	enum session_rc	 rc = SESSION_ERROR;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	/* Collected with the change itself (or after it): every session
	 * that existed before the change is among them. */
	if (end_sessions)
		src = store_session_end_user(st, user_id, session_hashes_collect, &hs);
	else
		src = store_session_each(st, user_id, session_hashes_collect, &hs);
	if (src != STORE_OK || hs.failed)
		goto out;
	if (end_sessions)
		stats_add(app->stats, STAT_LOGOUTS, hs.n);
	/* Cached API tokens carry the role and flags too (the tokens stay:
	 * "log out everywhere" is for browsers). Collected after the change:
	 * a token loaded before it is among them. */
	if (store_token_hashes(st, user_id, session_hashes_collect, &hs) !=
	    STORE_OK || hs.failed) {
		/* The sessions changed (or ended) already: what was
		 * collected leaves every tier, and the answer is an error. */
		(void)session_hashes_drop(app, user_id, &hs);
		goto out;
	}
	if (session_hashes_drop(app, user_id, &hs) == -1)
		goto out;
	rc = SESSION_OK;
out:
	free(hs.h);
	return rc;
}

enum session_rc
session_user_delete(struct app *app, int64_t user_id)
{
	struct store	*st;
	struct session_hashes	 hs = SESSION_HASHES_INIT;
	enum session_rc	 rc = SESSION_ERROR;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	switch (store_user_del(st, user_id, session_hashes_collect, &hs)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		rc = SESSION_NONE;
		goto out;
	default:
		goto out;
	}
	stats_add(app->stats, STAT_LOGOUTS, hs.n - hs.tokens);
	if (session_hashes_drop(app, user_id, &hs) == 0)
		rc = SESSION_OK;
out:
	free(hs.h);
	return rc;
}

enum store_rc
session_password_set(struct app *app, const struct store_pwchange *p)
{
	struct store	*st;
	struct session_hashes	 hs = SESSION_HASHES_INIT;
	enum store_rc	 rc;

	if ((st = app_store(app)) == NULL)
		return STORE_ERROR;
	/* A change that could not end its sessions in the host table would
	 * answer success while other processes still accept them: refused
	 * before anything changes (503), as session_end would answer. */
	if (cache_reachable(app_cache(app)) == -1) {
		log_error("user %lld: password not changed: the host session "
		    "table is unreachable from this process",
		    (long long)p->user_id);
		return STORE_ERROR;
	}
	/* The hashes are collected in the unit of work that changes the
	 * password and moves the generation: a session created meanwhile is
	 * either among them or refused (session_create checks the gen). */
	if ((rc = store_password_set(st, p, session_hashes_collect, &hs)) == STORE_OK) {
		stats_add(app->stats, STAT_LOGOUTS, hs.n - hs.tokens);
		/* After the commit: the generations move past every load made
		 * before it. Reachable a moment ago; if not now, the change
		 * stands but the answer says storage trouble (503). */
		if (session_hashes_drop(app, p->user_id, &hs) == -1)
			rc = STORE_ERROR;
	}
	free(hs.h);
	return rc;
}

enum session_rc
session_end_user(struct app *app, int64_t user_id)
{
	return session_user_changed(app, user_id, 1);
}

enum session_rc
session_revoke(struct app *app, const char *public_id, int64_t user_id)
{
	struct store	*st;
	struct session	 se;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	switch (store_session_get_public(st, public_id, &se)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		return SESSION_ERROR;
	}
	if (user_id > 0 && se.user.id != user_id)
		return SESSION_NONE;	/* not yours: as if it did not exist */
	return session_end(app, se.token_hash);
}
