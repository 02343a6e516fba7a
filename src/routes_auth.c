/* Login, logout, refresh and the session as JSON. */
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "csrf.h"
#include "hashslot.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mfa.h"
#include "parse.h"
#include "password.h"
#include "ratelimit.h"
#include "routes.h"
#include "seclog.h"
#include "routeutil.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define LOGIN_FAILED	"wrong email or password"
#define LOGIN_CODE_WRONG	"wrong code"
#define LOGIN_AGAIN	"this sign-in expired or was already used: sign in again"

/* The login page with an error message, status given. */
static void
login_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *error, const char *email, const char *next)
{
	char		 token[CSRF_TOKEN_MAX], reg[300] = "";
	struct tvar	 vars[6];

	if (csrf_token(app, req, resp, token, sizeof(token)) == -1) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if (next == NULL || !parse_next_is_safe(next, strlen(next)))
		next = "/";
	vars[0] = (struct tvar){ .name = "prefix", .value = app->cfg->prefix };
	vars[1] = (struct tvar){ .name = "csrf", .value = token };
	vars[2] = (struct tvar){ .name = "next", .value = next };
	vars[3] = (struct tvar){ .name = "error", .value = error };
	vars[4] = (struct tvar){ .name = "email", .value = email };
	/* The link to the sign-up form, only while registration is open. */
	if (app->cfg->registration)
		(void)snprintf(reg, sizeof(reg), "%s/register",
		    app->cfg->prefix);
	vars[5] = (struct tvar){ .name = "register", .value = reg };
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	if (template_render(app->cfg->www_dir, "login.html", vars, 6,
	    &resp->body) == -1) {
		log_error("cannot render %s/login.html", app->cfg->www_dir);
		http_resp_text(resp, 500, "text/plain; charset=utf-8",
		    "login page template missing\n");
	}
}

void
route_login_get(struct app *app, struct request *req, struct response *resp)
{
	login_page(app, req, resp, 200, NULL, NULL,
	    fields_get_text(&req->qs, "next"));
}

/* A failed login: 401/403 as JSON or the form again. */
static void
login_refuse(struct app *app, struct request *req, struct response *resp,
    int status, const char *why, const char *email, const char *next)
{
	if (req->wants_json)
		http_resp_error(req, resp, status, why);
	else
		login_page(app, req, resp, status, why, email, next);
}

/* Verify the password; 1 ok, 0 wrong, -1 storage error. Rehashes. */
static int
login_verify(struct app *app, struct store *st, const char *email,
    const char *pw, size_t pwlen, struct user *u)
{
	char	 newhash[PASSWORD_HASH_MAX];

	switch (store_user_get_email(st, email, u)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		password_dummy_verify(pw, pwlen, &app->pwparams);
		return 0;
	default:
		return -1;
	}
	if (password_verify(pw, pwlen, u->pwhash) != 1)
		return 0;
	if (password_needs_rehash(u->pwhash, &app->pwparams) &&
	    password_hash(pw, pwlen, &app->pwparams, newhash,
	    sizeof(newhash)) == 0) {
		if (store_user_rehash(st, u->id, u->gen, newhash) == STORE_OK)
			log_info("user %lld: password rehashed", (long long)u->id);
		crypto_cleanse(newhash, sizeof(newhash));
	}
	return u->disabled ? 0 : 1;
}

/* A failed login: counted, and a line of the security log. */
static void
login_failed(struct app *app, const struct request *req, const char *email)
{
	stats_inc(app->stats, STAT_LOGINS_FAILED);
	seclog(SECLOG_LOGIN_FAILED, req->remote_addr, email, req->route);
}

/* 403 for an unverified address: JSON, or a page offering a new link. */
static void
login_unverified(struct app *app, struct request *req, struct response *resp,
    const char *email)
{
	if (req->wants_json)
		http_resp_error(req, resp, 403, "this email address is not "
		    "verified yet: follow the link in the mail we sent");
	else
		routeutil_message_page(app, req, resp, 403,
		    "Confirm your address first", "This email address is not "
		    "verified yet: follow the link in the mail we sent, or ask "
		    "for a new one.", 1, email);
}

