/* The admin command line (SPEC section 7). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apitoken.h"
#include "app.h"
#include "cli.h"
#include "config.h"
#include "hashslot.h"
#include "crypto.h"
#include "log.h"
#include "mfa.h"
#include "maint.h"
#include "password.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define EXIT_FAIL	1

struct cli {
	struct config	*cfg;
	struct store	*st;
	struct app	 app;	/* for session and cache invalidation */
};

static int	fail(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A one-line reason on stderr; returns the failure exit status. */
static int
fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("authgw: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

static int
usage_error(const char *why)
{
	fprintf(stderr, "authgw: %s (see authgw --help)\n", why);
	return EXIT_USAGE;
}

/* Read the password from the first line of stdin into pw (PASSWORD_MAX+2). */
static int
read_password(char *pw, size_t pwsz, size_t *len)
{
	size_t	 n;

	if (fgets(pw, (int)pwsz, stdin) == NULL)
		return -1;
	n = strlen(pw);
	if (n > 0 && pw[n - 1] == '\n')
		pw[--n] = '\0';
	else if (n == pwsz - 1)
		return -1;	/* longer than PASSWORD_MAX */
	if (n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	if (n < PASSWORD_MIN || n > PASSWORD_MAX)
		return -1;
	*len = n;
	return 0;
}

static int
hash_from_stdin(struct cli *c, char *hash, size_t hashsz)
{
	char			 pw[PASSWORD_MAX + 2];
	size_t			 len;
	struct password_params	 pp;
	struct hashslot_ticket	 t;
	int			 rc;

	if (read_password(pw, sizeof(pw), &len) == -1) {
		crypto_cleanse(pw, sizeof(pw));
		return fail("password: expected %s on the first line of stdin",
		    "8 to 1024 bytes");
	}
	pp.log2n = c->cfg->scrypt_log2n;
	pp.r = c->cfg->scrypt_r;
	pp.p = c->cfg->scrypt_p;
	/* The host-wide bound holds for the command line too. */
	if (app_hash_acquire(&c->app, &t) == -1) {
		crypto_cleanse(pw, sizeof(pw));
		return fail("%s", "password hashing is busy (or its lock file "
		    "unusable): try again");
	}
	rc = password_hash(pw, len, &pp, hash, hashsz);
	app_hash_release(&c->app, &t);
	crypto_cleanse(pw, sizeof(pw));
	return rc == 0 ? 0 : fail("%s", "password hashing failed");
}

static int
find_user(struct cli *c, const char *email, struct user *u)
{
	char	 norm[UTIL_EMAIL_MAX + 1];

	if (util_email_normalize(email, norm, sizeof(norm)) == -1)
		return fail("%s: not a valid email address", email);
	switch (store_user_get_email(c->st, norm, u)) {
	case STORE_OK:
		return 0;
	case STORE_NOTFOUND:
		return fail("%s: no such user", email);
	default:
		return fail("%s: database error", email);
	}
}

static int
cmd_user_add(struct cli *c, int argc, char **argv)
{
	char		 norm[UTIL_EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
	int		 i, admin = 0, verified = 0;
	enum store_rc	 rc;

	if (argc < 1)
		return usage_error("user add EMAIL [--admin] [--verified]");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--admin") == 0)
			admin = 1;
		else if (strcmp(argv[i], "--verified") == 0)
			verified = 1;
		else
			return usage_error("user add: unknown option");
	}
	if (util_email_normalize(argv[0], norm, sizeof(norm)) == -1)
		return fail("%s: not a valid email address", argv[0]);
	if (hash_from_stdin(c, hash, sizeof(hash)) != 0)
		return EXIT_FAIL;
	rc = store_user_add(c->st, norm, hash, admin ? "admin" : "user",
	    verified, util_now(), NULL);
	if (rc == STORE_EXISTS)
		return fail("%s: user exists", norm);
	if (rc != STORE_OK)
		return fail("%s: database error", norm);
	printf("added %s\n", norm);
	return 0;
}

static int
cmd_user_passwd(struct cli *c, struct user *u)
{
	char			 hash[PASSWORD_HASH_MAX];
	struct store_pwchange	 p = { .user_id = u->id, .gen = u->gen,
	    .pwhash = hash, .reset_id = 0, .keep = NULL, .mail_to = NULL,
	    .mail = NULL, .now = util_now(), .admin = 1 };

	if (hash_from_stdin(c, hash, sizeof(hash)) != 0)
		return EXIT_FAIL;

	/* The administrator's reset: like a reset link, in one unit of work
	 * it ends every session and API token of the user (a password
	 * change by the user keeps the tokens). */
	switch (session_password_set(&c->app, &p)) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		return fail("%s: the account changed meanwhile: try again",
		    u->email);
	default:
		return fail("%s: database error", u->email);
	}
	printf("password changed for %s; sessions and API tokens ended\n",
	    u->email);
	return 0;
}

/*
 * A lost phone (SPEC 9): the factor and its recovery codes go, and so do
 * the user's sessions (those made with the factor no longer prove it);
 * API tokens stay. A user without it is told so (exit 1).
 */
static int
cmd_user_totp_reset(struct cli *c, struct user *u)
{
	switch (mfa_remove(&c->app, u->id)) {
	case MFA_OK:
		break;
	case MFA_NONE:
		return fail("%s: has no second factor", u->email);
	default:
		return fail("%s: database error", u->email);
	}
	if (session_end_user(&c->app, u->id) != SESSION_OK)
		return fail("%s: second factor removed, but the sessions could "
		    "not be ended: database error", u->email);
	printf("%s: totp-reset done (second factor removed, sessions "
	    "ended)\n", u->email);
	return 0;
}

static int
print_user(const struct user *u, void *arg)
{
	(void)arg;
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)u->id, u->email, u->role,
	    u->verified ? "verified" : "unverified",
	    u->disabled ? "disabled" : "enabled");
	return 0;
}

