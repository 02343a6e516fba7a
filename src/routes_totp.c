/*
 * The signed-in user's second factor (SPEC 9): GET /totp, POST
 * /totp/enable, POST /totp/disable. JSON by default; a browser gets pages
 * that work without JavaScript (the QR code is an inline <svg>). Only a
 * session reaches these routes (an API token is never read here).
 */
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "hashslot.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mfa.h"
#include "parse.h"
#include "password.h"
#include "routes.h"
#include "routeutil.h"
#include "seclog.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "util.h"

static int
totp_session(struct app *app, struct request *req, struct response *resp,
    struct session *se)
{
	return routeutil_session_or_login(app, req, resp, 0,
	    routeutil_wants_html(req) && strcmp(req->method, "GET") == 0,
	    "/totp", se, NULL);
}

/* The page while the factor is on: codes (just made) shown once. */
static void
totp_page_on(struct app *app, struct request *req, struct response *resp,
    const struct session *se, int status, const char *error,
    char codes[][TOTP_RECOVERY_TEXT_LEN + 1], size_t n)
{
	struct buf	 list = { 0 };
	struct tvar	 vars[5];
	size_t		 i;

	for (i = 0; i < n; i++)
		if (buf_printf(&list, "<li><code>%s</code></li>\n",
		    codes[i]) == -1) {
			http_resp_error(req, resp, 500, "out of memory");
			goto out;
		}
	vars[2] = (struct tvar){ .name = "email", .value = se->user.email };
	vars[3] = (struct tvar){ .name = "error", .value = error };
	/* Base32 and dashes only: nothing to escape. */
	vars[4] = (struct tvar){ .name = "codes", .value = list.data,
	    .raw = 1 };
	routeutil_form_page(app, req, resp, "totp_on.html", status, vars, 5);
out:
	crypto_cleanse(list.data, list.cap);
	buf_free(&list);
}

/* The page while the factor is off: the pending secret to scan. */
static void
totp_page_off(struct app *app, struct request *req, struct response *resp,
    const struct session *se, int status, const char *error)
{
	char		 b32[TOTP_B32_LEN + 1];
	struct buf	 uri = { 0 }, svg = { 0 };
	struct tvar	 vars[7];

	switch (mfa_setup(app, &se->user, b32, &uri, &svg)) {
	case MFA_OK:
		break;
	case MFA_ON:
		totp_page_on(app, req, resp, se, status, error, NULL, 0);
		goto out;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		goto out;
	}
	vars[2] = (struct tvar){ .name = "email", .value = se->user.email };
	vars[3] = (struct tvar){ .name = "error", .value = error };
	/* Made here from base32 and escaped text alone. */
	vars[4] = (struct tvar){ .name = "qr", .value = svg.data, .raw = 1 };
	vars[5] = (struct tvar){ .name = "secret", .value = b32 };
	vars[6] = (struct tvar){ .name = "uri", .value = uri.data };
	routeutil_form_page(app, req, resp, "totp.html", status, vars, 7);
out:
	crypto_cleanse(b32, sizeof(b32));
	crypto_cleanse(uri.data, uri.cap);
	crypto_cleanse(svg.data, svg.cap);
	buf_free(&uri);
	buf_free(&svg);
}

/* An error: JSON, or the page with it. */
static void
totp_refuse(struct app *app, struct request *req, struct response *resp,
    const struct session *se, int status, const char *why)
{
	if (routeutil_wants_html(req))
		totp_page_off(app, req, resp, se, status, why);
	else
		http_resp_error(req, resp, status, why);
}

