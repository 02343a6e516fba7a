/*
 * API tokens (SPEC 5): "agw_" + base64url of 32 random bytes, for scripts
 * and clients that speak HTTP Basic or Bearer. Stored only as the SHA-256
 * of that whole text; checked like a session (session_check with
 * SESSION_CHECK_TOKEN: the same cache tiers, the same coherence); ended
 * at once by revocation, by disabling or deleting the user, and by a
 * reset of the password.
 */
#ifndef AUTHGW_APITOKEN_H
#define AUTHGW_APITOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "session.h"

#define APITOKEN_RAW_LEN	32
#define APITOKEN_TEXT_LEN	(4 + TOKEN_TEXT_LEN(APITOKEN_RAW_LEN))
#define APITOKEN_PER_USER_MAX	100	/* a user's tokens at most */
#define APITOKEN_TTL_MAX	(10LL * 365 * 86400)	/* expiry, seconds */

struct app;

/*
 * The hash of a token given as text (untrusted, len bytes, the "agw_"
 * prefix included). Returns 0, or -1 when it is not a token's form.
 */
int	apitoken_hash(const char *text, size_t len,
	    unsigned char hash[CRYPTO_SHA256_LEN]);

/* 1 if (p, len) may name a token: 1..64 bytes, no control byte. */
int	apitoken_name_ok(const char *p, size_t len);

/*
 * A new token for user_id named name, expiring expires_in seconds from
 * now (0: never). With session (a session's token hash), only while that
 * session exists (a reset racing the creation wins). text gets the token
 * (APITOKEN_TEXT_LEN + 1 bytes), shown once; *id its id. Returns what the
 * store answered (STORE_CONFLICT: the user holds APITOKEN_PER_USER_MAX).
 */
enum store_rc	 apitoken_create(struct app *, int64_t user_id,
		    const char *name, int64_t expires_in,
		    const unsigned char *session, char *text, size_t textsz,
		    int64_t *id);

/*
 * Revoke token id (of user_id, if > 0), in the store then every cache
 * tier. SESSION_NONE when there is no such token (or it is another's).
 */
enum session_rc	 apitoken_revoke(struct app *, int64_t id, int64_t user_id);


#endif
