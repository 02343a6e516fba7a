/*
 * Session policy: idle expiry, absolute cap, renewal by extension.
 * Times are seconds; sums saturate so hostile or corrupt stored values
 * cannot overflow.
 */
#include <stdint.h>

#include "policy.h"

static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* The absolute end of a session created at created. */
static int64_t
policy_cap(const struct policy *pol, int64_t created)
{
	return add_sat(created, pol->max_lifetime);
}

int64_t
policy_initial_expiry(const struct policy *pol, int64_t now)
{
	int64_t	 exp, cap;

	exp = add_sat(now, pol->lifetime);
	cap = policy_cap(pol, now);
	return exp < cap ? exp : cap;
}

int
policy_alive(const struct policy *pol, int64_t now, int64_t created,
    int64_t expires)
{
	return now < expires && now < policy_cap(pol, created);
}

int64_t
policy_extend(const struct policy *pol, int64_t now, int64_t created,
    int64_t expires)
{
	int64_t	 left, next, cap;

	if (pol->lifetime <= 0 || !policy_alive(pol, now, created, expires))
		return 0;
	/* Alive, so expires > now; saturate the pathological wide spans. */
	left = now < 0 && expires > INT64_MAX + now ? INT64_MAX : expires - now;
	/* Half a lifetime or more left (2 * left >= lifetime): no write yet. */
	if (left >= pol->lifetime - left)
		return 0;
	next = add_sat(now, pol->lifetime);
	cap = policy_cap(pol, created);
	if (next > cap)
		next = cap;
	return next > expires ? next : 0;
}