/* The cookie, and 200 JSON or 303 to next (same-site paths only). */
static void
login_success(struct app *app, struct request *req, struct response *resp,
    const struct session *se, const char *cookie, const char *next)
{
	routeutil_session_cookie(app, resp, cookie,
	    app->cfg->session_max_lifetime);
	if (req->wants_json) {
		routeutil_session_json(resp, se);
		return;
	}
	if (next == NULL || !parse_next_is_safe(next, strlen(next)))
		next = "/";
	http_resp_header(resp, "Location", "%s", next);
	resp->status = 303;
}

/*
 * The code form of a pending login (SPEC 9): 200 for the right password,
 * 401 again after a wrong code. No session, no cookie.
 */
static void
login_code_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *error, const char *pending, const char *next)
{
	struct tvar	 vars[5];

	if (next == NULL || !parse_next_is_safe(next, strlen(next)))
		next = "/";
	vars[2] = (struct tvar){ .name = "error", .value = error };
	vars[3] = (struct tvar){ .name = "pending", .value = pending };
	vars[4] = (struct tvar){ .name = "next", .value = next };
	routeutil_form_page(app, req, resp, "totp_login.html", status, vars, 5);
}

/* A right password of an account with the second factor on: a pending
 * login instead of a session. */
static void
login_pending(struct app *app, struct request *req, struct response *resp,
    const struct user *u, int64_t factor, const char *next)
{
	char		 pending[TOTP_PENDING_TEXT_MAX];
	struct jobj	*j;

	if (mfa_pending_issue(app, u, factor, req->now, pending,
	    sizeof(pending)) != MFA_OK) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if (!req->wants_json) {
		login_code_page(app, req, resp, 200, NULL, pending, next);
		return;
	}
	j = jobj_new();
	jobj_str(j, "error", "totp_required");
	jobj_str(j, "pending", pending);
	resp->status = 401;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (jobj_finish(j, &resp->body) == -1)
		http_resp_error(req, resp, 500, "out of memory");
}

/* A refused code step: the code form again (a wrong code, the same
 * pending login), or the login form (sign in again). */
static void
login_code_refuse(struct app *app, struct request *req, struct response *resp,
    int status, const char *why, const char *pending, const char *next)
{
	if (req->wants_json)
		http_resp_error(req, resp, status, why);
	else if (pending != NULL)
		login_code_page(app, req, resp, status, why, pending, next);
	else
		login_page(app, req, resp, status, why, NULL, next);
}

