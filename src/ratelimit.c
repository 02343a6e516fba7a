#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

/* 1 if a6 is an IPv4-mapped address (::ffff:a.b.c.d, RFC 4291 2.5.5.2). */
static int
addr_is_v4mapped(const struct in6_addr *a6)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a6->s6_addr, mapped, sizeof(mapped)) == 0;
}

/* Clear every bit of a6 after its first prefix bits (0..128). */
static void
addr_mask(struct in6_addr *a6, int prefix)
{
	int	 i;

	for (i = 0; i < 16; i++) {
		if (prefix >= (i + 1) * 8)
			continue;
		if (prefix <= i * 8)
			a6->s6_addr[i] = 0;
		else
			a6->s6_addr[i] &= (unsigned char)(0xff <<
			    (8 - (prefix - i * 8)));
	}
}

int
ratelimit_addr_key(const char *addr, int v6_prefix, char *out, size_t outsz)
{
	struct in6_addr	 a6;
	char		 text[INET6_ADDRSTRLEN];
	int		 n;

	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1) {
		/* IPv4, or whatever the server gave, counts per address; a
		 * longer string is cut to the key's size (still one key). */
		if (outsz == 0)
			return -1;
		(void)util_strlcpy(out, addr, outsz);
		return 0;
	}
	if (addr_is_v4mapped(&a6)) {
		/* A dual-stack socket's IPv4 client: its own key, the same
		 * as when it arrives as plain IPv4 (SPEC 5). */
		if (inet_ntop(AF_INET, a6.s6_addr + 12, text,
		    sizeof(text)) == NULL)
			return -1;
		return util_strlcpy(out, text, outsz);
	}
	if (v6_prefix < 0)
		v6_prefix = 0;
	if (v6_prefix > 128)
		v6_prefix = 128;
	addr_mask(&a6, v6_prefix);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) == NULL)
		return -1;
	n = snprintf(out, outsz, "%s/%d", text, v6_prefix);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int64_t
ratelimit_retry_after(int64_t oldest, int64_t window, int64_t now)
{
	int64_t	 left = oldest + window - now;

	return left < 1 ? 1 : left;
}
