#include <string.h>

#include "app.h"
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
	unsigned char	 token[SESSION_TOKEN_LEN];

	if (len != SESSION_COOKIE_LEN ||
	    crypto_b64url_decode(val, len, token, sizeof(token)) !=
	    SESSION_TOKEN_LEN)
		return -1;
	crypto_sha256(token, sizeof(token), hash);
	crypto_cleanse(token, sizeof(token));
	return 0;
}

enum session_rc
session_create(struct app *app, const struct user *u, const char *ip,
    const char *ua, char *cookie, size_t cookiesz, struct session *out)
{
	unsigned char	 token[SESSION_TOKEN_LEN], pub[16];
	struct store	*st;
	enum session_rc	 rc = SESSION_ERROR;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	memset(out, 0, sizeof(*out));
	if (crypto_random(token, sizeof(token)) == -1 ||
	    crypto_random(pub, sizeof(pub)) == -1)
		goto out;
	if (crypto_b64url_encode(token, sizeof(token), cookie, cookiesz) !=
	    SESSION_COOKIE_LEN ||
	    crypto_b64url_encode(pub, sizeof(pub), out->public_id,
	    sizeof(out->public_id)) != STORE_PUBLIC_ID_LEN)
		goto out;
	crypto_sha256(token, sizeof(token), out->token_hash);
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
	crypto_cleanse(token, sizeof(token));
	if (rc != SESSION_OK)
		crypto_cleanse(cookie, cookiesz);
	return rc;
}

enum session_rc
session_check(struct app *app, const unsigned char hash[CRYPTO_SHA256_LEN],
    int fresh, struct session *out, enum session_source *src)
{
	struct store	*st;
	int64_t		 now = util_now(), next;

	(void)fresh;	/* no cache tier yet: every check reads SQLite */
	*src = SOURCE_DB;
	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	switch (store_session_get(st, hash, out)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		stats_inc(app->stats, STAT_STORE_ERRORS);
		return SESSION_ERROR;
	}
	if (out->user.disabled ||
	    !policy_alive(&app->policy, now, out->created, out->expires))
		return SESSION_NONE;
	next = policy_extend(&app->policy, now, out->created, out->expires);
	if (next == 0)
		return SESSION_OK;
	switch (store_session_extend(st, out->id, out->expires, next, now)) {
	case STORE_OK:
		stats_inc(app->stats, STAT_SESSIONS_EXTENDED);
		out->expires = next;
		out->last_seen = now;
		break;
	case STORE_CONFLICT:
		/* Another worker extended it first: reread its times. */
		if (store_session_get(st, hash, out) != STORE_OK)
			return SESSION_NONE;
		break;
	default:
		/* The session is valid; a failed extension is retried later. */
		log_warn("session extension failed");
		break;
	}
	return SESSION_OK;
}

enum session_rc
session_end(struct app *app, const unsigned char hash[CRYPTO_SHA256_LEN])
{
	struct store	*st;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	switch (store_session_del_hash(st, hash)) {
	case STORE_OK:
		stats_inc(app->stats, STAT_LOGOUTS);
		return SESSION_OK;
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		return SESSION_ERROR;
	}
}

enum session_rc
session_end_user(struct app *app, int64_t user_id)
{
	struct store	*st;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	return store_session_del_user(st, user_id) == STORE_OK ? SESSION_OK :
	    SESSION_ERROR;
}
