/*
 * libFuzzer harness for the Authorization header parser
 * (parse_authorization: Bearer with an agw_ token, HTTP Basic with an
 * email and a token as the password, anything else ignored).
 *
 * As fuzz_token.c: what is accepted is checked against the format's
 * definition, independently of the parser. Every pointer handed out lies
 * inside the input or the structure's buffer; accepted Basic credentials
 * re-encode (OpenSSL's base64, a reference not written here) to exactly
 * the credentials given, so there is one spelling of each; a Bearer token
 * is the input's own bytes after "agw_"; only the two schemes (in any
 * case) are ever recognised. The input is copied to a heap buffer of its
 * exact size, so ASan sees a byte read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
within(const char *p, size_t n, const char *lo, size_t len)
{
	return p >= lo && p <= lo + len && n <= len - (size_t)(p - lo);
}

/* The credentials part: after the scheme and its spaces, OWS trimmed. */
static void
split(const char *p, size_t len, const char **scheme, size_t *slen,
    const char **cred, size_t *clen)
{
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*scheme = p;
	for (*slen = 0; *slen < len && p[*slen] != ' '; (*slen)++)
		;
	*cred = p + *slen;
	*clen = len - *slen;
	while (*clen > 0 && **cred == ' ')
		(*cred)++, (*clen)--;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_authz	 az;
	const char		*scheme, *cred;
	char			*p;
	unsigned char		*enc;
	size_t			 slen, clen, plain;
	int			 n;

	if ((p = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(p, data, size);
	parse_authorization(p, size, &az);
	split(p, size, &scheme, &slen, &cred, &clen);
	switch (az.kind) {
	case PARSE_AUTHZ_NONE:
		if (az.token != NULL || az.user != NULL || az.ok)
			abort();
		/* Never a Basic, nor a Bearer with the prefix, let pass. */
		if (slen == 5 && strncasecmp(scheme, "Basic", 5) == 0)
			abort();
		if (slen == 6 && strncasecmp(scheme, "Bearer", 6) == 0 &&
		    clen >= 4 && memcmp(cred, "agw_", 4) == 0)
			abort();
		break;
	case PARSE_AUTHZ_BEARER:
		if (!az.ok || slen != 6 || strncasecmp(scheme, "Bearer", 6) ||
		    az.token != cred + 4 || az.tlen != clen - 4 ||
		    memcmp(cred, "agw_", 4) != 0)
			abort();
		break;
	case PARSE_AUTHZ_BASIC:
		if (slen != 5 || strncasecmp(scheme, "Basic", 5) != 0)
			abort();
		if (!az.ok) {
			if (az.user != NULL || az.token != NULL)
				abort();
			break;
		}
		if (az.user != az.buf || !within(az.user, az.ulen, az.buf,
		    sizeof(az.buf)) || az.buf[az.ulen] != ':')
			abort();
		plain = az.blen;
		if (plain > sizeof(az.buf) || plain <= az.ulen)
			abort();
		if (az.token != NULL && (!within(az.token, az.tlen, az.buf,
		    plain) || az.token != az.buf + az.ulen + 5 ||
		    az.token + az.tlen != az.buf + plain ||
		    memcmp(az.buf + az.ulen + 1, "agw_", 4) != 0))
			abort();
		if (az.token == NULL && plain - az.ulen - 1 >= 4 &&
		    memcmp(az.buf + az.ulen + 1, "agw_", 4) == 0)
			abort();
		if ((enc = malloc(plain / 3 * 4 + 8)) == NULL)
			abort();
		n = EVP_EncodeBlock(enc, (const unsigned char *)az.buf,
		    (int)plain);
		if (n < 0 || (size_t)n != clen || memcmp(enc, cred, clen) != 0)
			abort();
		free(enc);
		for (size_t i = 0; i < plain; i++)
			if ((unsigned char)az.buf[i] < 0x20 ||
			    az.buf[i] == 0x7f)
				abort();
		break;
	default:
		abort();
	}
	free(p);
	return 0;
}
