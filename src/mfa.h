/*
 * The second factor (SPEC 9) as the routes use it: the secret sealed at
 * rest, the setup page's secret and QR code, enabling and removing it,
 * and the two steps of a login (the pending token, the code). The pure
 * parts are in totp.c; the records in the store ("Second factor").
 */
#ifndef AUTHGW_MFA_H
#define AUTHGW_MFA_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "totp.h"

struct app;
struct buf;
struct user;

enum mfa_rc {
	MFA_ERROR = -1,		/* storage or crypto failed: 503 */
	MFA_OK = 0,
	MFA_ON = 1,		/* the factor is on already */
	MFA_NONE = 2,		/* nothing to act on (no pending secret, off) */
	MFA_WRONG = 3,		/* a wrong, replayed or used code */
	MFA_USED = 4,		/* the pending login was finished before */
	MFA_STALE = 5		/* the password or account changed since */
};

/* 1 if the user has the factor on (its instance id into factor, if not
 * NULL), 0 if not, -1 on a storage error. */
int		 mfa_is_on(struct app *, int64_t user_id, int64_t *factor);

/*
 * The setup page's secret while the factor is off: the user's pending
 * secret (made and kept in the store if there is none, or only a stale
 * one: store_totp_pending_fresh) as base32 into
 * b32, its otpauth:// URI into uri and that URI's QR code (an <svg>)
 * into svg. MFA_OK, MFA_ON (nothing shown: once on, never again), or
 * MFA_ERROR.
 */
enum mfa_rc	 mfa_setup(struct app *, const struct user *,
		    char b32[TOTP_B32_LEN + 1], struct buf *uri, struct buf *svg);

/*
 * Turn the factor on with a code (6 digits, normalised) of the pending
 * secret: MFA_OK with TOTP_RECOVERY_N new recovery codes in codes (shown
 * once, stored hashed), every other session of the user (all but keep,
 * the enabling session's token hash) ended on every tier, in the unit of
 * work that turns it on; MFA_WRONG, MFA_NONE (no fresh pending secret),
 * MFA_ON,
 * MFA_ERROR.
 */
enum mfa_rc	 mfa_enable(struct app *, const struct user *, const char *code,
		    const unsigned char keep[CRYPTO_SHA256_LEN],
		    char codes[TOTP_RECOVERY_N][TOTP_RECOVERY_TEXT_LEN + 1]);

/* Remove the factor and its recovery codes: MFA_OK, MFA_NONE, MFA_ERROR. */
enum mfa_rc	 mfa_remove(struct app *, int64_t user_id);

/* A pending login of u (right password) under the factor's instance
 * factor (mfa_is_on) as a token into out (TOTP_PENDING_TEXT_MAX bytes):
 * MFA_OK or MFA_ERROR. */
enum mfa_rc	 mfa_pending_issue(struct app *, const struct user *u,
		    int64_t factor, int64_t now, char *out, size_t outsz);

/*
 * Read a pending-login token (untrusted): MFA_OK with p filled, MFA_NONE
 * for a malformed, forged or expired one, MFA_ERROR.
 */
enum mfa_rc	 mfa_pending_read(struct app *, const char *text, size_t len,
		    int64_t now, struct totp_pending *p);

/*
 * The code step of the login p (read by mfa_pending_read) for u, the
 * user as stored now: a one-time code (kind TOTP_CODE_OTP) or a recovery
 * code (TOTP_CODE_RECOVERY), normalised by totp_code_kind. MFA_OK when it
 * is right and was spent (with the pending login) in the store; MFA_WRONG
 * (wrong, replayed, used recovery code, or the factor is off), MFA_USED,
 * MFA_STALE, MFA_ERROR.
 */
enum mfa_rc	 mfa_login_code(struct app *, const struct totp_pending *p,
		    const struct user *u, enum totp_code_kind kind,
		    const char *code, int64_t now);

#endif
