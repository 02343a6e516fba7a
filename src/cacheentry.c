#include <string.h>

#include "cacheentry.h"
#include "util.h"

/* The first field: the entry's version, "s5" for a session and "t5" for
 * an API token in a session's shape (a check of one kind never accepts
 * the other). 4: the mfa field (SPEC 9); 5: valid_until (several hosts);
 * an older entry is a miss. */
#define CACHEENTRY_VERSION	"s5"
#define CACHEENTRY_VERSION_TOKEN	"t5"
#define CACHEENTRY_FIELDS	15
#define CACHEENTRY_TAG_LEN	43	/* base64url of an HMAC-SHA256 */

/* The tag of (p, len) under key, base64url, into tag (44 bytes). */
static int
entry_tag(const char *p, size_t len, const unsigned char *key,
    char tag[CACHEENTRY_TAG_LEN + 1])
{
	unsigned char	 mac[CRYPTO_SHA256_LEN];

	if (crypto_hmac_sha256(key, CACHEENTRY_KEY_LEN, p, len, mac) == -1 ||
	    crypto_b64url_encode(mac, sizeof(mac), tag, CACHEENTRY_TAG_LEN + 1) !=
	    CACHEENTRY_TAG_LEN)
		return -1;
	return 0;
}

int
cacheentry_encode(const struct session *se, uint64_t gen,
    int64_t valid_until, const unsigned char key[CACHEENTRY_KEY_LEN],
    struct buf *out)
{
	char	 hex[2 * CRYPTO_SHA256_LEN + 1];
	char	 tag[CACHEENTRY_TAG_LEN + 1];

	buf_reset(out);
	crypto_hex(se->token_hash, sizeof(se->token_hash), hex);
	if (gen > INT64_MAX || valid_until < 0)
		return -1;
	if (buf_printf(out, "%s\t%s\t%lld\t%lld\t%lld\t%s\t%lld\t"
	    "%lld\t%lld\t%lld\t%s\t%d\t%d\t%d\t%s", se->is_token ?
	    CACHEENTRY_VERSION_TOKEN : CACHEENTRY_VERSION, hex, (long long)gen,
	    (long long)valid_until,
	    (long long)se->id, se->public_id,
	    (long long)se->created, (long long)se->expires,
	    (long long)se->last_seen, (long long)se->user.id, se->user.role,
	    se->user.verified ? 1 : 0, se->user.disabled ? 1 : 0,
	    se->mfa ? 1 : 0, se->user.email) == -1)
		return -1;
	if (entry_tag(out->data, out->len, key, tag) == -1 ||
	    buf_printf(out, "\t%s", tag) == -1)
		return -1;
	return out->len <= CACHEENTRY_MAX ? 0 : -1;
}

/* Copy a text field of (p, len) into dst (size dstsz): printable only. */
static int
field_text(const char *p, size_t len, char *dst, size_t dstsz, int allow_empty)
{
	size_t	 i;

	if (len >= dstsz || (len == 0 && !allow_empty))
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return -1;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

static int
field_int(const char *p, size_t len, int64_t min, int64_t max, int64_t *out)
{
	return util_parse_int64(p, len, min, max, out);
}

int
cacheentry_decode(const char *p, size_t len,
    const unsigned char hash[CRYPTO_SHA256_LEN],
    const unsigned char key[CACHEENTRY_KEY_LEN], struct session *se,
    uint64_t *gen, int64_t *valid_until)
{
	const char	*f[CACHEENTRY_FIELDS], *tab, *end;
	size_t		 flen[CACHEENTRY_FIELDS], i;
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 tag[CACHEENTRY_TAG_LEN + 1];
	int64_t		 v, g, verified, disabled, mfa;

	if (p == NULL || len <= CACHEENTRY_TAG_LEN + 1 || len > CACHEENTRY_MAX)
		return -1;
	/* The tag first: nothing unauthenticated is parsed further. */
	len -= CACHEENTRY_TAG_LEN + 1;
	if (p[len] != '\t' || entry_tag(p, len, key, tag) == -1 ||
	    !crypto_memeq(tag, p + len + 1, CACHEENTRY_TAG_LEN))
		return -1;
	end = p + len;
	for (i = 0; i < CACHEENTRY_FIELDS; i++) {
		f[i] = p;
		tab = memchr(p, '\t', (size_t)(end - p));
		if (i + 1 < CACHEENTRY_FIELDS) {
			if (tab == NULL)
				return -1;
			flen[i] = (size_t)(tab - p);
			p = tab + 1;
		} else {
			if (tab != NULL)
				return -1;
			flen[i] = (size_t)(end - p);
		}
	}
	if (flen[0] != 2 || (memcmp(f[0], CACHEENTRY_VERSION, 2) != 0 &&
	    memcmp(f[0], CACHEENTRY_VERSION_TOKEN, 2) != 0) ||
	    flen[1] != 2 * CRYPTO_SHA256_LEN)
		return -1;
	if (crypto_unhex(f[1], flen[1], h, sizeof(h)) == -1)
		return -1;
	if (!crypto_memeq(h, hash, sizeof(h)))
		return -1;	/* misplaced or forged: authenticates no one */
	memset(se, 0, sizeof(*se));
	se->is_token = f[0][0] == CACHEENTRY_VERSION_TOKEN[0];
	memcpy(se->token_hash, h, sizeof(h));
	if (field_int(f[2], flen[2], 0, INT64_MAX, &g) == -1 ||
	    field_int(f[3], flen[3], 0, INT64_MAX, valid_until) == -1 ||
	    field_int(f[4], flen[4], 1, INT64_MAX, &se->id) == -1 ||
	    field_text(f[5], flen[5], se->public_id, sizeof(se->public_id),
	    0) == -1 ||
	    field_int(f[6], flen[6], 0, INT64_MAX, &se->created) == -1 ||
	    field_int(f[7], flen[7], 0, INT64_MAX, &se->expires) == -1 ||
	    field_int(f[8], flen[8], 0, INT64_MAX, &se->last_seen) == -1 ||
	    field_int(f[9], flen[9], 1, INT64_MAX, &se->user.id) == -1 ||
	    field_text(f[10], flen[10], se->user.role, sizeof(se->user.role),
	    0) == -1 ||
	    field_int(f[11], flen[11], 0, 1, &verified) == -1 ||
	    field_int(f[12], flen[12], 0, 1, &disabled) == -1 ||
	    field_int(f[13], flen[13], 0, 1, &mfa) == -1 ||
	    field_text(f[14], flen[14], se->user.email, sizeof(se->user.email),
	    0) == -1)
		return -1;
	if (strcmp(se->user.role, "user") != 0 &&
	    strcmp(se->user.role, "admin") != 0)
		return -1;
	se->user.verified = (int)verified;
	se->user.disabled = (int)disabled;
	/* A token never carries the factor, whatever an entry says. */
	se->mfa = !se->is_token && mfa == 1;
	*gen = (uint64_t)g;
	v = se->expires;
	return v >= se->created ? 0 : -1;
}
