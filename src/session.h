/*
 * Sessions: creation at login, the check with renewal by extension, logout.
 * Speaks to the store; the pure rules are in policy.c.
 */
#ifndef AUTHGW_SESSION_H
#define AUTHGW_SESSION_H

#include <stddef.h>

#include "store.h"
#include "token.h"

#define SESSION_TOKEN_LEN	32			/* random bytes */
#define SESSION_COOKIE_LEN	TOKEN_TEXT_LEN(SESSION_TOKEN_LEN)

struct app;

enum session_rc {
	SESSION_ERROR = -1,	/* storage unusable: 503 */
	SESSION_OK = 0,
	SESSION_NONE = 1	/* no, malformed or dead token: 401 */
};

enum session_source {
	SOURCE_DB = 0,
	SOURCE_CACHE
};

/*
 * Decode a cookie value into the token's SHA-256. Returns 0, or -1 when it
 * is not a well-formed token (which is answered like no session).
 */
int	session_cookie_hash(const char *val, size_t len,
	    unsigned char hash[CRYPTO_SHA256_LEN]);

/*
 * Create a session for user; cookie gets the token (base64url,
 * SESSION_COOKIE_LEN + 1 bytes). The token itself is never stored. Only
 * while the user's generation is still user->gen (read with the password
 * hash) and the user is enabled: SESSION_NONE otherwise (a password change,
 * disabling or "log out everywhere" came during the login). A user over
 * max_sessions_per_user loses the least recently used session(s).
 */
enum session_rc	 session_create(struct app *, const struct user *,
		    const char *ip, const char *ua, char *cookie, size_t cookiesz,
		    struct session *out);
/* session_create for a login that passed the second factor too (mfa 1:
 * the session says so, SPEC 9). */
enum session_rc	 session_create_mfa(struct app *, const struct user *, int mfa,
		    const char *ip, const char *ua, char *cookie,
		    size_t cookiesz, struct session *out);

/* Flags of session_check. */
#define SESSION_CHECK_FRESH	0x01	/* bypass every cache (/refresh) */
#define SESSION_CHECK_PASSIVE	0x02	/* validate, never extend (SPEC 5) */
#define SESSION_CHECK_TOKEN	0x04	/* the hash is an API token's
					   (apitoken.h): its last_used is
					   what a check may write */

/*
 * Token hashes collected from the store (session_hashes_collect, a
 * store_session_cb) and dropped from every cache tier after the change
 * (session_hashes_drop: -1 when the host table is unreachable). tokens
 * counts the API tokens among them. Free h.
 */
struct session_hashes {
	unsigned char	(*h)[CRYPTO_SHA256_LEN];
	size_t		 n, cap, tokens;
	int		 failed;	/* one could not be kept */
};
#define SESSION_HASHES_INIT	{ NULL, 0, 0, 0, 0 }
int	session_hashes_collect(const struct session *, void *);
int	session_hashes_drop(struct app *, int64_t user_id,
	    const struct session_hashes *);

/*
 * Look up a live session by token hash and renew it by extension when due,
 * unless flags has SESSION_CHECK_PASSIVE (background polling: an idle user
 * with an open page still times out). Writes nothing for a dead token.
 */
enum session_rc	 session_check(struct app *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int flags,
		    struct session *out, enum session_source *src);

/*
 * session_check, with one more condition: accept(se, arg) is asked about
 * a live session (or token) before anything is written or cached, and
 * a 0 answers SESSION_NONE (e.g. the Basic user is not the token's).
 */
typedef int	(*session_accept_fn)(const struct session *, void *);
enum session_rc	 session_check_for(struct app *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int flags,
		    session_accept_fn accept, void *arg, struct session *out,
		    enum session_source *src);

/*
 * Test hook: called by session_check after it loaded a session from the
 * store and before it caches it, the critical point of a refill racing an
 * invalidation. NULL outside tests.
 */
extern void	(*session_test_refill_hook)(void *);
extern void	*session_test_refill_arg;

/* End one session by hash. */
enum session_rc	 session_end(struct app *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
/* End every session of a user (their API tokens stay). */
enum session_rc	 session_end_user(struct app *, int64_t user_id);
/*
 * A user's role, password or status changed: drop their cached sessions
 * and API tokens and, with end_sessions, end the sessions in the store
 * first (the tokens stay).
 */
enum session_rc	 session_user_changed(struct app *, int64_t user_id,
		    int end_sessions);
/*
 * Delete a user with every session of theirs, in one unit of work with
 * the collection of their hashes, then from every cache tier. SESSION_NONE
 * when there is no such user.
 */
enum session_rc	 session_user_delete(struct app *, int64_t user_id);
/*
 * A new password (store_password_set, whose callback this supplies), then
 * every session it ended dropped from every cache tier and counted as a
 * logout. Returns what the store answered.
 */
enum store_rc	 session_password_set(struct app *,
		    const struct store_pwchange *);
/* End the session with this public id (of user_id, if > 0). */
enum session_rc	 session_revoke(struct app *, const char *public_id,
		    int64_t user_id);

#endif
