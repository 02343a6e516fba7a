#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char	*log_ident = "authgw";
static enum log_level	 log_max = LOG_LEVEL_INFO;
static int		 log_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int	 level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(const char *ident, enum log_level level, int use_syslog)
{
	log_ident = ident;
	log_max = level;
	if (use_syslog && !log_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

int
log_enabled(enum log_level level)
{
	return level <= log_max;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);	/* truncation is fine here */
	va_end(ap);
	if (log_syslog)
		syslog(level_prio[level], "%s", line);
	else
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident, (long)getpid(),
		    level_names[level], line);
}

char *
log_escape(const char *p, size_t len, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0;
	unsigned char		 c;

	if (outsz == 0)
		return out;
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			if (outsz - o < 2 + 4)
				goto trunc;
			out[o++] = (char)c;
		} else {
			if (outsz - o < 5 + 4)
				goto trunc;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
trunc:
	if (outsz - o >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
