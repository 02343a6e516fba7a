/* Registration and email verification: GET and POST /register, GET and
 * POST /verify, POST /verify/resend. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "csrf.h"
#include "hashslot.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mfa.h"
#include "mail.h"
#include "parse.h"
#include "password.h"
#include "ratelimit.h"
#include "routes.h"
#include "routeutil.h"
#include "seclog.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "token.h"
#include "util.h"

#define VERIFY_TOKEN_LEN	32	/* random bytes of a verification link */
#define VERIFY_WRONG_PASSWORD	"wrong password: enter the one you chose " \
				"for this account"

/* One answer whether or not the address exists: no enumeration. */
#define ACCEPTED_TEXT	"If this address can be used, a message with a " \
			"link is on its way. Check your mail."

/* 202 with the same body whatever happened. */
static void
accepted(struct app *app, struct request *req, struct response *resp)
{
	if (req->wants_json)
		http_resp_text(resp, 202, "application/json",
		    "{\"status\":\"accepted\",\"message\":\"" ACCEPTED_TEXT "\"}");
	else
		routeutil_message_page(app, req, resp, 202, "Check your mail",
		    ACCEPTED_TEXT, 0, NULL);
}

/*
 * Queue a verification link for (user_id, email) inside the caller's
 * transaction: a new token, stored hashed, and the message in the outbox.
 * pwhash ("" for none) is the password the link sets when it is used.
 */
static int
queue_verify(struct app *app, struct store *st, int64_t user_id,
    const char *email, const char *pwhash, int64_t now)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	char		 token[TOKEN_TEXT_LEN(VERIFY_TOKEN_LEN) + 1];
	struct buf	 link = { 0 }, msg = { 0 };
	int		 rc = -1;

	if (token_new(VERIFY_TOKEN_LEN, token, sizeof(token), hash) == -1)
		goto out;
	if (store_verify_add(st, hash, user_id, now,
	    now + app->cfg->verify_token_ttl, pwhash) != STORE_OK)
		goto out;
	if (buf_printf(&link, "%s%s/verify?token=%s", app->cfg->base_url,
	    app->cfg->prefix, token) == -1 ||
	    mail_compose(app->cfg, MAIL_VERIFY, email, link.data, now,
	    &msg) == -1 || store_outbox_add(st, email, msg.data, now) !=
	    STORE_OK)
		goto out;
	rc = 0;
out:
	crypto_cleanse(token, sizeof(token));
	if (link.data != NULL)
		crypto_cleanse(link.data, link.len);
	if (msg.data != NULL)
		crypto_cleanse(msg.data, msg.len);
	buf_free(&link);
	buf_free(&msg);
	return rc;
}

static int
queue_exists(struct app *app, struct store *st, const char *email,
    int64_t now)
{
	struct buf	 msg = { 0 };
	int		 rc;

	rc = mail_compose(app->cfg, MAIL_EXISTS, email, NULL, now, &msg) ==
	    0 && store_outbox_add(st, email, msg.data, now) == STORE_OK ?
	    0 : -1;
	buf_free(&msg);
	return rc;
}

/* The sign-up form, with an error (status) or without (200). */
static void
register_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *error)
{
	char		 token[CSRF_TOKEN_MAX];
	struct tvar	 vars[4];

	if (csrf_token(app, req, resp, token, sizeof(token)) == -1) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	vars[0] = (struct tvar){ .name = "prefix", .value = app->cfg->prefix };
	vars[1] = (struct tvar){ .name = "csrf", .value = token };
	vars[2] = (struct tvar){ .name = "error", .value = error };
	vars[3] = (struct tvar){ .name = "email",
	    .value = fields_get_text(&req->form, "email") };
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	if (template_render(app->cfg->www_dir, "register.html", vars, 4,
	    &resp->body) == -1)
		http_resp_error(req, resp, 500, "sign-up page template missing");
}

/* A refused sign-up: JSON, the form again (register), or a page. */
static void
register_refuse(struct app *app, struct request *req, struct response *resp,
    int status, const char *why, int form)
{
	if (form && !req->wants_json)
		register_page(app, req, resp, status, why);
	else
		http_resp_error(req, resp, status, why);
}

void
route_register_get(struct app *app, struct request *req, struct response *resp)
{
	if (!app->cfg->registration) {
		http_resp_error(req, resp, 403, "registration is closed");
		return;
	}
	register_page(app, req, resp, 200, NULL);
}

/* The validated, normalised email field; answers 400 and returns -1. */
static int
email_field(struct app *app, struct request *req, struct response *resp,
    char *out, size_t outsz, int form)
{
	const char	*e = fields_get_text(&req->form, "email");

	if (e == NULL || util_email_normalize(e, out, outsz) == -1) {
		register_refuse(app, req, resp, 400,
		    "a valid email address is required", form);
		return -1;
	}
	return 0;
}

