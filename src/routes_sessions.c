/* The user's own sessions: GET /sessions, POST /sessions/revoke. */
#include <string.h>

#include "app.h"
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "policy.h"
#include "routes.h"
#include "routeutil.h"
#include "session.h"
#include "store.h"

#define SESSIONS_LIST_MAX	500	/* sessions listed in one answer */
#define SESSIONS_ID_MAX		64	/* bytes of an id worth looking up */

/* The walk over the caller's sessions, building the JSON list. */
struct own_list {
	struct jobj		*root;
	const unsigned char	*current;	/* the request's token hash */
	const struct policy	*policy;
	int64_t			 now;
	size_t			 n;
};

static int
own_session_add(const struct session *se, void *arg)
{
	struct own_list	*l = arg;
	struct jobj	*o;

	/* Dead rows wait for the purge; they are no one's session. */
	if (!policy_alive(l->policy, l->now, se->created, se->expires))
		return 0;
	if (l->n >= SESSIONS_LIST_MAX)
		return 1;
	o = jobj_arr_obj(l->root, "sessions");
	jobj_str(o, "id", se->public_id);
	jobj_int(o, "created", se->created);
	jobj_int(o, "last_seen", se->last_seen);
	jobj_int(o, "expires", se->expires);
	jobj_str(o, "ip", se->ip);
	jobj_str(o, "user_agent", se->user_agent);
	jobj_bool(o, "current", crypto_memeq(se->token_hash, l->current,
	    CRYPTO_SHA256_LEN));
	l->n++;
	return 0;
}

/*
 * Load the caller's session into se and its token hash into hash.
 * Returns 1, or answers 401/503 and returns 0.
 */
static int
own_session(struct app *app, struct request *req, struct response *resp,
    struct session *se, unsigned char *hash)
{
	enum session_source	 src;

	switch (routeutil_session_load(app, req, 0, se, &src, hash)) {
	case SESSION_OK:
		return 1;
	case SESSION_NONE:
		http_resp_error(req, resp, 401, "no valid session");
		return 0;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
		return 0;
	}
}

void
route_sessions_get(struct app *app, struct request *req, struct response *resp)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	struct session	 se;
	struct store	*st;
	struct own_list	 l;

	req->wants_json = 1;
	if (!own_session(app, req, resp, &se, hash))
		return;
	if ((st = app_store(app)) == NULL) {
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	memset(&l, 0, sizeof(l));
	l.root = jobj_new();
	l.current = hash;
	l.policy = &app->policy;
	l.now = req->now;
	if (store_session_each(st, se.user.id, own_session_add, &l) !=
	    STORE_OK) {
		jobj_free(l.root);
		http_resp_error(req, resp, 503, "session storage unavailable");
		return;
	}
	if (l.n == 0) {
		/* Ended meanwhile; the builder has no empty array. */
		jobj_free(l.root);
		http_resp_text(resp, 200, "application/json", "{\"sessions\":[]}");
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (jobj_finish(l.root, &resp->body) == -1)
		http_resp_error(req, resp, 500, "out of memory");
}

void
route_sessions_revoke(struct app *app, struct request *req,
    struct response *resp)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	struct session	 se;
	const char	*id = fields_get_text(&req->form, "id");

	req->wants_json = 1;
	if (!own_session(app, req, resp, &se, hash))
		return;
	if (id == NULL || id[0] == '\0') {
		http_resp_error(req, resp, 400, "id is required");
		return;
	}
	/* Another user's id is answered like an unknown one. */
	switch (strlen(id) > SESSIONS_ID_MAX ? SESSION_NONE :
	    session_revoke(app, id, se.user.id)) {
	case SESSION_OK:
		log_info("user %lld revoked one of their sessions",
		    (long long)se.user.id);
		http_resp_text(resp, 200, "application/json", "{\"revoked\":true}");
		break;
	case SESSION_NONE:
		http_resp_error(req, resp, 404, "no such session");
		break;
	default:
		http_resp_error(req, resp, 503, "session storage unavailable");
	}
}
