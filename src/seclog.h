/*
 * The security log: one line per event a person or fail2ban acts on, in a
 * stable format (documented in authgw(8), "SECURITY LOG"):
 *
 *   authgw[PID]: warn: security: event=NAME client="ADDR" user="EMAIL" route="PATH"
 *
 * and for rate_limited one more field, limit="addr" (the client address's
 * own counter is full) or limit="account" (the account's is: filled by
 * whoever tried that account, so no evidence against this address).
 * NAME is one of the words below; ADDR is REMOTE_ADDR as the web server
 * gave it; a field not known is "-". The events a client can cause at no
 * cost (session_unknown, csrf_refused, hash_busy) are written at most
 * SECLOG_BURST times a second per process; the rest of that second is
 * counted and said in one line. Every value is escaped
 * (log_escape: bytes outside printable ASCII, '"' and '\' as \xNN), so a
 * client cannot forge a line or a field. No secret is ever written.
 */
#ifndef AUTHGW_SECLOG_H
#define AUTHGW_SECLOG_H

enum seclog_event {
	SECLOG_LOGIN_FAILED = 0,	/* bad credentials, 401 */
	SECLOG_RATE_LIMITED,		/* 429 */
	SECLOG_HASH_BUSY,		/* 503: no password-hashing slot */
	SECLOG_CSRF,			/* a form POST refused 403 */
	SECLOG_SESSION_UNKNOWN,		/* a well-formed cookie of no live session */
	SECLOG_RESET_REQUESTED,		/* POST /password/forgot (any address) */
	SECLOG_RESET_DONE,		/* a password set by a reset link */
	SECLOG_PASSWORD_CHANGED,	/* a password changed by its owner */
	SECLOG_TOKEN_REFUSED,		/* Authorization for authgw refused, 401 */
	SECLOG__COUNT
};

/* The event's name in the log ("login_failed", ...). */
const char	*seclog_name(enum seclog_event);

#define SECLOG_BURST	20	/* cheap events written per second and process */

/* Log one event. client, user and route may be NULL. */
void	 seclog(enum seclog_event, const char *client, const char *user,
	    const char *route);
/* A 429: by_addr says whether the client address's counter was full. */
void	 seclog_limited(const char *client, const char *user,
	    const char *route, int by_addr);

#endif
