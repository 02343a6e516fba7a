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

/*
 * The fuzzer cannot forge a tag, so it would never get past the check;
 * with half of the inputs it tags what it wrote itself (bit 0 of the first
 * byte), so the field parser is explored too.
 */
static const unsigned char key[CACHEENTRY_KEY_LEN] = "fuzz key";

static int
tag_and_decode(const char *p, size_t len, const unsigned char *hash,
    struct session *se, uint64_t *gen, int64_t *vu)
{
	char		 tag[CRYPTO_B64_LEN(CRYPTO_SHA256_LEN)];
	unsigned char	 mac[CRYPTO_SHA256_LEN];
	struct buf	 b = { NULL, 0, 0 };
	int		 rc;

	if (crypto_hmac_sha256(key, sizeof(key), p, len, mac) == -1 ||
	    crypto_b64url_encode(mac, sizeof(mac), tag, sizeof(tag)) < 0 ||
	    buf_append(&b, p, len) == -1 || buf_printf(&b, "\t%s", tag) == -1)
		abort();
	rc = cacheentry_decode(b.data, b.len, hash, key, se, gen, vu);
	buf_free(&b);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session	 se, back;
	struct buf	 b = { NULL, 0, 0 };
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	uint64_t	 gen, gen2;
	int64_t		 vu, vu2;

	if (size < sizeof(hash))
		return 0;
	memcpy(hash, data, sizeof(hash));
	if ((data[0] & 1 ? tag_and_decode((const char *)data + sizeof(hash),
	    size - sizeof(hash), hash, &se, &gen, &vu) :
	    cacheentry_decode((const char *)data + sizeof(hash),
	    size - sizeof(hash), hash, key, &se, &gen, &vu)) != 0)
		return 0;
	if (memcmp(se.token_hash, hash, sizeof(hash)) != 0)
		abort();
	if (cacheentry_encode(&se, gen, vu, key, &b) != 0 ||
	    cacheentry_decode(b.data, b.len, hash, key, &back, &gen2,
	    &vu2) != 0 || gen2 != gen || vu2 != vu ||
	    back.id != se.id || back.expires != se.expires ||
	    back.user.id != se.user.id || back.is_token != se.is_token ||
	    strcmp(back.user.email, se.user.email) != 0 ||
	    strcmp(back.user.role, se.user.role) != 0)
		abort();
	buf_free(&b);
	return 0;
}
