/*
 * Mail: messages are composed here, queued in the outbox table by the
 * request that causes them (in its transaction), and sent later by the
 * master's maintenance through mail_command. Workers never wait for mail.
 */
#ifndef AUTHGW_MAIL_H
#define AUTHGW_MAIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct config;
struct stats;
struct store;

/* Which message (each has a template www_dir/mail_<name>.txt). */
enum mail_kind {
	MAIL_VERIFY,		/* a verification link */
	MAIL_EXISTS,		/* someone registered an existing address */
	MAIL_RESET,		/* a password-reset link */
	MAIL_PASSWORD_CHANGED,	/* the notice of a new password */
	MAIL_NEW_LOGIN,		/* a login from a new place (notify_login) */
	MAIL_TOKEN_CREATED	/* an API token made at /tokens */
};

/* Longest user agent a new-login notice quotes (printable ASCII only). */
#define MAIL_AGENT_MAX	120

/*
 * Compose the whole RFC 5322 message (Date, From, To, Subject, Message-ID,
 * MIME text/plain UTF-8) for to, with link (may be NULL). to must be a
 * validated address. Returns 0 or -1.
 */
int	mail_compose(const struct config *, enum mail_kind, const char *to,
	    const char *link, int64_t now, struct buf *out);

/*
 * The notice of a login from client address addr with user agent agent
 * (both untrusted: only printable ASCII goes in, the agent cut to
 * MAIL_AGENT_MAX bytes), to a validated address. Returns 0 or -1.
 */
int	mail_compose_login(const struct config *, const char *to,
	    const char *addr, const char *agent, int64_t now, struct buf *out);

/*
 * Send due messages of the outbox through cfg->mail_command, one command
 * per message with the message on stdin, killed after mail_timeout. A
 * failure is retried with exponential back-off from mail_retry; a success
 * scrubs the stored body. Stops early when *stop becomes non-zero.
 */
void	mail_send_pending(const struct config *, struct store *,
	    struct stats *, volatile sig_atomic_t *stop);

#endif
