/* Session policy (SPEC section 5): pure arithmetic, no I/O, unit-tested. */
#ifndef AUTHGW_POLICY_H
#define AUTHGW_POLICY_H

#include <stdint.h>

struct policy {
	int64_t	lifetime;	/* idle lifetime, seconds */
	int64_t	max_lifetime;	/* absolute cap from creation */
};

/* Expiry of a session created at now. */
int64_t	policy_initial_expiry(const struct policy *, int64_t now);

/* 1 if a session with these times is alive at now. */
int	policy_alive(const struct policy *, int64_t now, int64_t created,
	    int64_t expires);

/*
 * Renewal by extension: if the idle expiry is less than half a lifetime
 * away, return the new expiry (now + lifetime, capped by created +
 * max_lifetime) when it is later than expires; otherwise return 0
 * (no write needed).
 */
int64_t	policy_extend(const struct policy *, int64_t now, int64_t created,
	    int64_t expires);

#endif
