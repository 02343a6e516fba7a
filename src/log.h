/* Logging: to stderr (the web server's or service manager's log) or syslog. */
#ifndef AUTHGW_LOG_H
#define AUTHGW_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

void	log_init(const char *ident, enum log_level, int use_syslog);
/* 1 if messages of this level are written (to skip building them). */
int	log_enabled(enum log_level);
void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * Copy untrusted bytes (p, len) into out (size outsz, always terminated)
 * with every byte outside printable ASCII, and '\\' and '"', escaped as \xNN.
 * Truncates with "..." when out is too small. Returns out.
 */
char	*log_escape(const char *p, size_t len, char *out, size_t outsz);

#endif
