/* Helpers shared by the route groups: the request's session, its cookie
 * and JSON, the login URL, rate-limited attempts, the message page. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "hashslot.h"
#include "config.h"
#include "csrf.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "parse.h"
#include "ratelimit.h"
#include "routeutil.h"
#include "seclog.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "util.h"

int
routeutil_wants_html(const struct request *req)
{
	return !req->wants_json && !req->is_json_body &&
	    parse_accepts(http_param(req, "HTTP_ACCEPT"), "text/html");
}

int
routeutil_is_passive(const struct request *req)
{
	const char	*v = http_param(req, "HTTP_X_AUTH_PASSIVE");

	return v != NULL && strcmp(v, "1") == 0;
}

enum session_rc
routeutil_session_load(struct app *app, const struct request *req, int fresh,
    struct session *se, enum session_source *src, unsigned char *hash)
{
	const char	*hdr = http_param(req, "HTTP_COOKIE");
	const char	*v;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	size_t		 vlen;
	enum session_rc	 rc;
	int		 flags;

	/* The first cookie of that name counts, as nginx's $cookie_NAME. */
	if (hdr == NULL || !parse_cookie(hdr, strlen(hdr),
	    app->cfg->cookie_name, &v, &vlen) ||
	    session_cookie_hash(v, vlen, h) == -1)
		return SESSION_NONE;
	if (hash != NULL)
		memcpy(hash, h, sizeof(h));
	if (fresh)
		flags = SESSION_CHECK_FRESH;	/* /refresh renews, always */
	else
		flags = routeutil_is_passive(req) ? SESSION_CHECK_PASSIVE : 0;
	/* A well-formed cookie of no live session: ended, expired, revoked,
	 * or guessed. Worth a line; a missing or malformed one is not. */
	if ((rc = session_check(app, h, flags, se, src)) == SESSION_NONE)
		seclog(SECLOG_SESSION_UNKNOWN, req->remote_addr, NULL,
		    req->route);
	return rc;
}

int
routeutil_session_or_login(struct app *app, struct request *req,
    struct response *resp, int fresh, int redirect, const char *back,
    struct session *se, unsigned char *hash)
{
	enum session_source	 src;
	struct buf		 url = { 0 }, next = { 0 };

	switch (routeutil_session_load(app, req, fresh, se, &src, hash)) {
	case SESSION_OK:
		return 0;
	case SESSION_NONE:
		break;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return -1;
	}
	if (redirect && buf_printf(&next, "%s%s", app->cfg->prefix, back) == 0 &&
	    routeutil_login_url(app, next.data, &url) == 0) {
		http_resp_header(resp, "Location", "%s", url.data);
		resp->status = 303;
	} else
		http_resp_error(req, resp, 401, "no valid session");
	buf_free(&url);
	buf_free(&next);
	return -1;
}

