#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "mail.h"
#include "stats.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define MAIL_BACKOFF_MAX	3600	/* seconds between tries, at most */
#define MAIL_BATCH_MAX		100	/* messages per maintenance pass */
/* A claim outlasts mail_timeout by this much (the kill, the wait, the
 * record), so a live sender always records before its lease runs out. */
#define MAIL_LEASE_MARGIN	60

static const char *const subjects[] = {
	[MAIL_VERIFY] = "Confirm your email address",
	[MAIL_EXISTS] = "About your account",
	[MAIL_RESET] = "Reset your password",
	[MAIL_PASSWORD_CHANGED] = "Your password was changed",
	[MAIL_NEW_LOGIN] = "New sign-in to your account",
	[MAIL_TOKEN_CREATED] = "A new API token for your account",
};
static const char *const templates[] = {
	[MAIL_VERIFY] = "mail_verify.txt",
	[MAIL_EXISTS] = "mail_exists.txt",
	[MAIL_RESET] = "mail_reset.txt",
	[MAIL_PASSWORD_CHANGED] = "mail_password_changed.txt",
	[MAIL_NEW_LOGIN] = "mail_new_login.txt",
	[MAIL_TOKEN_CREATED] = "mail_token_created.txt",
};

/* The domain of mail_from, for Message-ID. */
static const char *
from_domain(const char *from)
{
	const char	*at = strrchr(from, '@');
	size_t		 len;

	if (at == NULL || at[1] == '\0')
		return "localhost";
	len = strcspn(at + 1, "> \t");
	return len > 0 ? at + 1 : "localhost";
}

