/* Account recovery and password change: GET and POST /password/forgot,
 * GET and POST /password/reset, GET and POST /password/change. */
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "csrf.h"
#include "hashslot.h"
#include "http.h"
#include "json.h"
#include "log.h"
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

#define RESET_TOKEN_LEN		32	/* random bytes of a reset link */
#define PASSWORD_LEN_TEXT	"the new password needs 8 to 1024 bytes"
#define CHANGE_WRONG_PASSWORD	"wrong current password"

/* One answer whether or not the address has an account: no enumeration. */
#define FORGOT_TEXT	"If this address has an account, a message with a " \
			"link to choose a new password is on its way. Check " \
			"your mail."

/* The forgot form, with an error (status) or without (200). */
static void
forgot_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *error)
{
	struct tvar	 vars[4];

	vars[2] = (struct tvar){ .name = "error", .value = error };
	vars[3] = (struct tvar){ .name = "email",
	    .value = fields_get_text(&req->form, "email") };
	routeutil_form_page(app, req, resp, "forgot.html", status, vars, 4);
}

void
route_password_forgot_get(struct app *app, struct request *req,
    struct response *resp)
{
	forgot_page(app, req, resp, 200, NULL);
}

/*
 * Queue a reset link for email if it names an enabled account. The same
 * work either way, as far as it can be: the account read, a token made
 * and hashed, the message composed, a unit of work begun and the same two
 * rows inserted; for no account (user 0) it is rolled back instead of
 * committed. *queued says which. Returns 0, or -1 (storage).
 */
static int
forgot_queue(struct app *app, struct store *st, const char *email,
    int64_t now, int *queued)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	char		 token[TOKEN_TEXT_LEN(RESET_TOKEN_LEN) + 1];
	struct buf	 link = { 0 }, msg = { 0 };
	struct user	 u;
	enum store_rc	 urc;
	const char	*to;
	int		 real, rc = -1;

	*queued = 0;
	if ((urc = store_user_get_email(st, email, &u)) == STORE_ERROR)
		return -1;
	crypto_cleanse(u.pwhash, sizeof(u.pwhash));
	real = urc == STORE_OK && !u.disabled;
	to = real ? u.email : email;
	if (token_new(RESET_TOKEN_LEN, token, sizeof(token), hash) == -1 ||
	    buf_printf(&link, "%s%s/password/reset?token=%s",
	    app->cfg->base_url, app->cfg->prefix, token) == -1 ||
	    mail_compose(app->cfg, MAIL_RESET, to, link.data, now, &msg) == -1 ||
	    store_begin_key(st, to) != STORE_OK)
		goto out;
	if (store_reset_add(st, hash, real ? u.id : 0, real ? u.gen : 0, now,
	    now + app->cfg->reset_token_ttl) != STORE_OK ||
	    store_outbox_add(st, to, msg.data, now) != STORE_OK) {
		store_rollback(st);
		goto out;
	}
	if (!real) {
		store_rollback(st);	/* user 0 would fail at commit */
		rc = 0;
		goto out;
	}
	if (store_commit(st) != STORE_OK) {
		store_rollback(st);
		goto out;
	}
	log_info("user %lld: password reset link queued", (long long)u.id);
	*queued = 1;
	rc = 0;
out:
	crypto_cleanse(token, sizeof(token));
	crypto_cleanse(hash, sizeof(hash));
	if (link.data != NULL)
		crypto_cleanse(link.data, link.len);
	if (msg.data != NULL)
		crypto_cleanse(msg.data, msg.len);
	buf_free(&link);
	buf_free(&msg);
	return rc;
}

/*
 * POST /password/forgot: email. 202 with the same body whether or not a
 * link was queued; rate-limited on counters of its own.
 */
void
route_password_forgot(struct app *app, struct request *req,
    struct response *resp)
{
	char			 email[UTIL_EMAIL_MAX + 1];
	const char		*e = fields_get_text(&req->form, "email");
	struct store		*st;
	struct routeutil_limit	 rl;
	int			 queued;

	if (e == NULL || util_email_normalize(e, email, sizeof(email)) == -1) {
		if (req->wants_json)
			http_resp_error(req, resp, 400,
			    "a valid email address is required");
		else
			forgot_page(app, req, resp, 400,
			    "a valid email address is required");
		return;
	}
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (routeutil_ratelimit(app, req, resp, st, RL_RESET_ACCOUNT,
	    RL_RESET_ADDR, email, &rl) == -1)
		return;
	seclog(SECLOG_RESET_REQUESTED, req->remote_addr, email, req->route);
	if (forgot_queue(app, st, email, req->now, &queued) == -1) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	/* Counted either way, as /register does: mails_queued (on /metrics)
	 * must not tell a real account from a decoy. */
	(void)queued;
	stats_inc(app->stats, STAT_MAILS_QUEUED);
	if (req->wants_json)
		http_resp_text(resp, 202, "application/json",
		    "{\"status\":\"accepted\",\"message\":\"" FORGOT_TEXT "\"}");
	else
		routeutil_message_page(app, req, resp, 202, "Check your mail",
		    FORGOT_TEXT, 0, NULL);
}

