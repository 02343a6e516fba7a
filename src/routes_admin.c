/*
 * The admin routes (SPEC sections 4 and 6): the page, its figures as JSON,
 * its actions, and /metrics. For sessions with role admin; /metrics also
 * for the addresses of metrics_allow. The page's HTML is adminpage.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "adminpage.h"
#include "app.h"
#include "cache.h"
#include "crypto.h"
#include "csrf.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "policy.h"
#include "routes.h"
#include "routeutil.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define ADMIN_ID_MAX		64	/* bytes of a session id worth a lookup */

/* 1 if the client is a browser (Accept names text/html). */
static int
is_browser(const struct request *req)
{
	const char	*accept = http_param(req, "HTTP_ACCEPT");

	return parse_accepts(accept != NULL ? accept : "", "text/html");
}

/* A browser without a session: 302 to the login page, next= the page. */
static void
admin_to_login(struct app *app, struct response *resp)
{
	struct buf	 next = { 0 }, url = { 0 };

	if (buf_printf(&next, "%s/admin", app->cfg->prefix) == 0 &&
	    routeutil_login_url(app, next.data, &url) == 0)
		http_resp_header(resp, "Location", "%s", url.data);
	buf_free(&next);
	buf_free(&url);
	resp->status = 302;
	resp->content_type = NULL;
}

/*
 * 1 if the request comes with an admin session; otherwise answers 401
 * (no session; page set and a browser: 302 to the login page), 403 (not
 * an admin) or 503 and returns 0.
 */
static int
admin_only(struct app *app, struct request *req, struct response *resp,
    struct session *se, int page)
{
	enum session_source	 src;

	switch (routeutil_session_load(app, req, 0, se, &src, NULL)) {
	case SESSION_OK:
		if (strcmp(se->user.role, "admin") == 0)
			return 1;
		http_resp_error(req, resp, 403, "admin role required");
		return 0;
	case SESSION_NONE:
		if (page && is_browser(req))
			admin_to_login(app, resp);
		else
			http_resp_error(req, resp, 401, "no valid session");
		return 0;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return 0;
	}
}

/* An action done: 200 JSON, or 303 back to the page for a form. */
static void
admin_done(struct app *app, struct request *req, struct response *resp,
    const char *json)
{
	struct buf	 url = { 0 };

	if (req->wants_json) {
		http_resp_text(resp, 200, "application/json", json);
		return;
	}
	if (buf_printf(&url, "%s/admin", app->cfg->prefix) == 0)
		http_resp_header(resp, "Location", "%s", url.data);
	buf_free(&url);
	resp->status = 303;
	resp->content_type = NULL;
}

static int
host_collect(const struct store_host *h, void *arg)
{
	struct admin_view	*v = arg;

	if (v->nhosts == ADMIN_HOSTS_MAX)
		return 1;
	v->hosts[v->nhosts++] = *h;
	return 0;
}

/*
 * Read every figure into v (ticking the history first). Returns 0, or
 * answers 503 and returns -1 when there are no statistics.
 */
static int
admin_view_read(struct app *app, const struct request *req,
    struct response *resp, struct admin_view *v)
{
	struct store	*st;
	int64_t		 n;

	memset(v, 0, sizeof(*v));
	if (app->stats == NULL) {
		http_resp_error(req, resp, 503, "statistics unavailable");
		return -1;
	}
	stats_tick(app->stats, req->now);
	v->ms.now = req->now;
	v->ms.sessions_active = v->ms.outbox = v->ms.users_totp = -1;
	st = app_store(app);
	v->ms.sqlite_up = st != NULL && store_ping(st);
	if (v->ms.sqlite_up && store_session_count_live(st, req->now, &n) ==
	    STORE_OK)
		v->ms.sessions_active = n;
	if (v->ms.sqlite_up && store_outbox_count(st, &n) == STORE_OK)
		v->ms.outbox = n;
	if (v->ms.sqlite_up && store_totp_count(st, &n) == STORE_OK)
		v->ms.users_totp = n;
	v->memcached = cache_memcached_state(app_cache(app), 1);
	v->ms.memcached_up = strcmp(v->memcached, "off") == 0 ? -1 :
	    strcmp(v->memcached, "ok") == 0;
	v->ms.workers = app->worker < 0 ? 0 : app->cfg->workers;
	if ((v->shared = config_database_is_pg(app->cfg->database))) {
		v->listener_up = cache_listener_alive(app_cache(app));
		v->hosts_known = v->ms.sqlite_up && store_host_each(st,
		    req->now - ADMIN_HOSTS_SEEN, host_collect, v) == STORE_OK;
	}
	stats_history(app->stats, req->now, v->hist);
	v->checks_rate = stats_checks_per_second(app->stats, req->now);
	v->hit_rate = stats_hit_rate(stats_get(app->stats, STAT_CACHE_HITS),
	    stats_get(app->stats, STAT_CACHE_MISSES));
	return 0;
}

