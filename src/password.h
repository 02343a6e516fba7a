/*
 * Password hashing with scrypt and a self-describing hash string:
 *   $scrypt$ln=15,r=8,p=3$<salt, base64url>$<hash, base64url>
 * ln is log2(N). The parameters travel with the hash so they can be raised
 * later and old hashes rehashed at the next login.
 */
#ifndef AUTHGW_PASSWORD_H
#define AUTHGW_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MAX		1024	/* bytes of a password */
#define PASSWORD_MIN		8
#define PASSWORD_HASH_MAX	160	/* bytes of a hash string */
#define PASSWORD_SALT_LEN	16
#define PASSWORD_KEY_LEN	32

struct password_params {
	int	log2n;
	int	r;
	int	p;
};

/* Hash pw into out (PASSWORD_HASH_MAX). Returns 0 or -1. */
int	password_hash(const char *pw, size_t pwlen,
	    const struct password_params *, char *out, size_t outsz);

/*
 * Check pw against a hash string in constant time with respect to the
 * hash. Returns 1 on match, 0 on mismatch, -1 on a malformed hash string.
 */
int	password_verify(const char *pw, size_t pwlen, const char *hash);

/* Parse the parameters of a hash string. Returns 0 or -1. */
int	password_params_parse(const char *hash, struct password_params *);

/* 1 if hash was made with parameters other than want. */
int	password_needs_rehash(const char *hash, const struct password_params *want);

/*
 * Spend the same work as a verify against a hash made with params,
 * for unknown users (so timing does not tell who exists).
 */
void	password_dummy_verify(const char *pw, size_t pwlen,
	    const struct password_params *);

/*
 * Every hash above runs on a thread of its own at niceness 10, so that a
 * worker's checks come before its hashing (issue 11). The niceness the
 * last hash of this process ran at (-100: on the calling thread, none to
 * be had); for tests.
 */
int	password_last_nice(void);

#endif
