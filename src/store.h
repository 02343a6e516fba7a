/*
 * The authority: users, sessions, rate-limit attempts, verification
 * tokens, the mail outbox, the server secret. This interface speaks the
 * project's terms only (no engine type, no SQL): an engine implements it
 * in a file of its own that is the only includer of its library.
 * store_sqlite.c is the SQLite engine (the embedded default),
 * store_pg.c the PostgreSQL one (SPEC section 8, doc/design.md "Layers",
 * "PostgreSQL engine"); store.c picks one by the database value and
 * passes each call on. Every engine prepares its statements once per
 * connection and binds every value.
 */
#ifndef AUTHGW_STORE_H
#define AUTHGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define STORE_EMAIL_MAX		254
#define STORE_ROLE_MAX		15
#define STORE_PUBLIC_ID_LEN	22	/* base64url of 16 random bytes */
#define STORE_IP_MAX		63
#define STORE_UA_MAX		255
#define STORE_TOKEN_NAME_MAX	64
#define STORE_NEVER		INT64_MAX	/* an API token without expiry */

enum store_rc {
	STORE_ERROR = -1,	/* the engine failed: the caller answers 503 */
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_EXISTS = 2,	/* unique constraint (e.g. email taken) */
	STORE_CONFLICT = 3	/* a concurrent writer got there first */
};

struct store;

struct user {
	int64_t	 id;
	char	 email[STORE_EMAIL_MAX + 1];
	char	 role[STORE_ROLE_MAX + 1];
	int	 verified;
	int	 disabled;
	int64_t	 created;
	char	 pwhash[192];
	int64_t	 gen;		/* bumped by a new password, disabling, and
				   ending every session of the user */
};

struct session {
	int64_t		 id;
	char		 public_id[STORE_PUBLIC_ID_LEN + 1];
	unsigned char	 token_hash[CRYPTO_SHA256_LEN];
	int64_t		 created;
	int64_t		 expires;
	int64_t		 last_seen;
	int64_t		 extensions;
	char		 ip[STORE_IP_MAX + 1];
	char		 user_agent[STORE_UA_MAX + 1];
	struct user	 user;		/* pwhash left empty */
	/*
	 * 1: an API token in the same shape, for the same cache tiers (id
	 * the token's, public_id its id in decimal, expires STORE_NEVER when
	 * it has none, last_seen its last_used). A check of one kind never
	 * accepts the other.
	 */
	int		 is_token;
	/* 1: made with the second factor (SPEC 9); never for a token. */
	int		 mfa;
};

/*
 * Open (creating if needed) the database named by the configuration's
 * database value (a PostgreSQL connection URI, postgresql:// or
 * postgres://, or else an SQLite file) and apply pending migrations if
 * migrate is set. Returns
 * NULL with a reason in err on failure. A handle is used by one process
 * and never crosses a fork.
 */
struct store	*store_open(const char *path, int migrate, char *err, size_t errsz);
void		 store_close(struct store *);

/* Schema version after migrations, or -1. */
int		 store_schema_version(struct store *);

/* A 32-byte server secret (created at first use, kept in the database). */
enum store_rc	 store_secret_get(struct store *, unsigned char out[32]);

/* 1 if the database is really readable (its schema and the first pages
 * of its tables, read afresh from the file), 0 if not. */
int		 store_ping(struct store *);

enum store_rc	 store_user_add(struct store *, const char *email,
		    const char *pwhash, const char *role, int verified,
		    int64_t now, int64_t *id);
enum store_rc	 store_user_get_email(struct store *, const char *email,
		    struct user *);
/* A new password: the user's generation moves (logins in flight fail). */
enum store_rc	 store_user_set_pwhash(struct store *, int64_t id, const char *);
/*
 * The same password hashed with new parameters: written only while the
 * user's generation is still gen (else STORE_CONFLICT, nothing written),
 * so it never undoes a password change made meanwhile.
 */
enum store_rc	 store_user_rehash(struct store *, int64_t id, int64_t gen,
		    const char *);