/* 410 for a used, unknown or expired link: JSON, or a page. */
static void
reset_gone(struct app *app, struct request *req, struct response *resp)
{
	if (req->wants_json) {
		http_resp_error(req, resp, 410, "this link is used, unknown or "
		    "expired: ask for a new one");
		return;
	}
	routeutil_message_page(app, req, resp, 410, "Link no longer valid",
	    "This link was already used, or it has expired, or the account "
	    "changed since it was sent. Ask for a new one with \"Forgot your "
	    "password?\" on the sign-in page.", 0, NULL);
}

/*
 * The reset link of the token text (p, len; p may be NULL), read without
 * writing anything: 0 with r filled (cleanse it), or -1 after answering
 * 410 (malformed, used, unknown, expired, disabled or changed: all alike)
 * or 503.
 */
static int
reset_lookup(struct app *app, struct request *req, struct response *resp,
    struct store *st, const char *p, size_t len, struct store_reset *r)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	enum store_rc	 rc = STORE_NOTFOUND;

	memset(r, 0, sizeof(*r));
	if (p != NULL && token_hash(p, len, RESET_TOKEN_LEN, hash) == 0) {
		rc = store_reset_find(st, hash, req->now, r);
		crypto_cleanse(hash, sizeof(hash));
	}
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERROR)
		http_resp_error(req, resp, 503, "storage unavailable");
	else
		reset_gone(app, req, resp);
	return -1;
}

/* The new-password form of a valid link (token: its text). */
static void
reset_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *token, const char *email, const char *error)
{
	struct tvar	 vars[5];

	vars[2] = (struct tvar){ .name = "token", .value = token };
	vars[3] = (struct tvar){ .name = "email", .value = email };
	vars[4] = (struct tvar){ .name = "error", .value = error };
	routeutil_form_page(app, req, resp, "reset.html", status, vars, 5);
}

/* GET /password/reset?token=T: the form; changes nothing, so a mail
 * scanner opening the link spends nothing. */
static void
reset_get(struct app *app, struct request *req, struct response *resp)
{
	struct store_reset	 r;
	struct store		*st;
	const char		*t;
	size_t			 tlen;

	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	t = fields_get(&req->qs, "token", &tlen);
	if (reset_lookup(app, req, resp, st, t, tlen, &r) == -1)
		return;
	/* t is now a well-formed token: base64url text, no other byte. */
	if (req->wants_json)
		http_resp_text(resp, 200, "application/json", "{\"valid\":true}");
	else
		reset_page(app, req, resp, 200, t, r.user.email, NULL);
	crypto_cleanse(&r, sizeof(r));
}

/* Hash (pw, pwlen) into out in a hashing slot: 0, or -1 after answering
 * 503 (no slot, or the hash failed). */
static int
hash_new(struct app *app, struct request *req, struct response *resp,
    struct store *st, const char *pw, size_t pwlen, char *out, size_t outsz)
{
	struct hashslot_ticket	 t;
	int			 rc;

	if (routeutil_hash_begin(app, req, resp, st, NULL, &t) == -1)
		return -1;
	rc = password_hash(pw, pwlen, &app->pwparams, out, outsz);
	app_hash_release(app, &t);
	if (rc == -1)
		http_resp_error(req, resp, 503, "busy: try again");
	return rc;
}

/* The "your password was changed" notice for to, into msg: 0 or -1
 * after answering 503. */
static int
notice_compose(struct app *app, struct request *req, struct response *resp,
    const char *to, struct buf *msg)
{
	if (mail_compose(app->cfg, MAIL_PASSWORD_CHANGED, to, NULL, req->now,
	    msg) == 0)
		return 0;
	http_resp_error(req, resp, 500, "mail template missing");
	return -1;
}

