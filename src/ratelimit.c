#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

int
ratelimit_addr_key(const char *addr, int v6_prefix, char *out, size_t outsz)
{
	struct in6_addr	 a6;
	char		 text[INET6_ADDRSTRLEN];
	int		 i, n;

	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1) {
		/* IPv4, or whatever the server gave, counts per address; a
		 * longer string is cut to the key's size (still one key). */
		if (outsz == 0)
			return -1;
		(void)util_strlcpy(out, addr, outsz);
		return 0;
	}
	if (v6_prefix < 0)
		v6_prefix = 0;
	if (v6_prefix > 128)
		v6_prefix = 128;
	for (i = 0; i < 16; i++) {
		if (v6_prefix >= (i + 1) * 8)
			continue;
		if (v6_prefix <= i * 8)
			a6.s6_addr[i] = 0;
		else
			a6.s6_addr[i] &= (unsigned char)(0xff <<
			    (8 - (v6_prefix - i * 8)));
	}
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
