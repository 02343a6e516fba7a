/*
 * Sliding-window rate limiting (SPEC section 5): an exact log of counted
 * attempts per key in SQLite, shared by every worker and instance and
 * surviving restarts. The pure parts (client address keys, Retry-After)
 * are here; the counting is in the store.
 */
#ifndef AUTHGW_RATELIMIT_H
#define AUTHGW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX	64

enum ratelimit_kind {
	RL_LOGIN_ACCOUNT = 1,
	RL_LOGIN_ADDR = 2,
	RL_MAIL_ACCOUNT = 3,	/* /register and /verify/resend */
	RL_MAIL_ADDR = 4,
	RL_RESET_ACCOUNT = 5,	/* /password/forgot */
	RL_RESET_ADDR = 6
};

/*
 * The counting key of a client address: an IPv4 address as it is, an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address a.b.c.d
 * (canonical text), any other IPv6 address masked to its first v6_prefix
 * bits (canonical text with "/N"), anything else (a unix socket peer, "",
 * garbage) as given, cut to outsz. Returns 0, or -1 if out cannot hold the
 * key of an IPv6 or mapped address.
 */
int	ratelimit_addr_key(const char *addr, int v6_prefix, char *out,
	    size_t outsz);

/*
 * Seconds until the oldest counted attempt (at oldest) leaves a window of
 * window seconds at now; at least 1.
 */
int64_t	ratelimit_retry_after(int64_t oldest, int64_t window, int64_t now);

#endif
