#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cache.h"
#include "crypto.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "stats.h"
#include "util.h"

int
session_cookie_hash(const char *val, size_t len,
    unsigned char hash[CRYPTO_SHA256_LEN])
{
	return token_hash(val, len, SESSION_TOKEN_LEN, hash);
}

enum session_rc
session_create(struct app *app, const struct user *u, const char *ip,
    const char *ua, char *cookie, size_t cookiesz, struct session *out)
{
	unsigned char	 pub[16];
	struct store	*st;
	enum session_rc	 rc = SESSION_ERROR;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	memset(out, 0, sizeof(*out));
	if (token_new(SESSION_TOKEN_LEN, cookie, cookiesz,
	    out->token_hash) == -1 ||
	    crypto_random(pub, sizeof(pub)) == -1 ||
	    crypto_b64url_encode(pub, sizeof(pub), out->public_id,
	    sizeof(out->public_id)) != STORE_PUBLIC_ID_LEN)
		goto out;
	out->user = *u;
	out->user.pwhash[0] = '\0';
	out->created = out->last_seen = util_now();
	out->expires = policy_initial_expiry(&app->policy, out->created);
	(void)util_strlcpy(out->ip, ip, sizeof(out->ip));
	(void)util_strlcpy(out->user_agent, ua, sizeof(out->user_agent));
	if (store_session_add(st, out) != STORE_OK)
		goto out;
	stats_inc(app->stats, STAT_SESSIONS_CREATED);
	rc = SESSION_OK;
out:
	if (rc != SESSION_OK)
		crypto_cleanse(cookie, cookiesz);
	return rc;
}

/* Load from SQLite; *epoch is read first (see cache_put). */
static enum session_rc
session_load(struct app *app, struct store *st,
    const unsigned char hash[CRYPTO_SHA256_LEN], struct session *out)
{
	switch (store_session_get(st, hash, out)) {
	case STORE_OK:
		return SESSION_OK;
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		stats_inc(app->stats, STAT_STORE_ERRORS);
		return SESSION_ERROR;
	}
}

enum session_rc
session_check(struct app *app, const unsigned char hash[CRYPTO_SHA256_LEN],
    int fresh, struct session *out, enum session_source *src)
{
	struct cache	*cache = app_cache(app);
	struct store	*st = NULL;
	int64_t		 now = util_now(), next;
	uint64_t	 epoch = cache_epoch(cache);
	enum session_rc	 rc;

	*src = SOURCE_DB;
	if (!fresh && cache_get(cache, hash, now, epoch, out)) {
		*src = SOURCE_CACHE;
		stats_inc(app->stats, STAT_CACHE_HITS);
	} else {
		if (!fresh)
			stats_inc(app->stats, STAT_CACHE_MISSES);
		if ((st = app_store(app)) == NULL)
			return SESSION_ERROR;
		if ((rc = session_load(app, st, hash, out)) != SESSION_OK)
			return rc;
	}
	if (out->user.disabled ||
	    !policy_alive(&app->policy, now, out->created, out->expires))
		return SESSION_NONE;	/* dead rows go at the next purge */
	next = policy_extend(&app->policy, now, out->created, out->expires);
	if (next != 0) {
		if (st == NULL && (st = app_store(app)) == NULL)
			return SESSION_ERROR;
		switch (store_session_extend(st, out->id, out->expires, next,
		    now)) {
		case STORE_OK:
			stats_inc(app->stats, STAT_SESSIONS_EXTENDED);
			out->expires = next;
			out->last_seen = now;
			break;
		case STORE_CONFLICT:
			/* Extended (or ended) elsewhere: SQLite says which. */
			if ((rc = session_load(app, st, hash, out)) !=
			    SESSION_OK)
				return rc;
			*src = SOURCE_DB;
			break;
		default:
			/* Still valid; the extension is retried later. */
			log_warn("session extension failed");
			return SESSION_OK;
		}
	} else if (*src == SOURCE_CACHE)
		return SESSION_OK;
	cache_put(cache, out, now, epoch);
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
	/* After SQLite: a concurrent load cannot re-cache it (epoch). */
	if (cache_drop(app_cache(app), hash) == -1) {
		log_error("session ended in SQLite, but the host session "
		    "table is unreachable from this process: cached copies "
		    "elsewhere live up to cache_local_ttl");
		return SESSION_ERROR;
	}
	return rc;
}

struct hashes {
	unsigned char	(*h)[CRYPTO_SHA256_LEN];
	size_t		 n, cap;
};

static int
collect_hash(const struct session *se, void *arg)
{
	struct hashes	*hs = arg;
	void		*p;

	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 16;
		if ((p = realloc(hs->h, hs->cap * sizeof(*hs->h))) == NULL)
			return -1;
		hs->h = p;
	}
	memcpy(hs->h[hs->n++], se->token_hash, CRYPTO_SHA256_LEN);
	return 0;
}

enum session_rc
session_user_changed(struct app *app, int64_t user_id, int end_sessions)
{
	struct store	*st;
	struct hashes	 hs = { NULL, 0, 0 };
	enum session_rc	 rc = SESSION_ERROR;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	if (store_session_each(st, user_id, collect_hash, &hs) != STORE_OK)
		goto out;
	if (end_sessions && store_session_del_user(st, user_id) != STORE_OK)
		goto out;
	if (end_sessions)
		stats_add(app->stats, STAT_LOGOUTS, hs.n);
	if (cache_drop_user(app_cache(app), user_id,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])hs.h, hs.n) == -1) {
		log_error("user %lld changed in SQLite, but the host session "
		    "table is unreachable from this process: cached copies "
		    "elsewhere live up to cache_local_ttl", (long long)user_id);
		goto out;
	}
	rc = SESSION_OK;
out:
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
