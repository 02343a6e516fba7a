/*
 * The signed-in user's API tokens: GET /tokens, POST /tokens, POST
 * /tokens/revoke (SPEC 4). JSON by default; a browser (Accept: text/html
 * without application/json) gets a page that works without JavaScript.
 * Only a session manages tokens: a token cannot mint or list tokens.
 */
#include <string.h>

#include "apitoken.h"
#include "app.h"
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "parse.h"
#include "routes.h"
#include "routeutil.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define TOKENS_ID_MAX	20	/* digits of an id worth parsing */

/*
 * The caller's session into se and its token hash into hash: 0, or -1
 * after answering (401, or for a browser's GET 303 to the login page; 503).
 */
static int
tokens_session(struct app *app, struct request *req, struct response *resp,
    struct session *se, unsigned char *hash)
{
	return routeutil_session_or_login(app, req, resp, 0,
	    routeutil_wants_html(req) && strcmp(req->method, "GET") == 0,
	    "/tokens", se, hash);
}

/* The walk over the user's tokens: a JSON list, or the page's rows. */
struct token_list {
	struct jobj	*root;
	struct buf	 rows, options;
	int		 html, failed;
	size_t		 n;
};

/* Append a table cell with a time (UTC), or "never" for 0. */
static int
cell_time(struct buf *b, int64_t t)
{
	char	 s[32];

	if (t == 0)
		return buf_puts(b, "<td>never</td>");
	if (util_time_utc(t, "%Y-%m-%d %H:%M UTC", s, sizeof(s)) == -1)
		return -1;
	return buf_printf(b, "<td>%s</td>", s);
}

static int
token_add(const struct store_token *t, void *arg)
{
	struct token_list	*l = arg;
	struct jobj		*o;
	size_t			 nlen = strlen(t->name);

	l->n++;
	if (!l->html) {
		o = jobj_arr_obj(l->root, "tokens");
		jobj_int(o, "id", t->id);
		jobj_str(o, "name", t->name);
		jobj_int(o, "created", t->created);
		jobj_int(o, "last_used", t->last_used);
		jobj_int(o, "expires", t->expires);
		return 0;
	}
	/* Every value escaped: the name is the user's own text. */
	if (buf_printf(&l->rows, "<tr><td>%lld</td><td>", (long long)t->id) ==
	    -1 || template_escape(&l->rows, t->name, nlen) == -1 ||
	    buf_puts(&l->rows, "</td>") == -1 ||
	    cell_time(&l->rows, t->created) == -1 ||
	    cell_time(&l->rows, t->last_used) == -1 ||
	    cell_time(&l->rows, t->expires) == -1 ||
	    buf_puts(&l->rows, "</tr>\n") == -1 ||
	    buf_printf(&l->options, "<option value=\"%lld\">%lld: ",
	    (long long)t->id, (long long)t->id) == -1 ||
	    template_escape(&l->options, t->name, nlen) == -1 ||
	    buf_puts(&l->options, "</option>\n") == -1) {
		l->failed = 1;
		return 1;
	}
	return 0;
}

/* The user's tokens into l (html: the page's rows). 0, or -1 (503). */
static int
token_list(struct app *app, const struct session *se, struct token_list *l,
    int html)
{
	struct store	*st;

	memset(l, 0, sizeof(*l));
	l->html = html;
	if (!html)
		l->root = jobj_new();
	if ((st = app_store(app)) == NULL ||
	    store_token_each(st, se->user.id, token_add, l) != STORE_OK ||
	    l->failed)
		return -1;
	return 0;
}

static void
token_list_free(struct token_list *l)
{
	jobj_free(l->root);
	buf_free(&l->rows);
	buf_free(&l->options);
}

