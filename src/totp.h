/*
 * The pure parts of the second factor (SPEC 9): RFC 4226/6238 one-time
 * codes (HMAC-SHA-1, 30-second steps, 6 digits, one step of skew), the
 * base32 text of a secret, the shape of a code a user types, recovery
 * codes, and the signed pending-login token. No I/O; unit-tested and
 * fuzzed (the token decoder).
 */
#ifndef AUTHGW_TOTP_H
#define AUTHGW_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN		20	/* random bytes (RFC 4226's 160 bits) */
#define TOTP_B32_LEN		32	/* base32 of 20 bytes, no padding */
#define TOTP_PERIOD		30
#define TOTP_DIGITS		6
#define TOTP_SKEW		1	/* steps either way */
#define TOTP_RECOVERY_N		10	/* recovery codes given at enabling */
#define TOTP_RECOVERY_RAW	10	/* random bytes: 16 base32 characters */
#define TOTP_RECOVERY_CHARS	16
#define TOTP_RECOVERY_TEXT_LEN	19	/* XXXX-XXXX-XXXX-XXXX */
#define TOTP_CODE_MAX		64	/* bytes of a typed code worth reading */
#define TOTP_KEY_LEN		32	/* the pending token's HMAC key */
#define TOTP_NONCE_LEN		16
#define TOTP_EMAIL_MAX		254
/* base64url of 1 + 4*8 + 16 + 1 + 254 + 32 bytes (448), and its NUL. */
#define TOTP_PENDING_TEXT_MAX	452
#define TOTP_PENDING_TTL_MAX	300	/* SPEC 9: within 5 minutes */

/*
 * The HOTP value (RFC 4226) of key at counter, digits 6 to 8 long: 0, or
 * -1 for bad arguments.
 */
int	totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
	    int digits, uint32_t *value);

/* The time step of a Unix time (RFC 6238, T0 = 0). */
int64_t	totp_step(int64_t now);

/*
 * The step among totp_step(now) - TOTP_SKEW .. + TOTP_SKEW whose 6-digit
 * code is code (6 ASCII digits, as totp_code_kind leaves it) and which is
 * later than after (the last accepted step: a replay is refused). Every
 * candidate is computed and compared in constant time. Returns the step,
 * or -1 when none matches.
 */
int64_t	totp_match(const unsigned char *key, size_t keylen, const char *code,
	    int64_t now, int64_t after);

/*
 * RFC 4648 base32, upper case, no padding: out needs 8*ceil(len/5)+1
 * bytes. Returns the length written (terminated) or -1.
 */
int	totp_base32_encode(const unsigned char *in, size_t len, char *out,
	    size_t outsz);

enum totp_code_kind {
	TOTP_CODE_BAD = -1,	/* neither shape: a 400 */
	TOTP_CODE_OTP = 0,	/* 6 digits */
	TOTP_CODE_RECOVERY = 1	/* 16 base32 characters */
};

/*
 * What a typed code (untrusted, len bytes) is: spaces and dashes are
 * dropped and letters upper-cased; 6 digits are a one-time code, 16
 * base32 characters a recovery code, anything else TOTP_CODE_BAD. norm
 * (normsz > TOTP_RECOVERY_CHARS) gets the normalised code.
 */
enum totp_code_kind	totp_code_kind(const char *p, size_t len, char *norm,
			    size_t normsz);

/*
 * A new recovery code: text gets XXXX-XXXX-XXXX-XXXX (base32 of
 * TOTP_RECOVERY_RAW random bytes), norm the 16 characters alone (as
 * totp_code_kind gives them). Returns 0 or -1.
 */
int	totp_recovery_new(char text[TOTP_RECOVERY_TEXT_LEN + 1],
	    char norm[TOTP_RECOVERY_CHARS + 1]);

/* A pending login: a right password waiting for its code (SPEC 9). */
struct totp_pending {
	int64_t		 user_id;
	int64_t		 gen;		/* the user's generation at issue */
	int64_t		 factor;	/* the factor's instance at issue */
	int64_t		 issued;
	unsigned char	 nonce[TOTP_NONCE_LEN];	/* its single-use record */
	char		 email[TOTP_EMAIL_MAX + 1];
};

/*
 * The token of p: version, the fields, and an HMAC-SHA-256 under key over
 * them, base64url, into out (outsz >= TOTP_PENDING_TEXT_MAX). Returns the
 * length or -1.
 */
int	totp_pending_encode(const struct totp_pending *p,
	    const unsigned char key[TOTP_KEY_LEN], char *out, size_t outsz);

enum totp_pending_rc {
	TOTP_PENDING_OK = 0,
	TOTP_PENDING_BAD = 1,		/* malformed, forged or tampered */
	TOTP_PENDING_EXPIRED = 2	/* issued ttl seconds or more ago */
};

/*
 * Decode the token (untrusted, len bytes): the tag is checked (constant
 * time) before any field is read; then it must have been issued at most
 * ttl seconds before now (and not after now + 1). out is filled only for
 * TOTP_PENDING_OK and TOTP_PENDING_EXPIRED.
 */
enum totp_pending_rc	totp_pending_decode(const char *p, size_t len,
			    const unsigned char key[TOTP_KEY_LEN], int64_t now,
			    int64_t ttl, struct totp_pending *out);

#endif