/* Create the account or, for a taken address, mail its owner. */
static int
register_queue(struct app *app, struct store *st, const char *email,
    const char *pwhash, int64_t now)
{
	struct user	 u;
	int64_t		 uid;

	switch (store_user_get_email(st, email, &u)) {
	case STORE_NOTFOUND:
		if (store_user_add(st, email, pwhash, "user", 0, now, &uid) !=
		    STORE_OK)
			return -1;
		return queue_verify(app, st, uid, email, pwhash, now);
	case STORE_OK:
		crypto_cleanse(u.pwhash, sizeof(u.pwhash));
		/*
		 * Registered again before it was verified: the new password
		 * waits with its own link, and only the link the mailbox's
		 * owner uses decides (no pre-takeover by a first registrant).
		 */
		if (!u.verified)
			return queue_verify(app, st, u.id, u.email, pwhash,
			    now);
		return queue_exists(app, st, u.email, now);
	default:
		return -1;
	}
}

void
route_register(struct app *app, struct request *req, struct response *resp)
{
	char			 email[UTIL_EMAIL_MAX + 1];
	char			 hash[PASSWORD_HASH_MAX];
	const char		*pw;
	size_t			 pwlen;
	struct store		*st;
	struct routeutil_limit	 rl;
	struct hashslot_ticket	 t;
	int			 rc;

	if (!app->cfg->registration) {
		http_resp_error(req, resp, 403, "registration is closed");
		return;
	}
	if (email_field(app, req, resp, email, sizeof(email), 1) == -1)
		return;
	pw = fields_get(&req->form, "password", &pwlen);
	if (pw == NULL || pwlen < PASSWORD_MIN || pwlen > PASSWORD_MAX) {
		register_refuse(app, req, resp, 400,
		    "the password needs 8 to 1024 bytes", 1);
		return;
	}
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (routeutil_ratelimit(app, req, resp, st, RL_MAIL_ACCOUNT, RL_MAIL_ADDR,
	    email, &rl) == -1)
		return;
	if (routeutil_hash_begin(app, req, resp, st, &rl, &t) == -1)
		return;
	/* Hashed whether or not the address is taken: the same cost. */
	rc = password_hash(pw, pwlen, &app->pwparams, hash, sizeof(hash));
	app_hash_release(app, &t);
	if (rc == -1 || store_begin_key(st, email) != STORE_OK) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (register_queue(app, st, email, hash, req->now) == -1 ||
	    store_commit(st) != STORE_OK) {
		store_rollback(st);
		crypto_cleanse(hash, sizeof(hash));
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	crypto_cleanse(hash, sizeof(hash));
	stats_inc(app->stats, STAT_MAILS_QUEUED);
	accepted(app, req, resp);
}

/* 410 for a used, unknown or expired link: JSON, or a page offering a
 * new one. */
static void
verify_gone(struct app *app, struct request *req, struct response *resp)
{
	if (req->wants_json)
		http_resp_error(req, resp, 410, "this link is used, unknown or "
		    "expired: ask for a new one");
	else
		routeutil_message_page(app, req, resp, 410, "Link no longer valid",
		    "This link was already used, or it has expired. Enter "
		    "your address to get a new one.", 1, NULL);
}

/*
 * The link of the token text (p, len; p may be NULL), read without
 * writing anything: 0 with v filled (cleanse it), or -1 after answering
 * 410 (malformed, used, unknown or expired, or its account disabled: all
 * alike) or 503.
 */
static int
verify_lookup(struct app *app, struct request *req, struct response *resp,
    struct store *st, const char *p, size_t len, struct store_verify *v)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	enum store_rc	 rc = STORE_NOTFOUND;

	memset(v, 0, sizeof(*v));
	/* A malformed token is just another unknown one. */
	if (p != NULL && token_hash(p, len, VERIFY_TOKEN_LEN, hash) == 0) {
		rc = store_verify_find(st, hash, req->now, v);
		crypto_cleanse(hash, sizeof(hash));
	}
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERROR)
		http_resp_error(req, resp, 503, "storage unavailable");
	else
		verify_gone(app, req, resp);
	return -1;
}

/* The password a link asks for: its own, or else the account's. */
static const char *
verify_pwhash(const struct store_verify *v)
{
	return v->pwhash[0] != '\0' ? v->pwhash : v->user.pwhash;
}

/* The confirmation form of a valid link (token: its text), with an error
 * (status) or without (200). */