enum store_rc	 store_user_set_role(struct store *, int64_t id, const char *);
enum store_rc	 store_user_set_verified(struct store *, int64_t id, int);
/* The user's generation moves with it. */
enum store_rc	 store_user_set_disabled(struct store *, int64_t id, int);
/*
 * Delete a user in one unit of work: their generation moves (a login in
 * flight creates no session), each of their sessions and API tokens is
 * passed to cb (which must accept every one), then the user, the
 * sessions and the tokens go.
 * STORE_NOTFOUND when there is no such user (nothing written).
 */
typedef int	 (*store_session_cb)(const struct session *, void *);
enum store_rc	 store_user_del(struct store *, int64_t id, store_session_cb,
		    void *arg);
typedef int	 (*store_user_cb)(const struct user *, void *);
enum store_rc	 store_user_each(struct store *, store_user_cb, void *);

/*
 * Add se (se->id set) for se->user.id, in one unit of work: only while the
 * user is enabled and their generation is still gen (else STORE_CONFLICT,
 * nothing written); then, if the user holds more than max sessions, end
 * the least recently used (oldest last_seen, then oldest created) so that
 * max remain, each passed to ended (may be NULL) before it goes; ended
 * returning non-zero fails the whole (STORE_ERROR).
 */
enum store_rc	 store_session_add(struct store *, struct session *,
		    int64_t gen, int64_t max, store_session_cb ended, void *arg);
enum store_rc	 store_session_get(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], struct session *);
enum store_rc	 store_session_get_public(struct store *, const char *public_id,
		    struct session *);
/*
 * Move a session's expiry from old_expires to new_expires. Only one
 * concurrent caller wins: the others get STORE_CONFLICT and write nothing.
 */
enum store_rc	 store_session_extend(struct store *, int64_t id,
		    int64_t old_expires, int64_t new_expires, int64_t now);
enum store_rc	 store_session_del_hash(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN]);
/*
 * End every session of a user in one unit of work: the user's generation
 * moves, each session is passed to cb (which must accept every one:
 * non-zero fails the whole), then they are deleted.
 */
enum store_rc	 store_session_end_user(struct store *, int64_t user_id,
		    store_session_cb cb, void *arg);
/* Sessions of one user (user_id > 0) or of all users (0), newest first. */
enum store_rc	 store_session_each(struct store *, int64_t user_id,
		    store_session_cb, void *);
/* Delete sessions dead at now; *count gets how many. */
enum store_rc	 store_session_purge(struct store *, int64_t now, int64_t *count);
enum store_rc	 store_session_count_live(struct store *, int64_t now,
		    int64_t *count);

/* One counter of a rate limit, for store_attempts_take(). */
struct store_attempt {
	int		 kind;		/* enum ratelimit_kind */
	const char	*key;
	int64_t		 max;		/* counted attempts allowed in the window */
	int64_t		 count;		/* out: counted in the window */
	int64_t		 oldest;	/* out: time of the oldest counted */
	int64_t		 id;		/* out: the attempt recorded */
};

/*
 * Count the attempts of each counter in the window (at > now - window). If
 * every counter is under its max, record one attempt in each, atomically
 * across processes, and return STORE_OK with the ids. If any is at its
 * max, record nothing and return STORE_CONFLICT (count and oldest tell
 * which and until when).
 */
enum store_rc	 store_attempts_take(struct store *, struct store_attempt *,
		    size_t n, int64_t now, int64_t window);
/* Forget one recorded attempt (it turned out not to count). */
enum store_rc	 store_attempt_del(struct store *, int64_t id);
/* Forget every attempt of a counter (a successful login). */
enum store_rc	 store_attempts_clear(struct store *, int kind, const char *key);
/*
 * A unit of work: the changes made between store_begin and store_commit
 * are applied together or not at all, serialised against every other
 * writer (SQLite: BEGIN IMMEDIATE). store_begin_key serialises it only
 * against the other units of the same key (PostgreSQL: an advisory lock
 * on the key; SQLite's single writer serialises everything anyway): the
 * key names everything the unit reads to decide what it writes (the
 * callers' units read and write per address: key = the normalised
 * address). store_begin is store_begin_key with one key for all.
 */
enum store_rc	 store_begin(struct store *);
enum store_rc	 store_begin_key(struct store *, const char *key);
enum store_rc	 store_commit(struct store *);
void		 store_rollback(struct store *);