void
routeutil_form_page(struct app *app, struct request *req,
    struct response *resp, const char *name, int status, struct tvar *vars,
    size_t nvars)
{
	char	 csrf[CSRF_TOKEN_MAX];

	if (csrf_token(app, req, resp, csrf, sizeof(csrf)) == -1) {
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	vars[0] = (struct tvar){ .name = "csrf", .value = csrf };
	vars[1] = (struct tvar){ .name = "prefix", .value = app->cfg->prefix };
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	if (template_render(app->cfg->www_dir, name, vars, nvars,
	    &resp->body) == -1)
		http_resp_error(req, resp, 500, "page template missing");
}

void
routeutil_session_cookie(struct app *app, struct response *resp,
    const char *value, int64_t max_age)
{
	const struct config	*c = app->cfg;

	http_resp_header(resp, "Set-Cookie", "%s=%s; Path=/; Max-Age=%lld; "
	    "HttpOnly; SameSite=Lax%s%s%s", c->cookie_name, value,
	    (long long)max_age, c->cookie_secure ? "; Secure" : "",
	    c->cookie_domain[0] ? "; Domain=" : "", c->cookie_domain);
}

void
routeutil_session_json(struct response *resp, const struct session *se)
{
	struct jobj	*j = jobj_new(), *u, *s;

	u = jobj_obj(j, "user");
	jobj_int(u, "id", se->user.id);
	jobj_str(u, "email", se->user.email);
	jobj_str(u, "role", se->user.role);
	jobj_bool(u, "verified", se->user.verified);
	s = jobj_obj(j, "session");
	jobj_str(s, "id", se->public_id);
	jobj_int(s, "created", se->created);
	jobj_int(s, "expires", se->expires);
	jobj_int(s, "last_seen", se->last_seen);
	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (jobj_finish(j, &resp->body) == -1)
		resp->status = 500;
}

int
routeutil_login_url(struct app *app, const char *next, struct buf *out)
{
	if (buf_printf(out, "%s%s/login", app->cfg->base_url,
	    app->cfg->prefix) == -1)
		return -1;
	if (next == NULL || next[0] == '\0' ||
	    !parse_next_is_safe(next, strlen(next)))
		return 0;
	if (buf_puts(out, "?next=") == -1 ||
	    parse_urlencode(next, strlen(next), out) == -1)
		return -1;
	return 0;
}

/* The account counter's key: the address lower-cased, bounded. */
static void
account_key(const char *email, char *out, size_t outsz)
{
	size_t	 i;

	for (i = 0; email[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (email[i] >= 'A' && email[i] <= 'Z') ?
		    (char)(email[i] + ('a' - 'A')) : email[i];
	out[i] = '\0';
}

void
routeutil_account_clear(struct store *st, const char *email)
{
	char	 key[UTIL_EMAIL_MAX + 1];

	account_key(email, key, sizeof(key));
	(void)store_attempts_clear(st, RL_LOGIN_ACCOUNT, key);
}

#define LOGIN_SEEN_WINDOW	(90 * 86400)	/* "not seen in 90 days" */

void
routeutil_login_notice(struct app *app, const struct request *req,
    struct store *st, const struct user *u)
{
	unsigned char	 ua[CRYPTO_SHA256_LEN];
	char		 addr[RATELIMIT_KEY_MAX];
	struct buf	 msg = { 0 };
	int		 notify;

	if (!app->cfg->notify_login)
		return;
	/* The exact client address (an IPv4-mapped one as IPv4). */
	if (ratelimit_addr_key(req->remote_addr, 128, addr, sizeof(addr)) == -1)
		addr[0] = '\0';
	crypto_sha256(req->user_agent, strlen(req->user_agent), ua);
	if (store_begin_key(st, u->email) != STORE_OK)
		goto fail;
	if (store_login_seen(st, u->id, addr, ua, req->now,
	    req->now - LOGIN_SEEN_WINDOW, &notify) != STORE_OK ||
	    (notify && (mail_compose_login(app->cfg, u->email,
	    req->remote_addr, req->user_agent, req->now, &msg) == -1 ||
	    store_outbox_add(st, u->email, msg.data, req->now) != STORE_OK)) ||
	    store_commit(st) != STORE_OK) {
		store_rollback(st);
		goto fail;
	}
	if (notify) {
		stats_inc(app->stats, STAT_MAILS_QUEUED);
		log_info("user %lld: sign-in from a new place, notice queued",
		    (long long)u->id);
	}
	buf_free(&msg);
	return;
fail:
	log_error("user %lld: could not record the sign-in for notify_login",
	    (long long)u->id);
	buf_free(&msg);
}

int
routeutil_ratelimit(struct app *app, struct request *req, struct response *resp,
    struct store *st, int acct_kind, int addr_kind, const char *email,
    struct routeutil_limit *rl)
{
	const struct config	*c = app->cfg;
	struct store_attempt	*a = rl->a;
	int64_t			 retry = 0, r;
	int			 i;

	memset(rl, 0, sizeof(*rl));
	account_key(email, rl->acct, sizeof(rl->acct));
	if (ratelimit_addr_key(req->remote_addr, c->login_ipv6_prefix,
	    rl->addr, sizeof(rl->addr)) == -1)
		rl->addr[0] = '\0';
	a[0].kind = acct_kind;
	a[0].key = rl->acct;
	a[0].max = c->login_max_per_account;
	a[1].kind = addr_kind;
	a[1].key = rl->addr;
	a[1].max = c->login_max_per_ip;
	switch (store_attempts_take(st, a, 2, req->now, c->login_window)) {
	case STORE_OK:
		return 0;
	case STORE_CONFLICT:
		for (i = 0; i < 2; i++) {
			if (a[i].count < a[i].max)
				continue;
			r = ratelimit_retry_after(a[i].oldest, c->login_window,
			    req->now);
			if (r > retry)
				retry = r;
		}
		http_resp_header(resp, "Retry-After", "%lld", (long long)retry);
		/* Which counter refused: only a full address counter is the
		 * client's own doing (fail2ban counts those alone). */
		seclog_limited(req->remote_addr, email, req->route,
		    a[1].count >= a[1].max);
		http_resp_error(req, resp, 429, "too many attempts: try again later");
		return -1;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return -1;
	}
}

void
routeutil_message_page(struct app *app, struct request *req,
    struct response *resp, int status, const char *title,
    const char *message, int offer_resend, const char *email)
{
	char		 token[CSRF_TOKEN_MAX] = "";
	char		 login[512];

	if (offer_resend && csrf_token(app, req, resp, token,
	    sizeof(token)) == -1)
		token[0] = '\0';
	(void)snprintf(login, sizeof(login), "%s/login", app->cfg->prefix);
	http_resp_page(req, resp, status, &(struct http_page){ .title = title,
	    .message = message, .link = login, .link_text = "Sign in",
	    .csrf = token, .email = email });
}

int
routeutil_hash_begin(struct app *app, struct request *req,
    struct response *resp, struct store *st, const struct routeutil_limit *rl,
    struct hashslot_ticket *t)
{
	if (app_hash_acquire(app, t) == 0)
		return 0;
	if (rl != NULL) {
		(void)store_attempt_del(st, rl->a[0].id);
		(void)store_attempt_del(st, rl->a[1].id);
	}
	stats_inc(app->stats, STAT_HASH_BUSY);
	seclog(SECLOG_HASH_BUSY, req->remote_addr, NULL, req->route);
	http_resp_header(resp, "Retry-After", "1");
	http_resp_error(req, resp, 503, "busy: try again in a second");
	return -1;
}