/* The page: the list, and a new token (shown once) or an error. */
static void
tokens_page(struct app *app, struct request *req, struct response *resp,
    const struct session *se, int status, const char *token,
    const char *error)
{
	struct token_list	 l;
	struct tvar		 vars[8];

	if (token_list(app, se, &l, 1) == -1) {
		token_list_free(&l);
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	vars[2] = (struct tvar){ .name = "email", .value = se->user.email };
	vars[3] = (struct tvar){ .name = "token", .value = token };
	vars[4] = (struct tvar){ .name = "error", .value = error };
	vars[5] = (struct tvar){ .name = "rows", .value = l.rows.data,
	    .raw = 1 };
	vars[6] = (struct tvar){ .name = "options", .value = l.options.data,
	    .raw = 1 };
	vars[7] = (struct tvar){ .name = "none",
	    .value = l.n == 0 ? "No API tokens yet." : NULL };
	routeutil_form_page(app, req, resp, "tokens.html", status, vars, 8);
	token_list_free(&l);
}

/* An error: JSON, or the page with it. */
static void
tokens_refuse(struct app *app, struct request *req, struct response *resp,
    const struct session *se, int status, const char *why)
{
	if (routeutil_wants_html(req))
		tokens_page(app, req, resp, se, status, NULL, why);
	else
		http_resp_error(req, resp, status, why);
}

void
route_tokens_get(struct app *app, struct request *req, struct response *resp)
{
	struct session		 se;
	struct token_list	 l;

	if (tokens_session(app, req, resp, &se, NULL) == -1)
		return;
	if (routeutil_wants_html(req)) {
		tokens_page(app, req, resp, &se, 200, NULL, NULL);
		return;
	}
	req->wants_json = 1;
	if (token_list(app, &se, &l, 0) == -1) {
		http_resp_error(req, resp, 503, "storage unavailable");
	} else if (l.n == 0) {
		/* The builder has no empty array. */
		http_resp_text(resp, 200, "application/json", "{\"tokens\":[]}");
	} else {
		resp->status = 200;
		resp->content_type = "application/json";
		buf_reset(&resp->body);
		if (jobj_finish(l.root, &resp->body) == -1)
			http_resp_error(req, resp, 500, "out of memory");
		l.root = NULL;	/* jobj_finish frees it */
	}
	token_list_free(&l);
}

/* expires_in: absent or "" is 0 (never); else 1..APITOKEN_TTL_MAX. */
static int
tokens_expires_in(const struct request *req, int64_t *out)
{
	const char	*v;

	*out = 0;
	if (fields_count(&req->form, "expires_in") == 0)
		return 0;
	if (fields_count(&req->form, "expires_in") > 1 ||
	    (v = fields_get_text(&req->form, "expires_in")) == NULL)
		return -1;
	if (v[0] == '\0')
		return 0;
	return util_parse_int64(v, strlen(v), 1, APITOKEN_TTL_MAX, out);
}

/*
 * Tell the owner a token was made (a stolen session can make one that
 * outlives it): a notice with the link to /tokens, through the outbox.
 */
static void
tokens_notice(struct app *app, const struct request *req,
    const struct session *se)
{
	struct store	*st = app_store(app);
	struct buf	 link = { 0 }, msg = { 0 };

	if (st != NULL && buf_printf(&link, "%s%s/tokens", app->cfg->base_url,
	    app->cfg->prefix) == 0 && mail_compose(app->cfg,
	    MAIL_TOKEN_CREATED, se->user.email, link.data, req->now, &msg) == 0 &&
	    store_outbox_add(st, se->user.email, msg.data, req->now) == STORE_OK)
		stats_inc(app->stats, STAT_MAILS_QUEUED);
	else
		log_warn("user %lld: API token made, its notice not queued",
		    (long long)se->user.id);
	buf_free(&link);
	buf_free(&msg);
}

void
route_tokens_post(struct app *app, struct request *req, struct response *resp)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	struct session	 se;
	struct jobj	*j;
	const char	*name = fields_get_text(&req->form, "name");
	char		 text[APITOKEN_TEXT_LEN + 1];
	int64_t		 expires_in, id;

	if (tokens_session(app, req, resp, &se, hash) == -1)
		return;
	/* A first registrant who never owned the address must not keep
	 * a way in after the owner claims it. */
	if (!se.user.verified) {
		tokens_refuse(app, req, resp, &se, 403, "verify your address "
		    "first");
		return;
	}
	if (name == NULL || fields_count(&req->form, "name") != 1 ||
	    !apitoken_name_ok(name, strlen(name))) {
		tokens_refuse(app, req, resp, &se, 400,
		    "name: 1 to 64 bytes, no control characters");
		return;
	}
	if (tokens_expires_in(req, &expires_in) == -1) {
		tokens_refuse(app, req, resp, &se, 400, "expires_in: seconds, "
		    "1 to 315360000, or none");
		return;
	}
	switch (apitoken_create(app, se.user.id, name, expires_in, hash, text,
	    sizeof(text), &id)) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		tokens_refuse(app, req, resp, &se, 409, "too many API tokens: "
		    "revoke one first");
		return;
	case STORE_NOTFOUND:
		/* The session ended (a reset, disabling) while this ran. */
		http_resp_error(req, resp, 401, "no valid session");
		return;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	tokens_notice(app, req, &se);
	if (routeutil_wants_html(req)) {
		tokens_page(app, req, resp, &se, 201, text, NULL);
	} else {
		j = jobj_new();
		jobj_int(j, "id", id);
		jobj_str(j, "token", text);
		jobj_str(j, "name", name);
		jobj_int(j, "expires", expires_in > 0 ? req->now + expires_in :
		    0);
		resp->status = 201;
		resp->content_type = "application/json";
		buf_reset(&resp->body);
		if (jobj_finish(j, &resp->body) == -1)
			http_resp_error(req, resp, 500, "out of memory");
	}
	crypto_cleanse(text, sizeof(text));
}

void
route_tokens_revoke(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;
	const char	*v = fields_get_text(&req->form, "id");
	int64_t		 id;

	if (tokens_session(app, req, resp, &se, NULL) == -1)
		return;
	if (v == NULL || fields_count(&req->form, "id") != 1 ||
	    strlen(v) > TOKENS_ID_MAX ||
	    util_parse_int64(v, strlen(v), 1, INT64_MAX, &id) == -1) {
		tokens_refuse(app, req, resp, &se, 400, "id: a token's id");
		return;
	}
	/* Another user's id is answered like an unknown one. */
	switch (apitoken_revoke(app, id, se.user.id)) {
	case SESSION_OK:
		break;
	case SESSION_NONE:
		tokens_refuse(app, req, resp, &se, 404, "no such token");
		return;
	default:
		http_resp_error(req, resp, 503, "storage unavailable");
		return;
	}
	if (routeutil_wants_html(req)) {
		http_resp_header(resp, "Location", "%s/tokens", app->cfg->prefix);
		resp->status = 303;
		resp->content_type = NULL;
		return;
	}
	http_resp_text(resp, 200, "application/json", "{\"revoked\":true}");
}
