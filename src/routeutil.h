/* Helpers shared by the route groups (routes_*.c). */
#ifndef AUTHGW_ROUTEUTIL_H
#define AUTHGW_ROUTEUTIL_H

#include "ratelimit.h"
#include "session.h"
#include "store.h"
#include "util.h"

struct app;
struct request;
struct response;

/* 1 for a browser: HTML asked for (Accept: text/html), JSON not (no
 * Accept: application/json, no JSON body). */
int		 routeutil_wants_html(const struct request *);

/* 1 if the request is a passive one (SPEC 5): "X-Auth-Passive: 1". */
int		 routeutil_is_passive(const struct request *);

/*
 * The request's session from its cookie (for every route that needs one):
 * the first cookie named cookie_name; no Authorization header is read.
 * fresh bypasses any cache (and renews when due); otherwise a request with
 * "X-Auth-Passive: 1" is a passive check, never extending the session.
 * Returns SESSION_OK, SESSION_NONE (no, bad or dead cookie) or
 * SESSION_ERROR (storage unusable). hash may be NULL.
 */
enum session_rc	 routeutil_session_load(struct app *, const struct request *,
		    int fresh, struct session *, enum session_source *,
		    unsigned char *hash);

/* The two counters of a rate-limited request and their keys. */
struct routeutil_limit {
	struct store_attempt	 a[2];	/* [0] account, [1] client address */
	char			 acct[UTIL_EMAIL_MAX + 1];
	char			 addr[RATELIMIT_KEY_MAX];
};

/*
 * Take one attempt on the account and client-address counters of kinds
 * acct_kind/addr_kind with the login limits and window. Returns 0 (ids in
 * rl->a); or -1 after answering 429 with Retry-After, or 503.
 */
int	routeutil_ratelimit(struct app *, struct request *, struct response *,
	    struct store *, int acct_kind, int addr_kind, const char *email,
	    struct routeutil_limit *rl);

/*
 * A page from message.html with a sign-in link; offer_resend adds the form
 * asking for a new verification link (email prefilled, may be NULL).
 */
/*
 * The request's session (fresh: from the store, as /refresh reads it)
 * into se and its token hash into hash (may be NULL): 0. Otherwise -1
 * after answering 503, or without a session 401, or with redirect a 303
 * to the login page with next= prefix + back.
 */
int	routeutil_session_or_login(struct app *, struct request *,
	    struct response *, int fresh, int redirect, const char *back,
	    struct session *se, unsigned char *hash);

/*
 * A page of www_dir (name) with vars, status given. vars[0] and vars[1]
 * are filled in here: the form's CSRF token and the prefix.
 */
struct tvar;
void	routeutil_form_page(struct app *, struct request *, struct response *,
	    const char *name, int status, struct tvar *vars, size_t nvars);

void	routeutil_message_page(struct app *, struct request *,
	    struct response *, int status, const char *title, const char *message,
	    int offer_resend, const char *email);

struct hashslot_ticket;

/*
 * A password-hashing slot for this request (app_hash_acquire): 0 with it
 * held in *t (give it back with app_hash_release), or -1 after answering
 * 503 with Retry-After: 1, counting hash_busy and forgetting the attempts
 * rl recorded (may be NULL): a refusal for want of a slot is no attempt.
 */
int	routeutil_hash_begin(struct app *, struct request *, struct response *,
	    struct store *, const struct routeutil_limit *rl,
	    struct hashslot_ticket *t);

/*
 * The session cookie of a login: value for max_age seconds (value "" and
 * max_age 0 expire it). HttpOnly, SameSite=Lax, Secure and Domain as
 * configured.
 */
void	routeutil_session_cookie(struct app *, struct response *,
	    const char *value, int64_t max_age);

/* 200 with the user and the session as JSON, the answer of GET /session
 * and of a JSON login: {"user":{...},"session":{...}}. */
void	routeutil_session_json(struct response *, const struct session *);

/* Forget the failed logins counted against the account email. */
void	routeutil_account_clear(struct store *, const char *email);

/*
 * notify_login: record this login of u (client address and user agent)
 * and, when that pair was not seen for the user in 90 days (and the user
 * was seen before), queue the "new sign-in" mail with it. Failures are
 * logged; the login goes on.
 */
void	routeutil_login_notice(struct app *, const struct request *,
	    struct store *, const struct user *u);

/* The login page URL with next= (absolute, from base_url) into out. */
int	routeutil_login_url(struct app *, const char *next, struct buf *out);

#endif
