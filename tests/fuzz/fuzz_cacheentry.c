/*
 * libFuzzer harness: cacheentry_decode on arbitrary bytes (what memcached
 * hands back is untrusted). The first 32 bytes are the hash looked up; an
 * entry that decodes must belong to it and must survive a round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cacheentry.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session	 se, back;
	struct buf	 b = { NULL, 0, 0 };
	unsigned char	 hash[CRYPTO_SHA256_LEN];

	if (size < sizeof(hash))
		return 0;
	memcpy(hash, data, sizeof(hash));
	if (cacheentry_decode((const char *)data + sizeof(hash),
	    size - sizeof(hash), hash, &se) != 0)
		return 0;
	if (memcmp(se.token_hash, hash, sizeof(hash)) != 0)
		abort();
	if (cacheentry_encode(&se, &b) != 0 ||
	    cacheentry_decode(b.data, b.len, hash, &back) != 0 ||
	    back.id != se.id || back.expires != se.expires ||
	    back.user.id != se.user.id ||
	    strcmp(back.user.email, se.user.email) != 0 ||
	    strcmp(back.user.role, se.user.role) != 0)
		abort();
	buf_free(&b);
	return 0;
}