/*
 * A verification token (its hash) for user_id, valid until expires;
 * pwhash ("" for none) is the password the link sets when used.
 */
enum store_rc	 store_verify_add(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id,
		    int64_t now, int64_t expires, const char *pwhash);

/* A verification link as store_verify_find reads it. */
struct store_verify {
	int64_t		 id;
	char		 pwhash[192];	/* the password the link sets, "" none */
	struct user	 user;		/* its user as stored now */
};

/*
 * Read a link, writing nothing: STORE_OK with v filled when it is unused
 * and unexpired at now and its user is enabled; used, unknown, expired or
 * of a disabled user: STORE_NOTFOUND. v holds password hashes: cleanse it.
 */
enum store_rc	 store_verify_find(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    struct store_verify *v);
/*
 * Use the link v that store_verify_find read, in one unit of work: mark it
 * used, mark its user verified, apply v->pwhash if it is not "" (the
 * user's generation moves), and retire every other link of the user with
 * its pending password: STORE_OK. Only while the link is still unused and
 * unexpired at now and its user enabled (else STORE_NOTFOUND: used
 * concurrently, expired or disabled since) and the user's generation is
 * still v->user.gen (else STORE_CONFLICT: a new password or "log out
 * everywhere" came meanwhile). A link that sets a password also ends
 * every API token of the user, each passed to cb first (it must accept
 * every one). Anything but STORE_OK writes nothing.
 */
enum store_rc	 store_verify_use(struct store *, const struct store_verify *v,
		    int64_t now, store_session_cb cb, void *arg);

/*
 * A password-reset link (its hash) for user_id, made under the user's
 * generation gen, valid until expires; inside the caller's unit of work.
 * The user is checked at commit only: /password/forgot inserts a link for
 * user 0 (no one) and rolls back, to cost what a real one costs.
 */
enum store_rc	 store_reset_add(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id,
		    int64_t gen, int64_t now, int64_t expires);

/* A reset link as store_reset_find reads it. */
struct store_reset {
	int64_t		 id;
	int64_t		 gen;		/* the user's generation at issue */
	struct user	 user;		/* its user as stored now */
};

/*
 * Read a reset link, writing nothing: STORE_OK with r filled when it is
 * unused and unexpired at now, its user enabled and the user's generation
 * still the one it was made under (no new password, disabling or "log out
 * everywhere" since); else STORE_NOTFOUND. r holds a password hash:
 * cleanse it.
 */
enum store_rc	 store_reset_find(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now,
		    struct store_reset *r);

/* A new password, by a reset link or by its owner (store_password_set). */
struct store_pwchange {
	int64_t			 user_id;
	int64_t			 gen;	/* the generation it was checked under */
	const char		*pwhash;	/* the new password's hash */
	int64_t			 reset_id;	/* the link used, or 0 */
	const unsigned char	*keep;	/* the session that stays, or NULL */
	const char		*mail_to;	/* the notice, queued with it */
	const char		*mail;		/* NULL: none */
	int64_t			 now;
	int			 admin;	/* the command line: a disabled
					   account too */
};

/*
 * Set a new password in one unit of work: spend the reset link p->reset_id
 * if there is one (STORE_NOTFOUND when it is used or expired), then only
 * while the user is enabled or p->admin (else STORE_NOTFOUND) with generation p->gen
 * (else STORE_CONFLICT) and, with p->keep, while that session of the user
 * still exists (else STORE_NOTFOUND): the password is set (the generation
 * moves: logins in flight create no session), every session of the user
 * but p->keep is passed to cb and ended, and the notice goes into the
 * outbox. Without p->keep (a reset, or the command line) every API token
 * of the user is passed to cb and ended too. A reset also marks the
 * address verified and retires every verification link of the user. Anything but STORE_OK writes nothing.
 */
enum store_rc	 store_password_set(struct store *,
		    const struct store_pwchange *p, store_session_cb cb,
		    void *arg);

/* Delete reset links expired before now; *count gets how many. */
enum store_rc	 store_reset_purge(struct store *, int64_t now, int64_t *count);

