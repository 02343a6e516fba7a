/*
 * libFuzzer harness: ratelimit_addr_key, the rate-limit key of a client
 * address (REMOTE_ADDR, whatever the web server hands over).
 *
 * Input: a byte for the IPv6 prefix (-64..191: the clamps too), a byte
 * for the output size (0..255), then the address (cut at a NUL, as a
 * parameter is a C string).
 *
 * Invariants: the key ends within the buffer; with RATELIMIT_KEY_MAX
 * bytes (what the routes pass) it never fails; an IPv4-mapped address is
 * keyed as its IPv4 text; any other IPv6 address as the canonical text of
 * its /N network ("TEXT/N", N clamped to 0..128), the same for every
 * address of that network and the same when the key is keyed again;
 * anything else as given, cut to the buffer.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Bits of a after the first n (0..128) are zero. */
static int
host_bits_zero(const struct in6_addr *a, int n)
{
	int	 i;

	for (i = n; i < 128; i++)
		if (a->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/* The first n bits of a and b are equal. */
static int
net_bits_equal(const struct in6_addr *a, const struct in6_addr *b, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if ((a->s6_addr[i / 8] ^ b->s6_addr[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

static int
is_v4mapped(const struct in6_addr *a)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a->s6_addr, mapped, sizeof(mapped)) == 0;
}

static void
check_mapped(const struct in6_addr *a6, const char *key)
{
	struct in_addr	 a4;

	if (inet_pton(AF_INET, key, &a4) != 1 ||
	    memcmp(&a4, a6->s6_addr + 12, 4) != 0)
		abort();
}

/*
 * "TEXT/N": N the clamped prefix, TEXT canonical, a's network, no host
 * bits; another address of the network (host bits from flip) and the
 * key's own address give the same key.
 */
static void
check_v6(const struct in6_addr *a6, int prefix, const char *key,
    unsigned char flip)
{
	struct in6_addr	 k6, other;
	char		 text[INET6_ADDRSTRLEN + 8], canon[INET6_ADDRSTRLEN];
	char		 again[RATELIMIT_KEY_MAX];
	const char	*slash;
	int		 n, i;

	n = prefix < 0 ? 0 : prefix > 128 ? 128 : prefix;
	if ((slash = strrchr(key, '/')) == NULL ||
	    (size_t)(slash - key) >= sizeof(text))
		abort();
	memcpy(text, key, (size_t)(slash - key));
	text[slash - key] = '\0';
	if (snprintf(canon, sizeof(canon), "%d", n) < 0 ||
	    strcmp(slash + 1, canon) != 0)
		abort();
	if (inet_pton(AF_INET6, text, &k6) != 1 ||
	    inet_ntop(AF_INET6, &k6, canon, sizeof(canon)) == NULL ||
	    strcmp(canon, text) != 0)
		abort();
	if (!host_bits_zero(&k6, n) || !net_bits_equal(&k6, a6, n))
		abort();
	/* The key's own address (mapped space aside) keys to itself. */
	if (!is_v4mapped(&k6) && (ratelimit_addr_key(text, prefix, again,
	    sizeof(again)) != 0 || strcmp(again, key) != 0))
		abort();
	other = *a6;
	for (i = n; i < 128; i++)
		if ((flip >> (i % 8)) & 1)
			other.s6_addr[i / 8] ^= (unsigned char)(0x80 >> (i % 8));
	if (is_v4mapped(&other) ||
	    inet_ntop(AF_INET6, &other, canon, sizeof(canon)) == NULL)
		return;
	if (ratelimit_addr_key(canon, prefix, again, sizeof(again)) != 0 ||
	    strcmp(again, key) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in6_addr	 a6;
	char		*addr, *out;
	size_t		 outsz, len;
	int		 prefix, rc, v6;

	if (size < 2)
		return 0;
	prefix = (int)data[0] - 64;
	outsz = data[1];
	len = strnlen((const char *)data + 2, size - 2);
	if ((addr = malloc(len + 1)) == NULL ||
	    (out = malloc(RATELIMIT_KEY_MAX)) == NULL)
		abort();
	memcpy(addr, data + 2, len);
	addr[len] = '\0';
	v6 = strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, &a6) == 1;

	/* What the routes pass: always a key. */
	if (ratelimit_addr_key(addr, prefix, out, RATELIMIT_KEY_MAX) != 0 ||
	    memchr(out, '\0', RATELIMIT_KEY_MAX) == NULL)
		abort();
	if (!v6) {
		if (strncmp(out, addr, RATELIMIT_KEY_MAX - 1) != 0)
			abort();
	} else if (is_v4mapped(&a6))
		check_mapped(&a6, out);
	else
		check_v6(&a6, prefix, out, data[size - 1]);
	free(out);

	/* Any size, exactly that much room: a key or -1, never more. */
	if ((out = malloc(outsz ? outsz : 1)) == NULL)
		abort();
	rc = ratelimit_addr_key(addr, prefix, out, outsz);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == 0 && (outsz == 0 || memchr(out, '\0', outsz) == NULL))
		abort();
	if (rc == 0 && !v6 && strncmp(out, addr, outsz - 1) != 0)
		abort();
	if (rc == -1 && !v6 && outsz != 0)
		abort();
	free(out);
	free(addr);
	return 0;
}
