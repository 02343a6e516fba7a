/*
 * libFuzzer harness for the pending-login decoder (totp_pending_decode,
 * SPEC 9), the token a right password of an account with the second
 * factor gets instead of a session.
 *
 * Input: a mode byte, then bytes. Mode even: the bytes are the token's
 * text, decoded as sent (a forgery: it must never decode without the key).
 * Mode odd: the bytes are a payload this harness tags with the key, as
 * only authgw can, so the field checks behind the tag are reached. Whatever
 * decodes must round-trip through the encoder byte for byte, and be
 * within the fields' bounds; the text is on the heap, exactly its size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "totp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const unsigned char	key[TOTP_KEY_LEN] = "fuzz key for pending logins..";

#define NOW	1700000000

static void
check(const char *text, size_t len, int tagged)
{
	struct totp_pending	 p;
	enum totp_pending_rc	 rc;
	char			 back[TOTP_PENDING_TEXT_MAX];
	int			 n;

	rc = totp_pending_decode(text, len, key, NOW, 300, &p);
	if (rc == TOTP_PENDING_BAD)
		return;
	if (!tagged)
		abort();	/* accepted without the key */
	if (p.user_id <= 0 || p.issued > NOW + 1 || p.email[0] == '\0' ||
	    strlen(p.email) > TOTP_EMAIL_MAX)
		abort();
	if (rc == TOTP_PENDING_OK && NOW - p.issued >= 300)
		abort();
	n = totp_pending_encode(&p, key, back, sizeof(back));
	if (n < 0 || (size_t)n != len || memcmp(back, text, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	 raw[1024];
	char		*text;
	size_t		 len;
	int		 n;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		if ((text = malloc(size - 1 + 1)) == NULL)
			return 0;
		memcpy(text, data + 1, size - 1);
		check(text, size - 1, 0);
		free(text);
		return 0;
	}
	len = size - 1;
	if (len > sizeof(raw) - CRYPTO_SHA256_LEN)
		return 0;
	memcpy(raw, data + 1, len);
	if (crypto_hmac_sha256(key, sizeof(key), raw, len, raw + len) == -1)
		return 0;
	len += CRYPTO_SHA256_LEN;
	if ((text = malloc(CRYPTO_B64_LEN(len))) == NULL)
		return 0;
	if ((n = crypto_b64url_encode(raw, len, text, CRYPTO_B64_LEN(len))) > 0)
		check(text, (size_t)n, 1);
	free(text);
	return 0;
}