/*
 * Record a login of user_id from (addr, ua_hash) at now, inside the
 * caller's unit of work. *notify gets 1 when that pair was not seen since
 * since and the user has been seen from somewhere before (a first login
 * ever only records), else 0.
 */
enum store_rc	 store_login_seen(struct store *, int64_t user_id,
		    const char *addr, const unsigned char ua_hash[CRYPTO_SHA256_LEN],
		    int64_t now, int64_t since, int *notify);
/* Delete login records last seen before before, except each user's
 * newest; *count gets how many. */
enum store_rc	 store_login_seen_purge(struct store *, int64_t before,
		    int64_t *count);

/* A message of the outbox. message is allocated: free it. */
struct store_mail {
	int64_t	 id;
	int64_t	 attempts;
	char	 recipient[STORE_EMAIL_MAX + 1];
	char	*message;
};

enum store_rc	 store_outbox_add(struct store *, const char *recipient,
		    const char *message, int64_t now);
/*
 * Claim the oldest pending message due at now until lease_until, in one
 * atomic write: its next try moves to lease_until, so no other process or
 * host claims it while this one sends it (the lease must outlast the
 * sending: mail_timeout and a margin). A claimer that dies before it
 * records the outcome leaves the message to be claimed again when the
 * lease runs out: the only way a message goes twice. STORE_NOTFOUND when
 * none is due.
 */
enum store_rc	 store_outbox_claim(struct store *, int64_t now,
		    int64_t lease_until, struct store_mail *);
/* Sent: recorded, and the message body scrubbed. */
enum store_rc	 store_outbox_sent(struct store *, int64_t id, int64_t now);
/* Failed: attempts + 1, tried again at next_try. */
enum store_rc	 store_outbox_failed(struct store *, int64_t id,
		    int64_t next_try, const char *error);
/* Messages in the mail outbox not yet sent. */
enum store_rc	 store_outbox_count(struct store *, int64_t *pending);

/* An API token as listed: never its value. expires 0: never. */
struct store_token {
	int64_t	 id;
	int64_t	 user_id;
	char	 email[STORE_EMAIL_MAX + 1];
	char	 name[STORE_TOKEN_NAME_MAX + 1];
	int64_t	 created;
	int64_t	 last_used;	/* 0: never */
	int64_t	 expires;
};

/*
 * Add an API token (its hash) for user_id, in one unit of work: only while
 * the user is enabled and, with session (a session token hash, or NULL),
 * while that session of the user still exists and the address is verified
 * (else STORE_NOTFOUND: a reset or disabling came first, or an unverified
 * first registrant), and while the user holds fewer than max
 * tokens (else STORE_CONFLICT). expires 0: never. *id gets its id.
 */
enum store_rc	 store_token_add(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t user_id,
		    const char *name, int64_t now, int64_t expires,
		    const unsigned char *session, int64_t max, int64_t *id);
/* A token by hash, in a session's shape (struct session, is_token 1). */
enum store_rc	 store_token_get(struct store *,
		    const unsigned char hash[CRYPTO_SHA256_LEN], struct session *);
/*
 * Move a token's last_used from old to now. Only one concurrent caller
 * wins: the others get STORE_CONFLICT and write nothing.
 */
enum store_rc	 store_token_touch(struct store *, int64_t id, int64_t old,
		    int64_t now);
/* Tokens of one user (user_id > 0) or of all (0), oldest first. */
typedef int	 (*store_token_cb)(const struct store_token *, void *);
enum store_rc	 store_token_each(struct store *, int64_t user_id,
		    store_token_cb, void *);
/* The tokens of a user in a session's shape, for invalidation (cb may
 * stop the walk with non-zero). */
enum store_rc	 store_token_hashes(struct store *, int64_t user_id,
		    store_session_cb cb, void *arg);
/*
 * Delete token id (of user_id, if > 0): STORE_NOTFOUND when there is no
 * such token (or it is another user's). hash and *owner get what it was.
 */
enum store_rc	 store_token_del(struct store *, int64_t id, int64_t user_id,
		    unsigned char hash[CRYPTO_SHA256_LEN], int64_t *owner);
/* Delete tokens expired at now; *count gets how many. */
enum store_rc	 store_token_purge(struct store *, int64_t now, int64_t *count);