static int
cmd_user(struct cli *c, int argc, char **argv)
{
	struct user	 u;
	const char	*verb;
	enum store_rc	 rc;

	if (argc < 1)
		return usage_error("user: missing command");
	verb = argv[0];
	if (strcmp(verb, "list") == 0) {
		if (argc != 1)
			return usage_error("user list takes no arguments");
		return store_user_each(c->st, print_user, NULL) == STORE_OK ?
		    0 : fail("%s", "database error");
	}
	if (strcmp(verb, "add") == 0)
		return cmd_user_add(c, argc - 1, argv + 1);
	if (strcmp(verb, "role") == 0) {
		if (argc != 3)
			return usage_error("user role EMAIL admin|user");
		if (strcmp(argv[2], "admin") != 0 &&
		    strcmp(argv[2], "user") != 0)
			return usage_error("user role: the role is admin or user");
	} else if (argc != 2)
		return usage_error("user: expected one EMAIL");
	if (strcmp(verb, "passwd") != 0 && strcmp(verb, "role") != 0 &&
	    strcmp(verb, "verify") != 0 && strcmp(verb, "disable") != 0 &&
	    strcmp(verb, "enable") != 0 && strcmp(verb, "del") != 0 &&
	    strcmp(verb, "totp-reset") != 0)
		return usage_error("user: unknown command");
	if (find_user(c, argv[1], &u) != 0)
		return EXIT_FAIL;
	if (strcmp(verb, "passwd") == 0)
		return cmd_user_passwd(c, &u);
	if (strcmp(verb, "totp-reset") == 0)
		return cmd_user_totp_reset(c, &u);
	if (strcmp(verb, "del") == 0) {
		if (session_user_delete(&c->app, u.id) == SESSION_ERROR)
			return fail("%s: database error", u.email);
		printf("%s: del done\n", u.email);
		return 0;
	}
	if (strcmp(verb, "role") == 0)
		rc = store_user_set_role(c->st, u.id, argv[2]);
	else if (strcmp(verb, "verify") == 0)
		rc = store_user_set_verified(c->st, u.id, 1);
	else if (strcmp(verb, "disable") == 0)
		rc = store_user_set_disabled(c->st, u.id, 1);
	else
		rc = store_user_set_disabled(c->st, u.id, 0);
	if (rc != STORE_OK)
		return fail("%s: database error", u.email);
	/* Cached sessions carry the role and flags: drop them at once. */
	if (session_user_changed(&c->app, u.id, 0) != SESSION_OK)
		return fail("%s: database error", u.email);
	printf("%s: %s done\n", u.email, verb);
	return 0;
}

