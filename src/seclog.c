/* The security log: one escaped, stable line per event. */
#include <string.h>

#include "log.h"
#include "seclog.h"
#include "util.h"

#define SECLOG_FIELD_MAX	256	/* escaped bytes of one field */

static const char *const names[SECLOG__COUNT] = {
	[SECLOG_LOGIN_FAILED] = "login_failed",
	[SECLOG_RATE_LIMITED] = "rate_limited",
	[SECLOG_HASH_BUSY] = "hash_busy",
	[SECLOG_CSRF] = "csrf_refused",
	[SECLOG_SESSION_UNKNOWN] = "session_unknown",
	[SECLOG_RESET_REQUESTED] = "reset_requested",
	[SECLOG_RESET_DONE] = "reset_done",
	[SECLOG_PASSWORD_CHANGED] = "password_changed",
	[SECLOG_TOKEN_REFUSED] = "token_refused",
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

/*
 * 1 if a line of a cheap event may be written now: at most SECLOG_BURST
 * in each second of this process; a second that dropped some says how
 * many when the next one begins.
 */
static int
burst_allows(void)
{
	static int64_t		 second;
	static unsigned int	 written, dropped;
	int64_t			 now = util_mono_usec() / 1000000;

	if (now != second) {
		if (dropped > 0)
			log_warn("security: %u lines of session_unknown, "
			    "csrf_refused and hash_busy not written in one "
			    "second (more than %d)", dropped, SECLOG_BURST);
		second = now;
		written = dropped = 0;
	}
	if (written >= SECLOG_BURST) {
		dropped++;
		return 0;
	}
	written++;
	return 1;
}

static void
seclog_line(enum seclog_event ev, const char *client, const char *user,
    const char *route, const char *extra)
{
	char	 c[SECLOG_FIELD_MAX], u[SECLOG_FIELD_MAX], r[SECLOG_FIELD_MAX];

	if (!log_enabled(LOG_LEVEL_WARN))
		return;
	if ((ev == SECLOG_SESSION_UNKNOWN || ev == SECLOG_CSRF ||
	    ev == SECLOG_TOKEN_REFUSED ||
	    ev == SECLOG_HASH_BUSY) && !burst_allows())
		return;
	log_warn("security: event=%s client=\"%s\" user=\"%s\" "
	    "route=\"%s\"%s", seclog_name(ev), field(client, c, sizeof(c)),
	    field(user, u, sizeof(u)), field(route, r, sizeof(r)), extra);
}

void
seclog(enum seclog_event ev, const char *client, const char *user,
    const char *route)
{
	seclog_line(ev, client, user, route, "");
}

void
seclog_limited(const char *client, const char *user, const char *route,
    int by_addr)
{
	seclog_line(SECLOG_RATE_LIMITED, client, user, route, by_addr ?
	    " limit=\"addr\"" : " limit=\"account\"");
}