static void
verify_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *token, const char *email, const char *error)
{
	char		 csrf[CSRF_TOKEN_MAX];
	struct tvar	 vars[5];

	if (csrf_token(app, req, resp, csrf, sizeof(csrf)) == -1) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	vars[0] = (struct tvar){ .name = "prefix", .value = app->cfg->prefix };
	vars[1] = (struct tvar){ .name = "csrf", .value = csrf };
	vars[2] = (struct tvar){ .name = "token", .value = token };
	vars[3] = (struct tvar){ .name = "email", .value = email };
	vars[4] = (struct tvar){ .name = "error", .value = error };
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	if (template_render(app->cfg->www_dir, "verify.html", vars, 5,
	    &resp->body) == -1)
		http_resp_error(req, resp, 500,
		    "verification page template missing");
}

/*
 * GET /verify?token=T: the form asking for the password, for a valid
 * link. Changes nothing, so a mail scanner or link prefetcher opening the
 * link verifies nothing.
 */
static void
verify_get(struct app *app, struct request *req, struct response *resp)
{
	struct store_verify	 v;
	struct store		*st;
	const char		*t;
	size_t			 tlen;

	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	t = fields_get(&req->qs, "token", &tlen);
	if (verify_lookup(app, req, resp, st, t, tlen, &v) == -1)
		return;
	/* t is now a well-formed token: base64url text, no other byte. */
	if (req->wants_json)
		http_resp_text(resp, 200, "application/json",
		    "{\"valid\":true}");
	else
		verify_page(app, req, resp, 200, t, v.user.email, NULL);
	crypto_cleanse(&v, sizeof(v));
}

/* A wrong password: a failed login of the account (its attempts stay
 * counted); the link stays usable. */
static void
verify_refuse(struct app *app, struct request *req, struct response *resp,
    const struct store_verify *v, const char *token)
{
	stats_inc(app->stats, STAT_LOGINS_FAILED);
	seclog(SECLOG_LOGIN_FAILED, req->remote_addr, v->user.email,
	    req->route);
	if (req->wants_json)
		http_resp_error(req, resp, 401, VERIFY_WRONG_PASSWORD);
	else
		verify_page(app, req, resp, 401, token, v->user.email,
		    VERIFY_WRONG_PASSWORD);
}

/*
 * Check (pw, pwlen) against the password the link asks for, rate-limited
 * with the login counters of its account and client (rl) and in a hashing
 * slot. Returns 1 right, 0 wrong (the attempts stay recorded), or -1 after
 * answering 429 or 503.
 */
static int
verify_password(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct store_verify *v, const char *pw,
    size_t pwlen, struct routeutil_limit *rl)
{
	struct hashslot_ticket	 t;
	int			 ok;

	/* Refused before any hashing: a flood costs a count query. */
	if (routeutil_ratelimit(app, req, resp, st, RL_LOGIN_ACCOUNT,
	    RL_LOGIN_ADDR, v->user.email, rl) == -1) {
		if (resp->status == 429)
			stats_inc(app->stats, STAT_LOGINS_RATE_LIMITED);
		return -1;
	}
	if (routeutil_hash_begin(app, req, resp, st, rl, &t) == -1)
		return -1;
	ok = password_verify(pw, pwlen, verify_pwhash(v)) == 1;
	app_hash_release(app, &t);
	return ok;
}

/*
 * Sign the newly verified user in as a login does. The user is read again
 * (the link's password and the end of older sessions moved the
 * generation) and signed in only while the password is still the one just
 * checked; session_create refuses any change after that read.
 */
static void
verify_sign_in(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct store_verify *v,
    const struct routeutil_limit *rl)
{
	char		 cookie[SESSION_COOKIE_LEN + 1];
	struct user	 u;
	struct session	 se;
	enum session_rc	 rc = SESSION_NONE;
	int		 on;

	switch (store_user_get_email(st, v->user.email, &u)) {
	case STORE_OK:
		/* With the second factor on, the link signs no one in: the
		 * address is confirmed, and the login asks for the code. */
		if ((on = mfa_is_on(app, u.id, NULL)) == -1)
			rc = SESSION_ERROR;
		else if (!on && strcmp(u.pwhash, verify_pwhash(v)) == 0)
			rc = session_create(app, &u, req->remote_addr,
			    req->user_agent, cookie, sizeof(cookie), &se);
		crypto_cleanse(u.pwhash, sizeof(u.pwhash));
		break;
	case STORE_NOTFOUND:
		break;
	default:
		rc = SESSION_ERROR;
	}
	if (rc == SESSION_ERROR) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (rc == SESSION_NONE) {
		/* Disabled, or a new password, since the check. */
		http_resp_error(req, resp, 401, "address confirmed, but the "
		    "account changed meanwhile: sign in again");
		return;
	}
	(void)store_attempts_clear(st, RL_LOGIN_ACCOUNT, rl->acct);
	stats_inc(app->stats, STAT_LOGINS_OK);
	routeutil_session_cookie(app, resp, cookie,
	    app->cfg->session_max_lifetime);
	crypto_cleanse(cookie, sizeof(cookie));
	if (req->wants_json) {
		routeutil_session_json(resp, &se);
		return;
	}
	http_resp_header(resp, "Location", "%s/", app->cfg->base_url);
	resp->status = 303;
}