static void
fmt_time(int64_t t, char *out, size_t outsz)
{
	(void)util_time_utc(t, "%Y-%m-%dT%H:%M:%SZ", out, outsz);
}

static int
print_session(const struct session *s, void *arg)
{
	char	 created[32], seen[32], expires[32], ua[128];

	(void)arg;
	fmt_time(s->created, created, sizeof(created));
	fmt_time(s->last_seen, seen, sizeof(seen));
	fmt_time(s->expires, expires, sizeof(expires));
	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s->public_id, s->user.email,
	    created, seen, expires, s->ip[0] ? s->ip : "-",
	    log_escape(s->user_agent, strlen(s->user_agent), ua, sizeof(ua)));
	return 0;
}

static int
cmd_session(struct cli *c, int argc, char **argv)
{
	struct user	 u;
	int64_t		 n = 0;

	if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc <= 2) {
		if (argc == 2 && find_user(c, argv[1], &u) != 0)
			return EXIT_FAIL;
		return store_session_each(c->st, argc == 2 ? u.id : 0,
		    print_session, NULL) == STORE_OK ? 0 :
		    fail("%s", "database error");
	}
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		switch (session_revoke(&c->app, argv[1], 0)) {
		case SESSION_OK:
			printf("session %s revoked\n", argv[1]);
			return 0;
		case SESSION_NONE:
			return fail("session %s: not found", argv[1]);
		default:
			return fail("%s", "database error");
		}
	}
	if (argc == 1 && strcmp(argv[0], "purge") == 0) {
		if (store_session_purge(c->st, util_now(), &n) != STORE_OK)
			return fail("%s", "database error");
		printf("purged %lld expired sessions\n", (long long)n);
		return 0;
	}
	return usage_error("session list [EMAIL] | session revoke ID | "
	    "session purge");
}

static int
print_token(const struct store_token *t, void *arg)
{
	char	 created[32], used[32], expires[32], name[160];

	(void)arg;
	fmt_time(t->created, created, sizeof(created));
	if (t->last_used != 0)
		fmt_time(t->last_used, used, sizeof(used));
	else
		(void)util_strlcpy(used, "never", sizeof(used));
	if (t->expires != 0)
		fmt_time(t->expires, expires, sizeof(expires));
	else
		(void)util_strlcpy(expires, "never", sizeof(expires));
	printf("%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, t->email,
	    log_escape(t->name, strlen(t->name), name, sizeof(name)), created,
	    used, expires);
	return 0;
}

