/* API tokens: their form, creation and revocation (apitoken.h). */
#include <string.h>

#include "apitoken.h"
#include "app.h"
#include "cache.h"
#include "log.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define PREFIX		"agw_"
#define PREFIX_LEN	4

int
apitoken_hash(const char *text, size_t len,
    unsigned char hash[CRYPTO_SHA256_LEN])
{
	unsigned char	 raw[APITOKEN_RAW_LEN + 3];
	int		 n;

	if (len != APITOKEN_TEXT_LEN || memcmp(text, PREFIX, PREFIX_LEN) != 0)
		return -1;
	n = crypto_b64url_decode(text + PREFIX_LEN, len - PREFIX_LEN, raw,
	    sizeof(raw));
	crypto_cleanse(raw, sizeof(raw));
	if (n != APITOKEN_RAW_LEN)
		return -1;
	/* The whole text: a session cookie (32 raw bytes hashed) never
	 * lands on a token's hash, nor a token on a session's. */
	crypto_sha256(text, len, hash);
	return 0;
}

int
apitoken_name_ok(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || len > STORE_TOKEN_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

enum store_rc
apitoken_create(struct app *app, int64_t user_id, const char *name,
    int64_t expires_in, const unsigned char *session, char *text,
    size_t textsz, int64_t *id)
{
	struct store	*st;
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	int64_t		 now = util_now(), expires = 0;
	enum store_rc	 rc;

	if ((st = app_store(app)) == NULL)
		return STORE_ERROR;
	if (textsz <= APITOKEN_TEXT_LEN || expires_in < 0 ||
	    expires_in > INT64_MAX - now)
		return STORE_ERROR;
	if (expires_in > 0)
		expires = now + expires_in;
	memcpy(text, PREFIX, PREFIX_LEN);
	if (token_new(APITOKEN_RAW_LEN, text + PREFIX_LEN, textsz - PREFIX_LEN,
	    hash) == -1)
		return STORE_ERROR;
	crypto_sha256(text, APITOKEN_TEXT_LEN, hash);
	rc = store_token_add(st, hash, user_id, name, now, expires, session,
	    APITOKEN_PER_USER_MAX, id);
	if (rc != STORE_OK)
		crypto_cleanse(text, textsz);
	else
		log_info("user %lld: API token %lld created", (long long)user_id,
		    (long long)*id);
	return rc;
}

enum session_rc
apitoken_revoke(struct app *app, int64_t id, int64_t user_id)
{
	struct store	*st;
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	int64_t		 owner;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	/* Refused before the change when it could not reach every tier. */
	if (cache_reachable(app_cache(app)) == -1)
		return SESSION_ERROR;
	switch (store_token_del(st, id, user_id, hash, &owner)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		return SESSION_ERROR;
	}
	log_info("user %lld: API token %lld revoked", (long long)owner,
	    (long long)id);
	/* After the store: the generation moves past every load before. */
	if (cache_drop(app_cache(app), hash) == -1)
		return SESSION_ERROR;
	return SESSION_OK;
}
