#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cache.h"
#include "crypto.h"
#include "log.h"
#include "mfa.h"
#include "parse.h"
#include "qr.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/* Each key its own label: never the CSRF, cache or session key. */
#define MFA_LABEL_SEAL		"authgw totp secret seal v1"
#define MFA_LABEL_PENDING	"authgw totp pending login v1"
#define MFA_LABEL_RECOVERY	"authgw totp recovery code v1"

/* A key derived from the server secret: 0 or -1. */
static int
mfa_key(struct app *app, const char *label, unsigned char out[32])
{
	const unsigned char	*secret;

	if ((secret = app_secret(app)) == NULL ||
	    crypto_hmac_sha256(secret, 32, label, strlen(label), out) == -1)
		return -1;
	return 0;
}

/* The associated data of a sealed secret: its user (a sealed secret
 * copied to another user's row opens for no one). */
static void
mfa_ad(int64_t user_id, unsigned char ad[8])
{
	uint64_t	 u = (uint64_t)user_id;
	int		 i;

	for (i = 7; i >= 0; i--) {
		ad[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

/* Seal or open (enc 1 or 0) a secret of user_id. 0 or -1. */
static int
mfa_seal(struct app *app, int enc, int64_t user_id, const unsigned char *in,
    size_t len, unsigned char *out)
{
	unsigned char	 key[32], ad[8];
	int		 rc;

	if (mfa_key(app, MFA_LABEL_SEAL, key) == -1)
		return -1;
	mfa_ad(user_id, ad);
	rc = enc ? crypto_seal(key, ad, sizeof(ad), in, len, out) :
	    crypto_open(key, ad, sizeof(ad), in, len, out);
	crypto_cleanse(key, sizeof(key));
	return rc;
}

int
mfa_is_on(struct app *app, int64_t user_id, int64_t *factor)
{
	struct store		*st = app_store(app);
	struct store_totp	 t;
	int			 rc = -1;

	if (st == NULL)
		return -1;
	switch (store_totp_get(st, user_id, &t)) {
	case STORE_OK:
		rc = t.secret_len > 0;
		if (rc == 1 && factor != NULL)
			*factor = t.factor;
		break;
	case STORE_NOTFOUND:
		rc = 0;
		break;
	default:
		break;
	}
	crypto_cleanse(&t, sizeof(t));
	return rc;
}

/* The otpauth:// URI (Key Uri Format) of b32 for email into uri. */
static int
mfa_uri(struct app *app, const char *email, const char *b32, struct buf *uri)
{
	const char	*host = strstr(app->cfg->base_url, "://");
	size_t		 hlen;

	host = host != NULL ? host + 3 : app->cfg->base_url;
	hlen = strcspn(host, "/");
	if (hlen == 0) {
		host = "authgw";
		hlen = strlen(host);
	}
	if (buf_puts(uri, "otpauth://totp/") == -1 ||
	    parse_urlencode(host, hlen, uri) == -1 ||
	    buf_puts(uri, ":") == -1 ||
	    parse_urlencode(email, strlen(email), uri) == -1 ||
	    buf_printf(uri, "?secret=%s&issuer=", b32) == -1 ||
	    parse_urlencode(host, hlen, uri) == -1 ||
	    buf_printf(uri, "&algorithm=SHA1&digits=%d&period=%d",
	    TOTP_DIGITS, TOTP_PERIOD) == -1)
		return -1;
	return 0;
}

/*
 * The user's pending secret in clear into raw, made if there is none
 * fresh (store_totp_pending_fresh: one read from a session of an older
 * generation, or older than STORE_TOTP_PENDING_TTL, is never shown
 * again). Of concurrent makers the store keeps the first; the second
 * round is for a generation that moved between the write and the read.
 */
static enum mfa_rc
mfa_pending_secret(struct app *app, struct store *st, int64_t user_id,
    struct store_totp *t, unsigned char raw[TOTP_SECRET_LEN])
{
	unsigned char	 sealed[TOTP_SECRET_LEN + CRYPTO_SEAL_OVERHEAD];
	enum store_rc	 rc;
	int64_t		 now;
	int		 round;

	for (round = 0; ; round++) {
		now = util_now();
		rc = store_totp_get(st, user_id, t);
		if (rc == STORE_OK && t->secret_len > 0)
			return MFA_ON;
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return MFA_ERROR;
		if (rc == STORE_OK && store_totp_pending_fresh(t, now))
			break;
		if (round == 2)
			return MFA_ERROR;
		if (crypto_random(raw, TOTP_SECRET_LEN) == -1 ||
		    mfa_seal(app, 1, user_id, raw, TOTP_SECRET_LEN,
		    sealed) == -1 ||
		    store_totp_pending_put(st, user_id, sealed,
		    sizeof(sealed), now) != STORE_OK)
			return MFA_ERROR;
		/* Whichever worker's secret won is the one shown (read on
		 * the next round). */
	}
	if (t->pending_len != TOTP_SECRET_LEN + CRYPTO_SEAL_OVERHEAD ||
	    mfa_seal(app, 0, user_id, t->pending, t->pending_len, raw) == -1) {
		log_error("user %lld: the pending second-factor secret does "
		    "not open (another server secret?)", (long long)user_id);
		return MFA_ERROR;
	}
	return MFA_OK;
}

enum mfa_rc
mfa_setup(struct app *app, const struct user *u, char b32[TOTP_B32_LEN + 1],
    struct buf *uri, struct buf *svg)
{
	struct store		*st = app_store(app);
	struct store_totp	 t;
	unsigned char		 raw[TOTP_SECRET_LEN];
	enum mfa_rc		 rc;

	if (st == NULL)
		return MFA_ERROR;
	if ((rc = mfa_pending_secret(app, st, u->id, &t, raw)) != MFA_OK)
		goto out;
	rc = MFA_ERROR;
	if (totp_base32_encode(raw, sizeof(raw), b32, TOTP_B32_LEN + 1) !=
	    TOTP_B32_LEN || mfa_uri(app, u->email, b32, uri) == -1 ||
	    qr_svg(uri->data, svg) == -1)
		goto out;
	rc = MFA_OK;
out:
	crypto_cleanse(raw, sizeof(raw));
	crypto_cleanse(&t, sizeof(t));
	return rc;
}

/* The stored form of a recovery code (normalised) of user_id. */
static int
mfa_recovery_hash(struct app *app, int64_t user_id, const char *norm,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned char	 key[32], msg[8 + TOTP_RECOVERY_CHARS];
	int		 rc;

	if (strlen(norm) != TOTP_RECOVERY_CHARS ||
	    mfa_key(app, MFA_LABEL_RECOVERY, key) == -1)
		return -1;
	mfa_ad(user_id, msg);
	memcpy(msg + 8, norm, TOTP_RECOVERY_CHARS);
	rc = crypto_hmac_sha256(key, sizeof(key), msg, sizeof(msg), out);
	crypto_cleanse(key, sizeof(key));
	crypto_cleanse(msg, sizeof(msg));
	return rc;
}

enum mfa_rc
mfa_enable(struct app *app, const struct user *u, const char *code,
    const unsigned char keep[CRYPTO_SHA256_LEN],
    char codes[TOTP_RECOVERY_N][TOTP_RECOVERY_TEXT_LEN + 1])
{
	struct store		*st = app_store(app);
	struct session_hashes	 ended = SESSION_HASHES_INIT;
	struct store_totp	 t;
	unsigned char		 raw[TOTP_SECRET_LEN];
	unsigned char		 hashes[TOTP_RECOVERY_N][CRYPTO_SHA256_LEN];
	char			 norm[TOTP_RECOVERY_CHARS + 1];
	unsigned char		 fid[8];
	uint64_t		 factor;
	int64_t			 step, now = util_now();
	enum mfa_rc		 rc = MFA_ERROR;
	size_t			 i;

	if (st == NULL)
		return MFA_ERROR;
	switch (store_totp_get(st, u->id, &t)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		return MFA_NONE;
	default:
		return MFA_ERROR;
	}
	if (t.secret_len > 0) {
		rc = MFA_ON;
		goto out;
	}
	/* None, or a stale one (made before a password change, a reset,
	 * "log out everywhere", or too long ago): the page shows a new one. */
	if (!store_totp_pending_fresh(&t, now)) {
		rc = MFA_NONE;
		goto out;
	}
	if (t.pending_len != TOTP_SECRET_LEN + CRYPTO_SEAL_OVERHEAD ||
	    mfa_seal(app, 0, u->id, t.pending, t.pending_len, raw) == -1)
		goto out;
	if ((step = totp_match(raw, sizeof(raw), code, now, -1)) < 0) {
		rc = MFA_WRONG;
		goto out;
	}
	for (i = 0; i < TOTP_RECOVERY_N; i++)
		if (totp_recovery_new(codes[i], norm) == -1 ||
		    mfa_recovery_hash(app, u->id, norm, hashes[i]) == -1)
			goto out;
	/* This enabling's instance: pending logins carry it, so one issued
	 * under a factor since turned off (and maybe on again) is void. */
	if (crypto_random(fid, sizeof(fid)) == -1)
		goto out;
	for (factor = 0, i = 0; i < sizeof(fid); i++)
		factor = factor << 8 | fid[i];
	factor = (factor & INT64_MAX) | 1;
	/* Enabling ends the user's other sessions: refused before anything
	 * changes when they could not leave the host table (as a password
	 * change is), since other processes would go on accepting them. */
	if (cache_reachable(app_cache(app)) == -1) {
		log_error("user %lld: second factor not turned on: the host "
		    "session table is unreachable from this process",
		    (long long)u->id);
		goto out;
	}
	switch (store_totp_enable(st, u->id, t.pending, t.pending_len, now,
	    step, (int64_t)factor,
	    (const unsigned char (*)[CRYPTO_SHA256_LEN])hashes,
	    TOTP_RECOVERY_N, keep, session_hashes_collect, &ended)) {
	case STORE_OK:
		rc = MFA_OK;
		/* After the commit, from every tier. The factor is on and
		 * the codes are shown once: a table that became unreachable
		 * since is logged (session_hashes_drop), not answered 503. */
		if (ended.n > 0) {
			log_info("user %lld: %zu other session(s) ended "
			    "(second factor turned on)", (long long)u->id,
			    ended.n);
			stats_add(app->stats, STAT_LOGOUTS, ended.n);
			(void)session_hashes_drop(app, u->id, &ended);
		}
		break;
	case STORE_CONFLICT:
		/* Turned on concurrently, or the pending secret went stale
		 * (the generation moved) or was replaced meanwhile. */
		if (store_totp_get(st, u->id, &t) == STORE_ERROR)
			break;
		rc = t.secret_len > 0 ? MFA_ON : MFA_NONE;
		break;
	default:
		break;
	}
out:
	if (rc != MFA_OK)
		crypto_cleanse(codes, sizeof(codes[0]) * TOTP_RECOVERY_N);
	crypto_cleanse(raw, sizeof(raw));
	crypto_cleanse(norm, sizeof(norm));
	crypto_cleanse(&t, sizeof(t));
	free(ended.h);
	return rc;
}

enum mfa_rc
mfa_remove(struct app *app, int64_t user_id)
{
	struct store	*st = app_store(app);

	if (st == NULL)
		return MFA_ERROR;
	switch (store_totp_remove(st, user_id)) {
	case STORE_OK:
		return MFA_OK;
	case STORE_NOTFOUND:
		return MFA_NONE;
	default:
		return MFA_ERROR;
	}
}

enum mfa_rc
mfa_pending_issue(struct app *app, const struct user *u, int64_t factor,
    int64_t now, char *out, size_t outsz)
{
	struct totp_pending	 p;
	unsigned char		 key[TOTP_KEY_LEN];
	int			 rc;

	memset(&p, 0, sizeof(p));
	p.user_id = u->id;
	p.gen = u->gen;
	p.factor = factor;
	p.issued = now;
	(void)util_strlcpy(p.email, u->email, sizeof(p.email));
	if (crypto_random(p.nonce, sizeof(p.nonce)) == -1 ||
	    mfa_key(app, MFA_LABEL_PENDING, key) == -1)
		return MFA_ERROR;
	rc = totp_pending_encode(&p, key, out, outsz);
	crypto_cleanse(key, sizeof(key));
	return rc > 0 ? MFA_OK : MFA_ERROR;
}

enum mfa_rc
mfa_pending_read(struct app *app, const char *text, size_t len, int64_t now,
    struct totp_pending *p)
{
	unsigned char		 key[TOTP_KEY_LEN];
	enum totp_pending_rc	 rc;

	if (mfa_key(app, MFA_LABEL_PENDING, key) == -1)
		return MFA_ERROR;
	rc = totp_pending_decode(text, len, key, now,
	    app->cfg->totp_pending_ttl, p);
	crypto_cleanse(key, sizeof(key));
	return rc == TOTP_PENDING_OK ? MFA_OK : MFA_NONE;
}

enum mfa_rc
mfa_login_code(struct app *app, const struct totp_pending *p,
    const struct user *u, enum totp_code_kind kind, const char *code,
    int64_t now)
{
	struct store		*st = app_store(app);
	struct store_totp	 t;
	unsigned char		 raw[TOTP_SECRET_LEN], rh[CRYPTO_SHA256_LEN];
	int64_t			 step = 0;
	enum mfa_rc		 rc = MFA_ERROR;

	if (st == NULL)
		return MFA_ERROR;
	if (u->id != p->user_id || u->gen != p->gen)
		return MFA_STALE;
	switch (store_totp_get(st, u->id, &t)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		return MFA_WRONG;	/* removed since: no code is right */
	default:
		return MFA_ERROR;
	}
	if (t.secret_len == 0) {
		rc = MFA_WRONG;
		goto out;
	}
	/* Turned off and on again since the password step: sign in again
	 * (the store checks it again in the unit of work). */
	if (t.factor != p->factor) {
		rc = MFA_STALE;
		goto out;
	}
	if (kind == TOTP_CODE_RECOVERY) {
		if (mfa_recovery_hash(app, u->id, code, rh) == -1)
			goto out;
	} else if (t.secret_len != TOTP_SECRET_LEN + CRYPTO_SEAL_OVERHEAD ||
	    mfa_seal(app, 0, u->id, t.secret, t.secret_len, raw) == -1) {
		log_error("user %lld: the second-factor secret does not open "
		    "(another server secret?)", (long long)u->id);
		goto out;
	} else if ((step = totp_match(raw, sizeof(raw), code, now,
	    t.last_step)) < 0) {
		rc = MFA_WRONG;
		goto out;
	}
	switch (store_totp_login(st, u->id, p->gen, p->factor, p->nonce,
	    p->issued + app->cfg->totp_pending_ttl + 1, step,
	    kind == TOTP_CODE_RECOVERY ? rh : NULL)) {
	case STORE_OK:
		rc = MFA_OK;
		break;
	case STORE_EXISTS:
		rc = MFA_USED;
		break;
	case STORE_CONFLICT:
		rc = MFA_STALE;
		break;
	case STORE_NOTFOUND:
		rc = MFA_WRONG;
		break;
	default:
		break;
	}
out:
	crypto_cleanse(raw, sizeof(raw));
	crypto_cleanse(&t, sizeof(t));
	return rc;
}