/* Set the password hash of the link r: the answer. */
static void
reset_apply(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct store_reset *r, const char *hash)
{
	struct buf		 msg = { 0 };
	struct store_pwchange	 p;

	if (notice_compose(app, req, resp, r->user.email, &msg) == -1)
		goto out;
	p = (struct store_pwchange){ .user_id = r->user.id, .gen = r->gen,
	    .pwhash = hash, .reset_id = r->id, .keep = NULL,
	    .mail_to = r->user.email, .mail = msg.data, .now = req->now };
	switch (session_password_set(app, &p)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
	case STORE_CONFLICT:
		/* Used concurrently, expired, disabled or changed since. */
		reset_gone(app, req, resp);
		goto out;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		goto out;
	}
	stats_inc(app->stats, STAT_PASSWORD_RESETS);
	stats_inc(app->stats, STAT_MAILS_QUEUED);
	seclog(SECLOG_RESET_DONE, req->remote_addr, r->user.email, req->route);
	log_info("user %lld: password set by a reset link", (long long)r->user.id);
	/* The owner of the mailbox is back: the account's failed logins
	 * (perhaps someone else's guesses) no longer lock it. */
	routeutil_account_clear(st, r->user.email);
	if (req->wants_json) {
		http_resp_text(resp, 200, "application/json", "{\"ok\":true}");
		goto out;
	}
	http_resp_header(resp, "Location", "%s/login", app->cfg->prefix);
	resp->status = 303;
out:
	if (msg.data != NULL)
		crypto_cleanse(msg.data, msg.len);
	buf_free(&msg);
}

/*
 * POST /password/reset: token and password. Sets the password, marks the
 * address verified, spends the link and ends every session of the user.
 */
static void
reset_post(struct app *app, struct request *req, struct response *resp)
{
	struct store_reset	 r;
	struct store		*st;
	char			 hash[PASSWORD_HASH_MAX];
	const char		*t, *pw;
	size_t			 tlen, pwlen;

	t = fields_get(&req->form, "token", &tlen);
	pw = fields_get(&req->form, "password", &pwlen);
	if (t == NULL || tlen == 0 || pw == NULL) {
		http_resp_error(req, resp, 400,
		    "the token and a new password are required");
		return;
	}
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (reset_lookup(app, req, resp, st, t, tlen, &r) == -1)
		return;
	if (pwlen < PASSWORD_MIN || pwlen > PASSWORD_MAX) {
		if (req->wants_json)
			http_resp_error(req, resp, 400, PASSWORD_LEN_TEXT);
		else
			reset_page(app, req, resp, 400, t, r.user.email,
			    PASSWORD_LEN_TEXT);
	} else if (hash_new(app, req, resp, st, pw, pwlen, hash,
	    sizeof(hash)) == 0) {
		reset_apply(app, req, resp, st, &r, hash);
		crypto_cleanse(hash, sizeof(hash));
	}
	crypto_cleanse(&r, sizeof(r));
}

/* /password/reset: GET (and HEAD) show the form, POST sets. */
void
route_password_reset(struct app *app, struct request *req,
    struct response *resp)
{
	if (strcmp(req->method, "POST") == 0)
		reset_post(app, req, resp);
	else
		reset_get(app, req, resp);
}

/* The change form for the signed-in email, with an error or a notice. */
static void
change_page(struct app *app, struct request *req, struct response *resp,
    int status, const char *email, const char *error, const char *notice)
{
	struct tvar	 vars[5];

	vars[2] = (struct tvar){ .name = "email", .value = email };
	vars[3] = (struct tvar){ .name = "error", .value = error };
	vars[4] = (struct tvar){ .name = "notice", .value = notice };
	routeutil_form_page(app, req, resp, "password.html", status, vars, 5);
}

/* A refusal of /password/change: JSON, or the form again. */
static void
change_refuse(struct app *app, struct request *req, struct response *resp,
    int status, const char *email, const char *why)
{
	if (req->wants_json || email == NULL)
		http_resp_error(req, resp, status, why);
	else
		change_page(app, req, resp, status, email, why, NULL);
}

/* The signed-in user for the change form and its POST (a browser without
 * a session goes to the login page, and comes back). */
static int
change_session(struct app *app, struct request *req, struct response *resp,
    struct session *se, unsigned char *hash)
{
	return routeutil_session_or_login(app, req, resp, 1, !req->wants_json &&
	    strcmp(req->method, "POST") != 0, "/password/change", se, hash);
}

void
route_password_change_get(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;
	const char	*done = fields_get_text(&req->qs, "done");

	if (change_session(app, req, resp, &se, NULL) == -1)
		return;
	if (req->wants_json) {
		routeutil_session_json(resp, &se);
		return;
	}
	change_page(app, req, resp, 200, se.user.email, NULL,
	    done != NULL && strcmp(done, "1") == 0 ?
	    "Your password was changed. Every other place where you were "
	    "signed in has been signed out." : NULL);
}

/*
 * Check cur against u's password and hash the new one (pw) into out, in
 * one hashing slot, rate-limited with the login counters of the account
 * and client (rl). Returns 1 right (out set), 0 wrong (the attempts stay
 * counted), or -1 after answering 429 or 503.
 */
static int
change_check(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct user *u, const char *cur, size_t curlen,
    const char *pw, size_t pwlen, char *out, size_t outsz,
    struct routeutil_limit *rl)
{
	struct hashslot_ticket	 t;
	int			 ok;

