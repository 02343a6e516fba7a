/*
 * CSRF protection for form POSTs: a signed double-submit token. GET /login
 * sets a random nonce in a cookie and embeds HMAC(secret, nonce) in the
 * form; a POST is accepted when the form's token matches the cookie's nonce,
 * or when Origin names base_url or the request's own Host.
 */
#ifndef AUTHGW_CSRF_H
#define AUTHGW_CSRF_H

#include <stddef.h>

#define CSRF_NONCE_LEN		16
#define CSRF_TOKEN_MAX		64

struct app;
struct request;
struct response;

/*
 * Make a token for this request, reusing the nonce cookie if present and
 * setting it otherwise. Returns 0 or -1.
 */
int	csrf_token(struct app *, const struct request *, struct response *,
	    char *token, size_t tokensz);

/* 1 if a state-changing request may proceed, 0 if it must get 403. */
int	csrf_check(struct app *, const struct request *);

#endif