static void
totp_json_setup(struct app *app, struct request *req, struct response *resp,
    const struct session *se)
{
	char		 b32[TOTP_B32_LEN + 1];
	struct buf	 uri = { 0 }, svg = { 0 };
	struct jobj	*j;

	switch (mfa_setup(app, &se->user, b32, &uri, &svg)) {
	case MFA_OK:
		j = jobj_new();
		jobj_bool(j, "enabled", 0);
		jobj_str(j, "secret", b32);
		jobj_str(j, "uri", uri.data);
		break;
	case MFA_ON:
		j = jobj_new();
		jobj_bool(j, "enabled", 1);
		break;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		goto out;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (jobj_finish(j, &resp->body) == -1)
		http_resp_error(req, resp, 500, "out of memory");
out:
	crypto_cleanse(b32, sizeof(b32));
	crypto_cleanse(uri.data, uri.cap);
	buf_free(&uri);
	buf_free(&svg);
}

void
route_totp_get(struct app *app, struct request *req, struct response *resp)
{
	struct session	 se;

	if (totp_session(app, req, resp, &se) == -1)
		return;
	if (routeutil_wants_html(req))
		totp_page_off(app, req, resp, &se, 200, NULL);
	else
		totp_json_setup(app, req, resp, &se);
}

void
route_totp_enable(struct app *app, struct request *req, struct response *resp)
{
	struct session	 se;
	struct jobj	*j;
	const char	*given;
	char		 code[TOTP_RECOVERY_CHARS + 1];
	char		 codes[TOTP_RECOVERY_N][TOTP_RECOVERY_TEXT_LEN + 1];
	size_t		 len, i;

	if (totp_session(app, req, resp, &se) == -1)
		return;
	given = fields_get(&req->form, "code", &len);
	if (given == NULL || totp_code_kind(given, len, code, sizeof(code)) !=
	    TOTP_CODE_OTP) {
		totp_refuse(app, req, resp, &se, 400,
		    "code: the 6 digits your authenticator app shows");
		return;
	}
	/* The other sessions end; this one stays, without mfa (it was not
	 * made with the factor: SPEC 9's X-Auth-MFA). */
	switch (mfa_enable(app, &se.user, code, se.token_hash, codes)) {
	case MFA_OK:
		break;
	case MFA_WRONG:
		totp_refuse(app, req, resp, &se, 403, "wrong code: check the "
		    "time on your phone, and try the next code");
		return;
	case MFA_ON:
		totp_refuse(app, req, resp, &se, 409,
		    "the second factor is on already");
		return;
	case MFA_NONE:
		totp_refuse(app, req, resp, &se, 409,
		    "no secret to confirm (or it expired): open the setup "
		    "page again");
		return;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	log_info("user %lld: second factor turned on", (long long)se.user.id);
	if (routeutil_wants_html(req)) {
		totp_page_on(app, req, resp, &se, 200, NULL, codes,
		    TOTP_RECOVERY_N);
	} else {
		j = jobj_new();
		jobj_bool(j, "enabled", 1);
		for (i = 0; i < TOTP_RECOVERY_N; i++)
			jobj_arr_str(j, "recovery_codes", codes[i]);
		resp->status = 200;
		resp->content_type = "application/json";
		buf_reset(&resp->body);
		if (jobj_finish(j, &resp->body) == -1)
			http_resp_error(req, resp, 500, "out of memory");
	}
	crypto_cleanse(codes, sizeof(codes));
}

/* The password of u checked under the login limits: 1 right, 0 wrong
 * (counted), -1 after answering 429 or 503. */
static int
totp_password(struct app *app, struct request *req, struct response *resp,
    struct store *st, const struct user *u, const char *pw, size_t pwlen)
{
	struct routeutil_limit	 rl;
	struct hashslot_ticket	 t;
	int			 ok;

	if (routeutil_ratelimit(app, req, resp, st, RL_LOGIN_ACCOUNT,
	    RL_LOGIN_ADDR, u->email, &rl) == -1) {
		if (resp->status == 429)
			stats_inc(app->stats, STAT_LOGINS_RATE_LIMITED);
		return -1;
	}
	if (routeutil_hash_begin(app, req, resp, st, &rl, &t) == -1)
		return -1;
	ok = password_verify(pw, pwlen, u->pwhash) == 1;
	app_hash_release(app, &t);
	if (ok) {
		/* Not a failed attempt; the count stays as it was. */
		(void)store_attempt_del(st, rl.a[0].id);
		(void)store_attempt_del(st, rl.a[1].id);
	} else {
		stats_inc(app->stats, STAT_LOGINS_FAILED);
		seclog(SECLOG_LOGIN_FAILED, req->remote_addr, u->email,
		    req->route);
	}
	return ok;
}

void
route_totp_disable(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;
	struct store	*st;
	struct user	 u;
	const char	*pw;
	size_t		 pwlen;
	enum store_rc	 urc;
	int		 ok;

	if (totp_session(app, req, resp, &se) == -1)
		return;
	pw = fields_get(&req->form, "password", &pwlen);
	if (pw == NULL || pwlen == 0 || pwlen > PASSWORD_MAX) {
		totp_refuse(app, req, resp, &se, 400, "password is required");
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
	ok = totp_password(app, req, resp, st, &u, pw, pwlen);
	crypto_cleanse(u.pwhash, sizeof(u.pwhash));
	if (ok == -1)
		return;
	if (ok == 0) {
		if (routeutil_wants_html(req))
			totp_page_on(app, req, resp, &se, 401,
			    "wrong password", NULL, 0);
		else
			http_resp_error(req, resp, 401, "wrong password");
		return;
	}
	if (mfa_remove(app, se.user.id) == MFA_ERROR) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	log_info("user %lld: second factor turned off", (long long)se.user.id);
	if (routeutil_wants_html(req)) {
		http_resp_header(resp, "Location", "%s/totp", app->cfg->prefix);
		resp->status = 303;
		resp->content_type = NULL;
		return;
	}
	http_resp_text(resp, 200, "application/json", "{\"enabled\":false}");
}