/* A figure that may be unknown (-1): JSON null. */
static void
json_maybe(struct jobj *j, const char *key, int64_t v)
{
	if (v >= 0)
		jobj_int(j, key, v);
	else
		jobj_str(j, key, NULL);
}

static void
json_workers(struct jobj *j, const struct stats *st, int n)
{
	struct jobj	*w;
	int		 i;

	for (i = 0; i < n && i < CONFIG_WORKERS_MAX; i++) {
		w = jobj_arr_obj(j, "workers");
		jobj_int(w, "worker", i);
		jobj_int(w, "pid", atomic_load(&st->w[i].pid));
		jobj_int(w, "requests",
		    (int64_t)atomic_load(&st->w[i].requests));
		jobj_int(w, "restarts",
		    (int64_t)atomic_load(&st->w[i].restarts));
	}
}

/* Every host seen in the last minute (null when they could not be read). */
static void
json_hosts(struct jobj *j, const struct admin_view *v, int64_t now)
{
	const struct store_host	*h;
	struct jobj		*o;
	size_t			 i;

	if (!v->hosts_known) {
		jobj_str(j, "hosts", NULL);
		return;
	}
	jobj_arr(j, "hosts");
	for (i = 0; i < v->nhosts; i++) {
		h = &v->hosts[i];
		o = jobj_arr_obj(j, "hosts");
		jobj_str(o, "name", h->name);
		jobj_int(o, "uptime", now - h->started);
		jobj_int(o, "seen", h->seen);
		jobj_int(o, "checks", h->checks);
		jobj_real(o, "cache_hit_rate", stats_hit_rate(
		    (uint64_t)h->cache_hits, (uint64_t)h->cache_misses));
		jobj_int(o, "workers", h->workers);
	}
}

/* The latency histogram: per-bucket counts, le_usec null for the last. */
static void
json_latency(struct jobj *j, const struct stats *st)
{
	struct jobj	*l = jobj_obj(j, "latency"), *b;
	uint64_t	 c, total = 0;
	size_t		 i;

	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++) {
		c = atomic_load(&st->check_latency[i]);
		total += c;
		b = jobj_arr_obj(l, "buckets");
		if (i < STATS_LATENCY_BUCKETS)
			jobj_int(b, "le_usec", (int64_t)stats_latency_bounds[i]);
		else
			jobj_str(b, "le_usec", NULL);
		jobj_int(b, "count", (int64_t)c);
	}
	jobj_int(l, "count", (int64_t)total);
	jobj_int(l, "sum_usec",
	    (int64_t)atomic_load(&st->check_latency_sum_usec));
}

static void
json_history(struct jobj *j, const struct stats_point *h)
{
	struct jobj	*p;
	size_t		 k, i;

	for (k = 0; k < STATS_HISTORY; k++) {
		if (!h[k].valid)
			continue;
		p = jobj_arr_obj(j, "history");
		jobj_int(p, "minute", h[k].minute * 60);
		for (i = 0; i < SERIES__COUNT; i++)
			jobj_int(p, stats_name(stats_series_counter(
			    (enum stats_series)i)), (int64_t)h[k].v[i]);
		jobj_bool(p, "partial", h[k].partial);
	}
}

void
route_admin_stats_json(struct app *app, struct request *req,
    struct response *resp)
{
	struct session		 se;
	struct admin_view	 v;
	struct jobj		*j;
	const struct stats	*st = app->stats;
	size_t			 i;

