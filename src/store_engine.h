/*
 * Between store.c and the engines behind it (store_sqlite.c, store_pg.c):
 * each engine's handle begins with a struct store naming its table of
 * functions, one for each of store.h (open aside: store.c picks the
 * engine's open by the database value). Nothing above the store includes
 * this header.
 */
#ifndef AUTHGW_STORE_ENGINE_H
#define AUTHGW_STORE_ENGINE_H

#include "store.h"

struct store_engine {
	void	(*close)(struct store *);
	int	(*schema_version)(struct store *);
	enum store_rc	(*secret_get)(struct store *, unsigned char out[32]);
	int	(*ping)(struct store *);
	enum store_rc	(*user_add)(struct store *, const char *email, const char *pwhash, const char *role, int verified, int64_t now, int64_t *id);
	enum store_rc	(*user_get_email)(struct store *, const char *email, struct user *);
	enum store_rc	(*user_set_pwhash)(struct store *, int64_t id, const char *);
	enum store_rc	(*user_rehash)(struct store *, int64_t id, int64_t gen, const char *);
	enum store_rc	(*user_set_role)(struct store *, int64_t id, const char *);
	enum store_rc	(*user_set_verified)(struct store *, int64_t id, int);
	enum store_rc	(*user_set_disabled)(struct store *, int64_t id, int);
	enum store_rc	(*user_del)(struct store *, int64_t id, store_session_cb, void *arg);
	enum store_rc	(*user_each)(struct store *, store_user_cb, void *);
	enum store_rc	(*session_add)(struct store *, struct session *, int64_t gen, int64_t max, store_session_cb ended, void *arg);
	enum store_rc	(*session_get)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], struct session *);
	enum store_rc	(*session_get_public)(struct store *, const char *public_id, struct session *);
	enum store_rc	(*session_extend)(struct store *, int64_t id, int64_t old_expires, int64_t new_expires, int64_t now);
	enum store_rc	(*session_del_hash)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN]);
	enum store_rc	(*session_end_user)(struct store *, int64_t user_id, store_session_cb cb, void *arg);
	enum store_rc	(*session_each)(struct store *, int64_t user_id, store_session_cb, void *);
	enum store_rc	(*session_purge)(struct store *, int64_t now, int64_t *count);
	enum store_rc	(*session_count_live)(struct store *, int64_t now, int64_t *count);
	enum store_rc	(*attempts_take)(struct store *, struct store_attempt *, size_t n, int64_t now, int64_t window);
	enum store_rc	(*attempt_del)(struct store *, int64_t id);
	enum store_rc	(*attempts_clear)(struct store *, int kind, const char *key);
	enum store_rc	(*begin)(struct store *);
	enum store_rc	(*begin_key)(struct store *, const char *key);
	enum store_rc	(*commit)(struct store *);
	void	(*rollback)(struct store *);
	enum store_rc	(*verify_add)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id, int64_t now, int64_t expires, const char *pwhash);
	enum store_rc	(*verify_find)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now, struct store_verify *v);
	enum store_rc	(*verify_use)(struct store *, const struct store_verify *v, int64_t now, store_session_cb cb, void *arg);
	enum store_rc	(*reset_add)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id, int64_t gen, int64_t now, int64_t expires);
	enum store_rc	(*reset_find)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now, struct store_reset *r);
	enum store_rc	(*password_set)(struct store *, const struct store_pwchange *p, store_session_cb cb, void *arg);
	enum store_rc	(*reset_purge)(struct store *, int64_t now, int64_t *count);
	enum store_rc	(*login_seen)(struct store *, int64_t user_id, const char *addr, const unsigned char ua_hash[CRYPTO_SHA256_LEN], int64_t now, int64_t since, int *notify);
	enum store_rc	(*login_seen_purge)(struct store *, int64_t before, int64_t *count);
	enum store_rc	(*outbox_add)(struct store *, const char *recipient, const char *message, int64_t now);
	enum store_rc	(*outbox_claim)(struct store *, int64_t now, int64_t lease_until, struct store_mail *);
	enum store_rc	(*outbox_sent)(struct store *, int64_t id, int64_t now);
	enum store_rc	(*outbox_failed)(struct store *, int64_t id, int64_t next_try, const char *error);
	enum store_rc	(*outbox_count)(struct store *, int64_t *pending);
	enum store_rc	(*token_add)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id, const char *name, int64_t now, int64_t expires, const unsigned char *session, int64_t max, int64_t *id);
	enum store_rc	(*token_get)(struct store *, const unsigned char hash[CRYPTO_SHA256_LEN], struct session *);
	enum store_rc	(*token_touch)(struct store *, int64_t id, int64_t old, int64_t now);
	enum store_rc	(*token_each)(struct store *, int64_t user_id, store_token_cb, void *);
	enum store_rc	(*token_hashes)(struct store *, int64_t user_id, store_session_cb cb, void *arg);
	enum store_rc	(*token_del)(struct store *, int64_t id, int64_t user_id, unsigned char hash[CRYPTO_SHA256_LEN], int64_t *owner);
	enum store_rc	(*token_purge)(struct store *, int64_t now, int64_t *count);
	enum store_rc	(*attempts_purge)(struct store *, int64_t before, int64_t *count);
	int	(*listen)(struct store *);
	enum store_rc	(*listen_read)(struct store *, store_item_cb cb, void *arg);
	int	(*probe_send)(struct store *);	/* NULL: none (SQLite) */
	int	(*probe_done)(struct store *);
	enum store_rc	(*namespace_get)(struct store *, uint64_t *ns);
	enum store_rc	(*namespace_bump)(struct store *, uint64_t *ns);
	enum store_rc	(*host_beat)(struct store *, const struct store_host *h);
	enum store_rc	(*host_each)(struct store *, int64_t since, store_host_cb, void *);
	enum store_rc	(*totp_get)(struct store *, int64_t user_id, struct store_totp *);
	enum store_rc	(*totp_pending_put)(struct store *, int64_t user_id, const unsigned char *sealed, size_t len, int64_t now);
	enum store_rc	(*totp_enable)(struct store *, int64_t user_id, const unsigned char *pending, size_t len, int64_t now, int64_t step, int64_t factor, const unsigned char (*codes)[CRYPTO_SHA256_LEN], size_t n, const unsigned char *keep, store_session_cb ended, void *arg);
	enum store_rc	(*totp_remove)(struct store *, int64_t user_id);
	enum store_rc	(*totp_login)(struct store *, int64_t user_id, int64_t gen, int64_t factor, const unsigned char nonce[STORE_TOTP_NONCE_LEN], int64_t expires, int64_t step, const unsigned char *recovery);
	enum store_rc	(*totp_count)(struct store *, int64_t *count);
	enum store_rc	(*totp_purge)(struct store *, int64_t now, int64_t *count);
};

/* The first member of every engine's handle. */
struct store {
	const struct store_engine	*engine;
};

/* store_open of each engine. */
struct store	*store_sqlite_open(const char *path, int migrate, char *err,
		    size_t errsz);
struct store	*store_pg_open(const char *uri, int migrate, char *err,
		    size_t errsz);

#endif