/* token add EMAIL NAME [--expires SECONDS] */
static int
cmd_token_add(struct cli *c, int argc, char **argv)
{
	struct user	 u;
	char		 text[APITOKEN_TEXT_LEN + 1];
	int64_t		 expires_in = 0, id;
	enum store_rc	 rc;

	if (argc == 5 && strcmp(argv[3], "--expires") == 0) {
		if (util_parse_int64(argv[4], strlen(argv[4]), 1,
		    APITOKEN_TTL_MAX, &expires_in) == -1)
			return usage_error("token add: --expires takes "
			    "seconds, 1 to 315360000 (ten years)");
	} else if (argc != 3)
		return usage_error("token add EMAIL NAME [--expires SECONDS]");
	if (!apitoken_name_ok(argv[2], strlen(argv[2])))
		return usage_error("token add: NAME is 1 to 64 bytes without "
		    "control characters");
	if (find_user(c, argv[1], &u) != 0)
		return EXIT_FAIL;
	rc = apitoken_create(&c->app, u.id, argv[2], expires_in, NULL, text,
	    sizeof(text), &id);
	if (rc == STORE_CONFLICT)
		return fail("%s: already holds %d API tokens: revoke one first",
		    u.email, APITOKEN_PER_USER_MAX);
	if (rc == STORE_NOTFOUND)
		return fail("%s: account disabled", u.email);
	if (rc != STORE_OK)
		return fail("%s: database error", u.email);
	/* The token alone on stdout, for a script; what it is on stderr. */
	printf("%s\n", text);
	fprintf(stderr, "API token %lld for %s; it is not shown again\n",
	    (long long)id, u.email);
	crypto_cleanse(text, sizeof(text));
	return 0;
}

static int
cmd_token(struct cli *c, int argc, char **argv)
{
	struct user	 u;
	int64_t		 id;

	if (argc >= 1 && strcmp(argv[0], "add") == 0)
		return cmd_token_add(c, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc <= 2) {
		if (argc == 2 && find_user(c, argv[1], &u) != 0)
			return EXIT_FAIL;
		return store_token_each(c->st, argc == 2 ? u.id : 0,
		    print_token, NULL) == STORE_OK ? 0 :
		    fail("%s", "database error");
	}
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		if (util_parse_int64(argv[1], strlen(argv[1]), 1, INT64_MAX,
		    &id) == -1)
			return usage_error("token revoke: ID is a number");
		switch (apitoken_revoke(&c->app, id, 0)) {
		case SESSION_OK:
			printf("API token %lld revoked\n", (long long)id);
			return 0;
		case SESSION_NONE:
			return fail("API token %lld: not found", (long long)id);
		default:
			return fail("%s", "database error");
		}
	}
	return usage_error("token add EMAIL NAME [--expires SECONDS] | "
	    "token list [EMAIL] | token revoke ID");
}

int
cli_run(struct config *cfg, int argc, char **argv)
{
	struct cli	 c;
	char		 err[1024];
	int		 rc;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	if (strcmp(argv[0], "check-config") == 0) {
		if (argc != 1)
			return usage_error("check-config takes no arguments");
		config_print(cfg, stdout);
		return 0;
	}
	if (strcmp(argv[0], "maintenance") == 0) {
		/* For CGI setups, from cron: nothing else sends their mail. */
		if (argc != 1)
			return usage_error("maintenance takes no arguments");
		if ((c.st = store_open(cfg->database, 1, err,
		    sizeof(err))) == NULL)
			return fail("%s", err);
		store_close(c.st);
		maint_run_inline(cfg, NULL);
		return 0;
	}
	if (strcmp(argv[0], "db") == 0) {
		if (argc != 2 || strcmp(argv[1], "migrate") != 0)
			return usage_error("db migrate");
	} else if (strcmp(argv[0], "user") != 0 &&
	    strcmp(argv[0], "session") != 0 && strcmp(argv[0], "token") != 0)
		return usage_error("unknown command");
	if ((c.st = store_open(cfg->database, 1, err, sizeof(err))) == NULL)
		return fail("%s", err);
	app_init(&c.app, cfg, NULL, -1);
	c.app.store = c.st;
	if (strcmp(argv[0], "db") == 0) {
		printf("schema version %d\n", store_schema_version(c.st));
		rc = 0;
	} else if (strcmp(argv[0], "user") == 0)
		rc = cmd_user(&c, argc - 1, argv + 1);
	else if (strcmp(argv[0], "token") == 0)
		rc = cmd_token(&c, argc - 1, argv + 1);
	else
		rc = cmd_session(&c, argc - 1, argv + 1);
	app_free(&c.app);	/* closes the store too */
	return rc;
}