	req->wants_json = 1;
	if (!admin_only(app, req, resp, &se, 0))
		return;
	if (admin_view_read(app, req, resp, &v) == -1)
		return;
	j = jobj_new();
	jobj_int(j, "uptime", req->now - st->started);
	jobj_int(j, "started", st->started);
	jobj_int(j, "now", req->now);
	for (i = 0; i < STAT__COUNT; i++)
		jobj_int(j, stats_name((enum stat_counter)i),
		    (int64_t)stats_get(st, (enum stat_counter)i));
	jobj_real(j, "cache_hit_rate", v.hit_rate);
	jobj_real(j, "checks_per_second", v.checks_rate);
	json_maybe(j, "sessions_active", v.ms.sessions_active);
	json_maybe(j, "outbox", v.ms.outbox);
	json_maybe(j, "users_totp", v.ms.users_totp);
	jobj_str(j, "memcached", v.memcached);
	if (v.shared) {
		jobj_str(j, "postgresql", v.ms.sqlite_up ? "ok" : "error");
		jobj_str(j, "listener", v.listener_up ? "ok" : "down");
		json_hosts(j, &v, req->now);
	} else
		jobj_str(j, "sqlite", v.ms.sqlite_up ? "ok" : "error");
	json_workers(j, st, v.ms.workers);
	json_latency(j, st);
	json_history(j, v.hist);
	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (jobj_finish(j, &resp->body) == -1)
		http_resp_error(req, resp, 500, "out of memory");
}

/* Collect live sessions, the newest first, up to ADMIN_SESSIONS_MAX. */
struct search_collect {
	struct admin_search	*r;
	const struct policy	*policy;
	int64_t			 now;
};

static int
search_row_add(const struct session *se, void *arg)
{
	struct search_collect	*c = arg;

	if (!policy_alive(c->policy, c->now, se->created, se->expires))
		return 0;
	if (c->r->n >= ADMIN_SESSIONS_MAX)
		return 1;
	c->r->sessions[c->r->n++] = *se;
	return 0;
}

/*
 * The user asked for with ?email= and their live sessions into r (whose
 * sessions the caller frees). Returns 0, or -1 when the sessions could
 * not be read.
 */
static int
admin_search(struct app *app, const struct request *req,
    struct admin_search *r)
{
	const char		*q = fields_get_text(&req->qs, "email");
	char			 email[UTIL_EMAIL_MAX + 1];
	struct store		*st;
	struct search_collect	 c = { r, &app->policy, req->now };

	memset(r, 0, sizeof(*r));
	if (q == NULL || q[0] == '\0')
		return 0;
	r->state = ADMIN_SEARCH_ERROR;
	if (util_email_normalize(q, email, sizeof(email)) == -1) {
		r->state = ADMIN_SEARCH_BAD_EMAIL;
		return 0;
	}
	if ((st = app_store(app)) == NULL)
		return 0;
	switch (store_user_get_email(st, email, &r->user)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		r->state = ADMIN_SEARCH_NOT_FOUND;
		return 0;
	default:
		return 0;
	}
	crypto_cleanse(r->user.pwhash, sizeof(r->user.pwhash));
	r->state = ADMIN_SEARCH_FOUND;
	if ((r->sessions = calloc(ADMIN_SESSIONS_MAX,
	    sizeof(*r->sessions))) == NULL)
		return -1;
	return store_session_each(st, r->user.id, search_row_add, &c) ==
	    STORE_OK ? 0 : -1;
}

void
route_admin_page(struct app *app, struct request *req, struct response *resp)
{
	struct session		 se;
	struct admin_view	 v;
	struct admin_search	 r;
	struct adminpage_ctx	 c;
	char			 token[CSRF_TOKEN_MAX];
	int			 rc;

	if (!admin_only(app, req, resp, &se, 1))
		return;
	if (csrf_token(app, req, resp, token, sizeof(token)) == -1) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if (admin_view_read(app, req, resp, &v) == -1)
		return;
	resp->status = 200;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	c = (struct adminpage_ctx){ .www_dir = app->cfg->www_dir,
	    .prefix = app->cfg->prefix, .admin_email = se.user.email,
	    .csrf = token, .query_email = fields_get_text(&req->qs, "email"),
	    .stats = app->stats, .now = req->now };
	rc = admin_search(app, req, &r);
	if (rc == -1 || adminpage_render(&c, &v, &r, &resp->body) == -1)
		http_resp_error(req, resp, 500, "admin page unavailable");
	free(r.sessions);
}