/* Second factor (SPEC 9) */

#define STORE_TOTP_SEALED_MAX	64	/* bytes of a sealed secret */
#define STORE_TOTP_NONCE_LEN	16	/* a pending login's single-use id */
#define STORE_TOTP_PENDING_TTL	900	/* a pending secret's life (s) */

/*
 * A user's second factor as stored. The secrets are opaque to the store
 * (sealed by the caller, mfa.c); an engine keeps the bytes as given.
 */
struct store_totp {
	unsigned char	 secret[STORE_TOTP_SEALED_MAX];	/* the enabled one */
	size_t		 secret_len;	/* 0: the factor is off */
	unsigned char	 pending[STORE_TOTP_SEALED_MAX];	/* awaiting a code */
	size_t		 pending_len;	/* 0: none */
	int64_t		 pending_gen;	/* the user's gen when it was made */
	int64_t		 pending_created;	/* when it was made */
	int64_t		 gen;		/* the user's generation now */
	int64_t		 last_step;	/* the last time step accepted */
	int64_t		 factor;	/* the enabled factor's instance id */
};

/*
 * 1 if t has a pending secret that is fresh at now: made under the user's
 * current generation, less than STORE_TOTP_PENDING_TTL seconds ago. A
 * stale one is as good as none: store_totp_pending_put replaces it and
 * store_totp_enable refuses it.
 */
int		 store_totp_pending_fresh(const struct store_totp *,
		    int64_t now);

/* The user's row: STORE_NOTFOUND when there is none (off, none pending). */
enum store_rc	 store_totp_get(struct store *, int64_t user_id,
		    struct store_totp *);
/*
 * Keep sealed (1..STORE_TOTP_SEALED_MAX bytes) as the user's pending
 * secret, made at now under the user's current generation (read by the
 * statement itself, from the user row), unless a fresh one is pending
 * already (store_totp_pending_fresh) or the factor is on: then nothing is
 * written, and STORE_OK all the same. A stale pending secret (another
 * generation, or STORE_TOTP_PENDING_TTL seconds old) is replaced. Of
 * concurrent callers the first wins; each then reads what won with
 * store_totp_get (one secret for every worker and host). Both engines: an
 * upsert whose update has that condition (PostgreSQL re-evaluates it on
 * the row a concurrent winner committed).
 */
enum store_rc	 store_totp_pending_put(struct store *, int64_t user_id,
		    const unsigned char *sealed, size_t len, int64_t now);
/*
 * Turn the factor on, in one unit of work: only while the factor is off
 * and the pending secret is still exactly (pending, len), the one the
 * code was checked against, and still fresh at now (made under the
 * user's current generation, less than STORE_TOTP_PENDING_TTL seconds
 * ago) (else STORE_CONFLICT, nothing written: a conditional UPDATE, so of
 * two concurrent callers one wins). The pending
 * secret becomes the secret, last_step becomes step (the step of that
 * code: it is not accepted again), factor (non-zero, new at each
 * enabling: the caller draws it at random) becomes the factor's instance
 * id, and the user's recovery codes are replaced by the n given (their
 * hashes). In the same unit of work every other session of the user
 * (all but keep, the enabling one; keep may be NULL) is passed to ended
 * (may be NULL; non-zero fails the whole, STORE_ERROR) and ended, and
 * the user's generation moves: a session stolen before the factor was
 * on stops, and a login whose password was checked before creates no
 * session. API tokens stay (they never satisfy ?mfa=1).
 */
enum store_rc	 store_totp_enable(struct store *, int64_t user_id,
		    const unsigned char *pending, size_t len, int64_t now,
		    int64_t step, int64_t factor,
		    const unsigned char (*codes)[CRYPTO_SHA256_LEN], size_t n,
		    const unsigned char *keep, store_session_cb ended,
		    void *arg);
/*
 * Remove the factor (on or pending) and the recovery codes, in one unit
 * of work: STORE_NOTFOUND when the user had nothing (nothing written).
 */
