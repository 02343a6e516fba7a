/* The admin routes (SPEC section 4): for sessions with role admin. */
#include <string.h>

#include "app.h"
#include "cache.h"
#include "http.h"
#include "log.h"
#include "routes.h"
#include "session.h"

/*
 * 1 if the request comes with an admin session; otherwise answers 401
 * (no session), 403 (not an admin) or 503 and returns 0.
 */
static int
admin_only(struct app *app, struct request *req, struct response *resp,
    struct session *se)
{
	enum session_source	 src;

	switch (route_session_load(app, req, 0, se, &src, NULL)) {
	case SESSION_OK:
		if (strcmp(se->user.role, "admin") == 0)
			return 1;
		resp_error(req, resp, 403, "admin role required");
		return 0;
	case SESSION_NONE:
		resp_error(req, resp, 401, "no valid session");
		return 0;
	default:
		resp_error(req, resp, 503, "session storage unavailable");
		return 0;
	}
}

void
route_admin_cache_clear(struct app *app, struct request *req,
    struct response *resp)
{
	struct session	 se;

	if (!admin_only(app, req, resp, &se))
		return;
	cache_clear(app_cache(app));
	log_info("admin %s cleared the session cache", se.user.email);
	resp_text(resp, 200, "application/json", "{\"cleared\":true}");
}