void
route_admin_cache_clear(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;

	if (!admin_only(app, req, resp, &se, 0))
		return;
	if (cache_clear(app_cache(app)) == -1) {
		http_resp_error(req, resp, 503, "the session cache file cannot be "
		    "opened by this process");
		return;
	}
	log_info("admin %s cleared the session cache", se.user.email);
	admin_done(app, req, resp, "{\"cleared\":true}");
}

void
route_admin_stats_reset(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;

	if (!admin_only(app, req, resp, &se, 0))
		return;
	if (app->stats != NULL)
		stats_reset(app->stats);
	log_info("admin %s reset the counters", se.user.email);
	admin_done(app, req, resp, "{\"reset\":true}");
}

/* End every session of the user with this address; SESSION_NONE if no
 * such user. */
static enum session_rc
admin_revoke_user(struct app *app, const char *email)
{
	struct store	*st;
	struct user	 u;

	if ((st = app_store(app)) == NULL)
		return SESSION_ERROR;
	switch (store_user_get_email(st, email, &u)) {
	case STORE_OK:
		crypto_cleanse(u.pwhash, sizeof(u.pwhash));
		return session_user_changed(app, u.id, 1);
	case STORE_NOTFOUND:
		return SESSION_NONE;
	default:
		return SESSION_ERROR;
	}
}

void
route_admin_sessions_revoke(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;
	const char	*id = fields_get_text(&req->form, "id");
	const char	*user = fields_get_text(&req->form, "user");
	char		 email[UTIL_EMAIL_MAX + 1];
	int		 by_id = id != NULL && id[0] != '\0';
	enum session_rc	 rc;

	if (!admin_only(app, req, resp, &se, 0))
		return;
	if (by_id == (user != NULL && user[0] != '\0')) {
		http_resp_error(req, resp, 400, "give either id or user");
		return;
	}
	if (!by_id && util_email_normalize(user, email, sizeof(email)) == -1) {
		http_resp_error(req, resp, 400, "user is not a valid email address");
		return;
	}
	if (by_id)
		rc = strlen(id) > ADMIN_ID_MAX ? SESSION_NONE :
		    session_revoke(app, id, 0);
	else
		rc = admin_revoke_user(app, email);
	if (rc == SESSION_NONE) {
		http_resp_error(req, resp, 404, by_id ? "no such session" :
		    "no such user");
		return;
	}
	if (rc != SESSION_OK) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	log_info("admin %s revoked %s", se.user.email, by_id ?
	    "a session" : "every session of a user");
	admin_done(app, req, resp, "{\"revoked\":true}");
}

/*
 * 1 if the client may read /metrics: its address is in metrics_allow,
 * or it comes with an admin session. Otherwise answers 403 (or 503) and
 * returns 0.
 */
static int
metrics_access(struct app *app, struct request *req, struct response *resp)
{
	struct session		 se;
	enum session_source	 src;
	int			 allowed;

	allowed = metrics_allowed(app->cfg->metrics_allow, req->remote_addr);
	if (allowed == 1)
		return 1;
	if (allowed == -1)
		log_error("metrics_allow is malformed: no address may read "
		    "/metrics without an admin session");
	switch (routeutil_session_load(app, req, 0, &se, &src, NULL)) {
	case SESSION_OK:
		if (strcmp(se.user.role, "admin") == 0)
			return 1;
		break;
	case SESSION_ERROR:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return 0;
	default:
		break;
	}
	http_resp_error(req, resp, 403, "not allowed to read the metrics");
	return 0;
}

void
route_metrics(struct app *app, struct request *req, struct response *resp)
{
	struct admin_view	 v;

	if (!metrics_access(app, req, resp))
		return;
	if (admin_view_read(app, req, resp, &v) == -1)
		return;
	resp->status = 200;
	resp->content_type = METRICS_CONTENT_TYPE;
	buf_reset(&resp->body);
	if (metrics_write(&resp->body, app->stats, &v.ms) == -1)
		http_resp_error(req, resp, 500, "out of memory");
}