enum store_rc	 store_totp_remove(struct store *, int64_t user_id);
/*
 * The code step of a login, in one unit of work; anything but STORE_OK
 * writes nothing. Only while the user is enabled with generation gen (the
 * one the pending login was issued under; else STORE_CONFLICT) and the
 * factor is on (else STORE_NOTFOUND) as the instance factor, the one the
 * pending login was issued under (another: STORE_CONFLICT, the factor was
 * turned off and on again since); then the
 * pending login's nonce is recorded as used until expires (already
 * recorded: STORE_EXISTS, the token was used before); then, with recovery
 * NULL, last_step moves to step only if it is below step (a conditional
 * UPDATE, so of concurrent callers with one step one wins; a replay, a
 * lost race or a factor turned off: STORE_NOTFOUND); with recovery (a
 * code's hash), that recovery code of the user is deleted while the
 * factor is on (a conditional DELETE: one caller wins; wrong, used, or
 * factor off: STORE_NOTFOUND).
 */
enum store_rc	 store_totp_login(struct store *, int64_t user_id,
		    int64_t gen, int64_t factor,
		    const unsigned char nonce[STORE_TOTP_NONCE_LEN],
		    int64_t expires, int64_t step, const unsigned char *recovery);
/* Users with the factor on. */
enum store_rc	 store_totp_count(struct store *, int64_t *count);
/* Forget used pending logins expired at now; *count gets how many. */
enum store_rc	 store_totp_purge(struct store *, int64_t now, int64_t *count);

/* Delete attempts at or before before. */
enum store_rc	 store_attempts_purge(struct store *, int64_t before,
		    int64_t *count);

/*
 * Invalidation notices (doc/design.md, "PostgreSQL engine"): with
 * PostgreSQL every change that must invalidate cached sessions or tokens
 * sends its items on a channel, in its own transaction (delivered at
 * commit). An item is "h " and 64 hex digits (one session or API token
 * hash), "u " and a user id (every entry of that user), "*" (every
 * entry) or "n " and the memcached key namespace's new value
 * (store_namespace_bump). store_listen starts listening on this handle's connection and
 * returns the descriptor to poll for input, or -1 (an error, or an engine
 * without notices: SQLite). store_listen_read consumes what arrived and
 * passes each item to cb: STORE_OK, or STORE_ERROR when the connection is
 * lost (notices may have been missed: forget every cached entry, then
 * store_listen again).
 */
typedef void	 (*store_item_cb)(void *arg, const char *item);
int		 store_listen(struct store *);
enum store_rc	 store_listen_read(struct store *, store_item_cb cb, void *arg);

/*
 * The listener's proof that its connection works, without blocking:
 * store_probe_send sends a trivial query and returns at once (0, or -1:
 * the connection is lost, or an engine without notices). While it is in
 * flight only store_listen_read may run on the handle (it consumes what
 * arrived, notices and the answer alike, and never waits for input);
 * store_probe_done answers 1 once the whole answer has been read (every
 * notice committed before the query was sent was read before it, and is
 * in store_listen_read's hands), 0 while it has not, -1 on a failure
 * (the connection is then lost).
 */
int		 store_probe_send(struct store *);
int		 store_probe_done(struct store *);

/*
 * The memcached key namespace, kept in the authority so every host uses
 * the same keys: *ns gets it (0 before the first bump). store_namespace_bump
 * moves it by one, atomically, and *ns gets the new value (announced to
 * every listener with PostgreSQL).
 */
enum store_rc	 store_namespace_get(struct store *, uint64_t *ns);
enum store_rc	 store_namespace_bump(struct store *, uint64_t *ns);

#define STORE_HOST_NAME_MAX	255

/* One host's heartbeat, for /admin's table of hosts. */
struct store_host {
	char	 name[STORE_HOST_NAME_MAX + 1];
	int64_t	 started;	/* when its master started */
	int64_t	 seen;		/* its last heartbeat */
	int64_t	 checks;
	int64_t	 cache_hits;
	int64_t	 cache_misses;
	int64_t	 workers;
};

/* Insert or replace the row of h->name with h. */
enum store_rc	 store_host_beat(struct store *, const struct store_host *h);
/* Hosts seen at or after since, by name; cb may stop with non-zero. */
typedef int	 (*store_host_cb)(const struct store_host *, void *);
enum store_rc	 store_host_each(struct store *, int64_t since, store_host_cb,
		    void *);

#endif
