/* The security log: one escaped, stable line per event. */
#include <string.h>

#include "log.h"
#include "seclog.h"

#define SECLOG_FIELD_MAX	256	/* escaped bytes of one field */

static const char *const names[SECLOG__COUNT] = {
	[SECLOG_LOGIN_FAILED] = "login_failed",
	[SECLOG_RATE_LIMITED] = "rate_limited",
	[SECLOG_HASH_BUSY] = "hash_busy",
	[SECLOG_CSRF] = "csrf_refused",
	[SECLOG_SESSION_UNKNOWN] = "session_unknown",
};

const char *
seclog_name(enum seclog_event ev)
{
	return ev >= 0 && ev < SECLOG__COUNT ? names[ev] : "unknown";
}

/* The escaped value of s (or "-" for none) into out. */
static const char *
field(const char *s, char *out, size_t outsz)
{
	if (s == NULL || s[0] == '\0')
		return "-";
	return log_escape(s, strlen(s), out, outsz);
}

void
seclog(enum seclog_event ev, const char *client, const char *user,
    const char *route)
{
	char	 c[SECLOG_FIELD_MAX], u[SECLOG_FIELD_MAX], r[SECLOG_FIELD_MAX];

	if (!log_enabled(LOG_LEVEL_WARN))
		return;
	log_warn("security: event=%s client=\"%s\" user=\"%s\" route=\"%s\"",
	    seclog_name(ev), field(client, c, sizeof(c)),
	    field(user, u, sizeof(u)), field(route, r, sizeof(r)));
}