	/* Refused before any hashing: a flood costs a count query. */
	if (routeutil_ratelimit(app, req, resp, st, RL_LOGIN_ACCOUNT,
	    RL_LOGIN_ADDR, u->email, rl) == -1) {
		if (resp->status == 429)
			stats_inc(app->stats, STAT_LOGINS_RATE_LIMITED);
		return -1;
	}
	if (routeutil_hash_begin(app, req, resp, st, rl, &t) == -1)
		return -1;
	ok = password_verify(cur, curlen, u->pwhash) == 1;
	if (ok && password_hash(pw, pwlen, &app->pwparams, out, outsz) == -1)
		ok = -1;
	app_hash_release(app, &t);
	if (ok == -1)
		http_resp_error(req, resp, 503, "busy: try again");
	return ok;
}

/* The right current password: set the new one (hash), ending every other
 * session of the user; the answer. */
static void
change_apply(struct app *app, struct request *req, struct response *resp,
    const struct user *u, const unsigned char *keep, const char *hash)
{
	struct buf		 msg = { 0 };
	struct store_pwchange	 p;

	if (notice_compose(app, req, resp, u->email, &msg) == -1)
		goto out;
	p = (struct store_pwchange){ .user_id = u->id, .gen = u->gen,
	    .pwhash = hash, .reset_id = 0, .keep = keep, .mail_to = u->email,
	    .mail = msg.data, .now = req->now };
	switch (session_password_set(app, &p)) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		/* Another new password, disabling or "log out everywhere"
		 * came while this was checked. */
		change_refuse(app, req, resp, 409, u->email, "the account "
		    "changed while this was checked: try again");
		goto out;
	case STORE_NOTFOUND:
		http_resp_error(req, resp, 401, "no valid session");
		goto out;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		goto out;
	}
	stats_inc(app->stats, STAT_MAILS_QUEUED);
	seclog(SECLOG_PASSWORD_CHANGED, req->remote_addr, u->email, req->route);
	log_info("user %lld: password changed by its owner", (long long)u->id);
	if (req->wants_json) {
		http_resp_text(resp, 200, "application/json", "{\"ok\":true}");
		goto out;
	}
	http_resp_header(resp, "Location", "%s/password/change?done=1",
	    app->cfg->prefix);
	resp->status = 303;
out:
	if (msg.data != NULL)
		crypto_cleanse(msg.data, msg.len);
	buf_free(&msg);
}

/*
 * POST /password/change: current and password, signed in. A wrong
 * current password is a failed login of the account.
 */
void
route_password_change(struct app *app, struct request *req,
    struct response *resp)
{
	struct session		 se;
	struct user		 u;
	struct routeutil_limit	 rl;
	struct store		*st;
	unsigned char		 keep[CRYPTO_SHA256_LEN];
	char			 hash[PASSWORD_HASH_MAX];
	const char		*cur, *pw;
	size_t			 curlen, pwlen;
	enum store_rc		 urc;
	int			 ok;

	if (change_session(app, req, resp, &se, keep) == -1)
		return;
	cur = fields_get(&req->form, "current", &curlen);
	pw = fields_get(&req->form, "password", &pwlen);
	if (cur == NULL || curlen == 0 || curlen > PASSWORD_MAX || pw == NULL) {
		change_refuse(app, req, resp, 400, se.user.email,
		    "the current and a new password are required");
		return;
	}
	if (pwlen < PASSWORD_MIN || pwlen > PASSWORD_MAX) {
		change_refuse(app, req, resp, 400, se.user.email,
		    PASSWORD_LEN_TEXT);
		return;
	}
	if ((st = app_store(app)) == NULL ||
	    (urc = store_user_get_email(st, se.user.email, &u)) == STORE_ERROR) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (urc != STORE_OK || u.id != se.user.id) {
		http_resp_error(req, resp, 401, "no valid session");
		return;
	}
	ok = change_check(app, req, resp, st, &u, cur, curlen, pw, pwlen, hash,
	    sizeof(hash), &rl);
	crypto_cleanse(u.pwhash, sizeof(u.pwhash));
	if (ok == 0) {
		stats_inc(app->stats, STAT_LOGINS_FAILED);
		seclog(SECLOG_LOGIN_FAILED, req->remote_addr, u.email,
		    req->route);
		change_refuse(app, req, resp, 401, u.email,
		    CHANGE_WRONG_PASSWORD);
	} else if (ok == 1) {
		/* The right password: no failed attempt, as a login. */
		(void)store_attempt_del(st, rl.a[1].id);
		(void)store_attempts_clear(st, RL_LOGIN_ACCOUNT, rl.acct);
		change_apply(app, req, resp, &u, keep, hash);
		crypto_cleanse(hash, sizeof(hash));
	}
}