/* Untrusted text for a mail body: printable ASCII, others as '?', cut. */
static void
mail_printable(const char *in, char *out, size_t outsz)
{
	size_t	 i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outsz; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/* The extra values of a message (may be NULL: none). */
struct mail_extra {
	const char	*addr;
	const char	*agent;
};

static int
compose(const struct config *cfg, enum mail_kind kind, const char *to,
    const char *link, const struct mail_extra *x, int64_t now,
    struct buf *out)
{
	struct tvar	 vars[8];
	struct buf	 body = { 0 };
	unsigned char	 rnd[12];
	char		 id[2 * sizeof(rnd) + 1], date[64], hours[32], mins[32];
	char		 addr[64] = "", agent[MAIL_AGENT_MAX + 1] = "";
	time_t		 t = (time_t)now;
	struct tm	 tm;
	const char	*dom = from_domain(cfg->mail_from);
	int64_t		 ttl = kind == MAIL_RESET ? cfg->reset_token_ttl :
			    cfg->verify_token_ttl;
	int		 rc = -1;

	if (gmtime_r(&t, &tm) == NULL || strftime(date, sizeof(date),
	    "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0 ||
	    crypto_random(rnd, sizeof(rnd)) == -1)
		return -1;
	crypto_hex(rnd, sizeof(rnd), id);
	(void)snprintf(hours, sizeof(hours), "%lld", (long long)((ttl + 3599) /
	    3600));
	(void)snprintf(mins, sizeof(mins), "%lld", (long long)((ttl + 59) / 60));
	if (x != NULL) {
		mail_printable(x->addr, addr, sizeof(addr));
		mail_printable(x->agent, agent, sizeof(agent));
	}
	/*
	 * text/plain, not HTML: values go in as they are (raw). Each is safe
	 * there: a validated address, a link we built, digits, base_url from
	 * the configuration, and the client's address and user agent made
	 * printable ASCII; none holds a line break.
	 */
	vars[0] = (struct tvar){ .name = "email", .value = to, .raw = 1 };
	vars[1] = (struct tvar){ .name = "link", .value = link, .raw = 1 };
	vars[2] = (struct tvar){ .name = "hours", .value = hours, .raw = 1 };
	vars[3] = (struct tvar){ .name = "base_url", .value = cfg->base_url,
	    .raw = 1 };
	vars[4] = (struct tvar){ .name = "minutes", .value = mins, .raw = 1 };
	vars[5] = (struct tvar){ .name = "date", .value = date, .raw = 1 };
	vars[6] = (struct tvar){ .name = "address", .value = addr, .raw = 1 };
	vars[7] = (struct tvar){ .name = "agent", .value = agent, .raw = 1 };
	if (template_render(cfg->www_dir, templates[kind], vars, 8, &body) == -1)
		goto out;
	buf_reset(out);
	if (buf_printf(out, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n"
	    "Message-ID: <%s@%.*s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", date, cfg->mail_from,
	    to, subjects[kind], id, (int)strcspn(dom, "> \t"), dom) == -1 ||
	    buf_append(out, body.data, body.len) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&body);
	return rc;
}

int
mail_compose(const struct config *cfg, enum mail_kind kind, const char *to,
    const char *link, int64_t now, struct buf *out)
{
	return compose(cfg, kind, to, link, NULL, now, out);
}

int
mail_compose_login(const struct config *cfg, const char *to,
    const char *addr, const char *agent, int64_t now, struct buf *out)
{
	struct mail_extra	 x = { addr, agent };

	return compose(cfg, MAIL_NEW_LOGIN, to, NULL, &x, now, out);
}

/* Write all of msg to fd before deadline (mono us). Returns 0 or -1. */
static int
write_all(int fd, const char *msg, size_t len, int64_t deadline)
{
	struct pollfd	 pfd = { fd, POLLOUT, 0 };
	ssize_t		 n;
	int64_t		 left;

	while (len > 0) {
		if ((left = deadline - util_mono_usec()) <= 0)
			return -1;
		if (poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		if ((n = write(fd, msg, len)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		msg += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Run command with msg on its stdin, at most timeout seconds. Returns 0
 * when it exited 0; -1 with a reason in err otherwise.
 */
static int
mail_run(const char *command, const char *msg, size_t len, int64_t timeout,
    char *err, size_t errsz)
{
	int64_t	 deadline = util_mono_usec() + timeout * 1000000;
	int	 p[2], status;
	pid_t	 pid, w;

	if (pipe(p) == -1) {
		snprintf(err, errsz, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errsz, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t	 none;

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(p[0], STDIN_FILENO) == -1)
			_exit(127);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	(void)setpgid(pid, pid);	/* also here: no race with the kill */
	close(p[0]);
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	(void)write_all(p[1], msg, len, deadline);	/* status decides */
	close(p[1]);
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
	    util_mono_usec() < deadline) {
		struct timespec	 ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (w == 0) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		snprintf(err, errsz, "timed out after %llds", (long long)timeout);
		return -1;
	}
	if (w == -1) {
		snprintf(err, errsz, "wait: %s", strerror(errno));
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(err, errsz, "exited with %d", WEXITSTATUS(status));
	else
		snprintf(err, errsz, "killed by signal %d", WTERMSIG(status));
	return -1;
}

/* Seconds before try number attempts + 1: base, 2 base, 4 base, ... */
static int64_t
mail_backoff(int64_t base, int64_t attempts)
{
	int64_t	 d = base;

	while (attempts-- > 0 && d < MAIL_BACKOFF_MAX)
		d *= 2;
	return d < MAIL_BACKOFF_MAX ? d : MAIL_BACKOFF_MAX;
}

void
mail_send_pending(const struct config *cfg, struct store *st,
    struct stats *stats, volatile sig_atomic_t *stop)
{
	struct store_mail	 m;
	char			 err[256];
	int64_t			 now;
	int			 n;

	for (n = 0; n < MAIL_BATCH_MAX && !*stop; n++) {
		now = util_now();
		if (store_outbox_claim(st, now, now + cfg->mail_timeout +
		    MAIL_LEASE_MARGIN, &m) != STORE_OK)
			return;
		if (mail_run(cfg->mail_command, m.message, strlen(m.message),
		    cfg->mail_timeout, err, sizeof(err)) == 0) {
			if (store_outbox_sent(st, m.id, util_now()) != STORE_OK)
				log_error("mail %lld sent but not recorded",
				    (long long)m.id);
			stats_inc(stats, STAT_MAILS_SENT);
			log_info("mail %lld sent", (long long)m.id);
		} else {
			stats_inc(stats, STAT_MAILS_FAILED);
			log_warn("mail %lld: %s: %s (try %lld)", (long long)m.id,
			    cfg->mail_command, err, (long long)m.attempts + 1);
			(void)store_outbox_failed(st, m.id, now +
			    mail_backoff(cfg->mail_retry, m.attempts), err);
		}
		crypto_cleanse(m.message, strlen(m.message));
		free(m.message);
	}
}