/* The right password: spend the link (single use), then sign in. */
static void
verify_use(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct store_verify *v,
    const struct routeutil_limit *rl)
{
	struct session_hashes	 ended = SESSION_HASHES_INIT;
	enum store_rc		 rc;

	/* The right password: this attempt does not count. */
	(void)store_attempt_del(st, rl->a[1].id);
	rc = store_verify_use(st, v, req->now, session_hashes_collect, &ended);
	/* API tokens a password set by the link ended, from every tier. */
	if (rc == STORE_OK && ended.n > 0)
		(void)session_hashes_drop(app, v->user.id, &ended);
	free(ended.h);
	switch (rc) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		verify_gone(app, req, resp);	/* used concurrently */
		return;
	case STORE_CONFLICT:
		/* A new password, "log out everywhere" or disabling came
		 * during the check: the right password was given, so this is
		 * no failed attempt; the link stays for another try. */
		(void)store_attempt_del(st, rl->a[0].id);
		http_resp_error(req, resp, 409, "the account changed while "
		    "this was checked: try again");
		return;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	log_info("user %lld verified their address", (long long)v->user.id);
	/* Cached sessions carry the verified flag; a password set by the
	 * link ends sessions made with an earlier one. */
	(void)session_user_changed(app, v->user.id, v->pwhash[0] != '\0');
	verify_sign_in(app, req, resp, st, v, rl);
}

/*
 * POST /verify: token and password (the one chosen at registration for
 * that link, or the account's for a link from /verify/resend). Marks the
 * address verified, spends the link and signs the user in.
 */
static void
verify_post(struct app *app, struct request *req, struct response *resp)
{
	struct store_verify	 v;
	struct routeutil_limit	 rl;
	struct store		*st;
	const char		*t, *pw;
	size_t			 tlen, pwlen;
	int			 ok;

	t = fields_get(&req->form, "token", &tlen);
	pw = fields_get(&req->form, "password", &pwlen);
	if (t == NULL || tlen == 0 || pw == NULL || pwlen == 0 ||
	    pwlen > PASSWORD_MAX) {
		http_resp_error(req, resp, 400,
		    "the token and the password are required");
		return;
	}
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (verify_lookup(app, req, resp, st, t, tlen, &v) == -1)
		return;
	/* t is now a well-formed token: base64url text, no other byte. */
	ok = verify_password(app, req, resp, st, &v, pw, pwlen, &rl);
	if (ok == 1)
		verify_use(app, req, resp, st, &v, &rl);
	else if (ok == 0)
		verify_refuse(app, req, resp, &v, t);
	crypto_cleanse(&v, sizeof(v));
}

/* /verify: GET (and HEAD) show the form, POST verifies. */
void
route_verify(struct app *app, struct request *req, struct response *resp)
{
	if (strcmp(req->method, "POST") == 0)
		verify_post(app, req, resp);
	else
		verify_get(app, req, resp);
}

void
route_verify_resend(struct app *app, struct request *req,
    struct response *resp)
{
	char			 email[UTIL_EMAIL_MAX + 1];
	struct store		*st;
	struct user		 u;
	struct routeutil_limit	 rl;
	enum store_rc		 rc;

	if (email_field(app, req, resp, email, sizeof(email), 0) == -1)
		return;
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (routeutil_ratelimit(app, req, resp, st, RL_MAIL_ACCOUNT, RL_MAIL_ADDR,
	    email, &rl) == -1)
		return;
	if ((rc = store_user_get_email(st, email, &u)) == STORE_ERROR) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	crypto_cleanse(u.pwhash, sizeof(u.pwhash));
	if (rc == STORE_OK && !u.verified && !u.disabled) {
		if (store_begin_key(st, u.email) != STORE_OK ||
		    queue_verify(app, st, u.id, u.email, "", req->now) == -1 ||
		    store_commit(st) != STORE_OK) {
			store_rollback(st);
			http_resp_error(req, resp, 503, "storage unavailable");
			return;
		}
		stats_inc(app->stats, STAT_MAILS_QUEUED);
	}
	accepted(app, req, resp);
}