/* The session of a completed second factor; the count cleared. */
static void
login_code_done(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct user *u, const struct routeutil_limit *rl,
    const char *next)
{
	char		 cookie[SESSION_COOKIE_LEN + 1];
	struct session	 se;

	(void)store_attempt_del(st, rl->a[1].id);
	switch (session_create_mfa(app, u, 1, req->remote_addr,
	    req->user_agent, cookie, sizeof(cookie), &se)) {
	case SESSION_OK:
		break;
	case SESSION_NONE:
		login_failed(app, req, u->email);
		login_code_refuse(app, req, resp, 401, LOGIN_AGAIN, NULL, next);
		return;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	(void)store_attempts_clear(st, RL_LOGIN_ACCOUNT, rl->acct);
	stats_inc(app->stats, STAT_LOGINS_OK);
	routeutil_login_notice(app, req, st, u);
	login_success(app, req, resp, &se, cookie, next);
	crypto_cleanse(cookie, sizeof(cookie));
}

/*
 * POST /login with pending and code (SPEC 9). A malformed code (neither 6
 * digits nor a recovery code) is a 400 that tests nothing and counts
 * nothing; a bad, expired or used pending login is a 401 (sign in again);
 * a wrong code is a failed login attempt of the account and the address,
 * under the login limits.
 */
static void
login_code(struct app *app, struct request *req, struct response *resp,
    const char *pending, size_t plen)
{
	const char		*next = fields_get_text(&req->form, "next");
	const char		*given;
	char			 code[TOTP_RECOVERY_CHARS + 1];
	struct totp_pending	 p;
	struct routeutil_limit	 rl;
	struct store		*st;
	struct user		 u;
	enum totp_code_kind	 kind;
	enum mfa_rc		 rc;
	size_t			 clen;

	switch (mfa_pending_read(app, pending, plen, req->now, &p)) {
	case MFA_OK:
		break;
	case MFA_NONE:
		login_code_refuse(app, req, resp, 401, LOGIN_AGAIN, NULL, next);
		return;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if ((given = fields_get(&req->form, "code", &clen)) == NULL ||
	    (kind = totp_code_kind(given, clen, code, sizeof(code))) ==
	    TOTP_CODE_BAD) {
		login_code_refuse(app, req, resp, 400, "code: the 6 digits of "
		    "your authenticator app, or a recovery code", pending, next);
		return;
	}
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if (routeutil_ratelimit(app, req, resp, st, RL_LOGIN_ACCOUNT,
	    RL_LOGIN_ADDR, p.email, &rl) == -1) {
		if (resp->status == 429)
			stats_inc(app->stats, STAT_LOGINS_RATE_LIMITED);
		return;
	}
	switch (store_user_get_email(st, p.email, &u)) {
	case STORE_OK:
		crypto_cleanse(u.pwhash, sizeof(u.pwhash));
		rc = u.disabled ? MFA_STALE : mfa_login_code(app, &p, &u, kind,
		    code, req->now);
		break;
	case STORE_NOTFOUND:
		rc = MFA_STALE;
		break;
	default:
		rc = MFA_ERROR;
	}
	crypto_cleanse(code, sizeof(code));
	switch (rc) {
	case MFA_OK:
		login_code_done(app, req, resp, st, &u, &rl, next);
		return;
	case MFA_WRONG:
		login_failed(app, req, p.email);
		login_code_refuse(app, req, resp, 401, LOGIN_CODE_WRONG,
		    pending, next);
		return;
	case MFA_USED:
	case MFA_STALE:
		login_failed(app, req, p.email);
		login_code_refuse(app, req, resp, 401, LOGIN_AGAIN, NULL, next);
		return;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
	}
}

void
route_login_post(struct app *app, struct request *req, struct response *resp)
{
	const char	*given = fields_get_text(&req->form, "email");
	const char	*next = fields_get_text(&req->form, "next");
	const char	*pw, *pending;
	char		 email[UTIL_EMAIL_MAX + 1];
	char		 cookie[SESSION_COOKIE_LEN + 1];
	struct store	*st;
	struct user	 u;
	struct session	 se;
	struct routeutil_limit rl;
	struct hashslot_ticket t;
	int64_t		 factor = 0;
	size_t		 pwlen, plen;
	int		 ok;

	/* The second step of a login with the second factor. */
	if ((pending = fields_get(&req->form, "pending", &plen)) != NULL) {
		login_code(app, req, resp, pending, plen);
		return;
	}
	pw = fields_get(&req->form, "password", &pwlen);
	if (given == NULL || given[0] == '\0' || pw == NULL || pwlen == 0) {
		http_resp_error(req, resp, 400, "email and password are required");
		return;
	}
	/* Syntax only: says nothing about whether the account exists. */
	if (util_email_normalize(given, email, sizeof(email)) == -1) {
		http_resp_error(req, resp, 400, "not a valid email address");
		return;
	}
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	/* Refused before any hashing: a flood costs a count query. */
	if (routeutil_ratelimit(app, req, resp, st, RL_LOGIN_ACCOUNT,
	    RL_LOGIN_ADDR, email, &rl) == -1) {
		if (resp->status == 429)
			stats_inc(app->stats, STAT_LOGINS_RATE_LIMITED);
		return;
	}
	if (routeutil_hash_begin(app, req, resp, st, &rl, &t) == -1)
		return;
	ok = login_verify(app, st, email, pw, pwlen, &u);
	app_hash_release(app, &t);
	if (ok == -1) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if (ok == 0) {
		login_failed(app, req, email);
		login_refuse(app, req, resp, 401, LOGIN_FAILED, email, next);
		return;
	}
	crypto_cleanse(u.pwhash, sizeof(u.pwhash));
	/* Unverified: a failed attempt like any other (SPEC 5), so that
	 * right-password logins of an unverified account stay limited. */
	if (app->cfg->require_verified_email && !u.verified) {
		login_failed(app, req, email);
		login_unverified(app, req, resp, email);
		return;
	}
	/* The second factor on: the right password is not a failed
	 * attempt, and does not clear the count either (only the code
	 * does: SPEC 9), so the codes are guessed under the limits. */
	switch (mfa_is_on(app, u.id, &factor)) {
	case 0:
		break;
	case 1:
		(void)store_attempt_del(st, rl.a[0].id);
		(void)store_attempt_del(st, rl.a[1].id);
		login_pending(app, req, resp, &u, factor, next);
		return;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	/* The right password: this attempt does not count, and a success
	 * clears the account's count. */
	(void)store_attempt_del(st, rl.a[1].id);
	switch (session_create(app, &u, req->remote_addr, req->user_agent,
	    cookie, sizeof(cookie), &se)) {
	case SESSION_OK:
		break;
	case SESSION_NONE:
		/* The password changed (or the account was disabled) while
		 * this one was being checked: it no longer signs in. */
		login_failed(app, req, email);
		login_refuse(app, req, resp, 401, LOGIN_FAILED, email, next);
		return;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	(void)store_attempts_clear(st, RL_LOGIN_ACCOUNT, rl.acct);
	stats_inc(app->stats, STAT_LOGINS_OK);
	routeutil_login_notice(app, req, st, &u);
	login_success(app, req, resp, &se, cookie, next);
	crypto_cleanse(cookie, sizeof(cookie));
}

/* The session as JSON; fresh bypasses the cache (/refresh). */
static void
session_answer(struct app *app, struct request *req, struct response *resp,
    int fresh)
{
	struct session		 se;
	enum session_source	 src;

	req->wants_json = 1;
	switch (routeutil_session_load(app, req, fresh, &se, &src, NULL)) {
	case SESSION_OK:
		routeutil_session_json(resp, &se);
		break;
	case SESSION_NONE:
		http_resp_error(req, resp, 401, "no valid session");
		break;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
	}
}

void
route_session(struct app *app, struct request *req, struct response *resp)
{
	session_answer(app, req, resp, 0);
}

void
route_refresh(struct app *app, struct request *req, struct response *resp)
{
	session_answer(app, req, resp, 1);
}

void
route_logout(struct app *app, struct request *req, struct response *resp)
{
	struct session		 se;
	enum session_source	 src;
	unsigned char		 hash[CRYPTO_SHA256_LEN];
	const char		*all = fields_get_text(&req->form, "all");
	enum session_rc		 rc;
	struct buf		 url = { 0 };

	rc = routeutil_session_load(app, req, 1, &se, &src, hash);
	if (rc == SESSION_OK) {
		if (all != NULL && (strcmp(all, "1") == 0 ||
		    strcmp(all, "true") == 0 || strcmp(all, "on") == 0))
			rc = session_end_user(app, se.user.id);
		else
			rc = session_end(app, hash);
		if (rc == SESSION_NONE)
			rc = SESSION_OK;	/* ended concurrently */
	}
	if (rc == SESSION_ERROR) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	/* Logged out either way: the cookie goes. */
	routeutil_session_cookie(app, resp, "", 0);
	if (req->wants_json) {
		http_resp_text(resp, 200, "application/json",
		    "{\"logged_out\":true}");
		return;
	}
	if (buf_printf(&url, "%s/login", app->cfg->prefix) == 0)
		http_resp_header(resp, "Location", "%s", url.data);
	buf_free(&url);
	resp->status = 303;
}
