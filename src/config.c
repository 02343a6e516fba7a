#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

enum key_type {
	KEY_STR,	/* any printable text, size from the struct */
	KEY_INT,	/* int in [min, max] */
	KEY_I64,	/* int64_t in [min, max], seconds */
	KEY_BOOL,
	KEY_LEVEL,
	KEY_MODE,	/* octal permissions */
	KEY_PREFIX,
	KEY_URL
};

struct key {
	const char	*name;
	enum key_type	 type;
	size_t		 off;
	size_t		 size;		/* KEY_STR: buffer size */
	int64_t		 min, max;
};

#define STR(n)		{ #n, KEY_STR, offsetof(struct config, n), \
			  sizeof(((struct config *)0)->n), 0, 0 }
#define INT(n, lo, hi)	{ #n, KEY_INT, offsetof(struct config, n), 0, lo, hi }
#define I64(n, lo, hi)	{ #n, KEY_I64, offsetof(struct config, n), 0, lo, hi }
#define BOOL(n)		{ #n, KEY_BOOL, offsetof(struct config, n), 0, 0, 1 }

#define DAY		86400
#define YEAR		(366 * DAY)

static const struct key keys[] = {
	STR(listen),
	{ "socket_mode", KEY_MODE, offsetof(struct config, socket_mode), 0, 0, 0777 },
	INT(workers, 1, CONFIG_WORKERS_MAX),
	STR(database),
	STR(memcached),
	I64(cache_ttl, 1, YEAR),
	INT(cache_entries, 0, 4194304),
	I64(cache_local_ttl, 1, YEAR),
	STR(cache_file),
	STR(host_name),
	{ "prefix", KEY_PREFIX, offsetof(struct config, prefix),
	  sizeof(((struct config *)0)->prefix), 0, 0 },
	{ "base_url", KEY_URL, offsetof(struct config, base_url),
	  sizeof(((struct config *)0)->base_url), 0, 0 },
	STR(cookie_name),
	BOOL(cookie_secure),
	STR(cookie_domain),
	I64(session_lifetime, 2, 10 * YEAR),
	I64(session_max_lifetime, 2, 10 * YEAR),
	I64(login_window, 1, YEAR),
	INT(login_max_per_account, 1, 1000000),
	INT(login_max_per_ip, 1, 1000000),
	INT(login_ipv6_prefix, 1, 128),
	BOOL(require_verified_email),
	I64(verify_token_ttl, 1, YEAR),
	BOOL(registration),
	STR(mail_command),
	STR(mail_from),
	I64(mail_timeout, 1, 3600),
	I64(mail_retry, 1, 86400),
	STR(www_dir),
	STR(metrics_allow),
	{ "log_level", KEY_LEVEL, offsetof(struct config, log_level), 0, 0, 0 },
	BOOL(syslog),
	I64(maintenance_interval, 1, DAY),
	INT(scrypt_log2n, 1, 24),
	INT(scrypt_r, 1, 64),
	INT(scrypt_p, 1, 64),
	STR(user),
	STR(socket_group),
	I64(io_timeout, 1, 3600),
	INT(max_sessions_per_user, 1, 1000000),
	INT(hash_slots, 0, 1024),
	INT(hash_queue, -1, 1024),
	I64(check_cache, 0, 3600),
	I64(reset_token_ttl, 1, 7 * DAY),
	BOOL(notify_login),
	I64(totp_pending_ttl, 1, 300),
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_mode = 0660;
	cfg->workers = 4;
	(void)util_strlcpy(cfg->database, "/var/lib/authgw/authgw.db",
	    sizeof(cfg->database));
	cfg->cache_ttl = 300;
	cfg->cache_entries = 16384;
	cfg->cache_local_ttl = 60;
	(void)util_strlcpy(cfg->prefix, "/auth", sizeof(cfg->prefix));
	(void)util_strlcpy(cfg->base_url, "http://127.0.0.1:8080",
	    sizeof(cfg->base_url));
	(void)util_strlcpy(cfg->cookie_name, "authgw_sid",
	    sizeof(cfg->cookie_name));
	cfg->cookie_secure = 1;
	cfg->session_lifetime = 86400;
	cfg->session_max_lifetime = 2592000;
	cfg->login_window = 900;
	cfg->login_max_per_account = 5;
	cfg->login_max_per_ip = 20;
	cfg->login_ipv6_prefix = 64;
	cfg->require_verified_email = 1;
	cfg->verify_token_ttl = 86400;
	cfg->registration = 1;
	cfg->reset_token_ttl = 3600;
	cfg->totp_pending_ttl = 300;
	(void)util_strlcpy(cfg->mail_command, "/usr/sbin/sendmail -t -i",
	    sizeof(cfg->mail_command));
	(void)util_strlcpy(cfg->mail_from, "authgw@localhost",
	    sizeof(cfg->mail_from));
	cfg->mail_timeout = 30;
	cfg->mail_retry = 30;
	(void)util_strlcpy(cfg->www_dir, AUTHGW_DATADIR "/authgw/www",
	    sizeof(cfg->www_dir));
	(void)util_strlcpy(cfg->metrics_allow, "127.0.0.1,::1",
	    sizeof(cfg->metrics_allow));
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->maintenance_interval = 5;
	cfg->scrypt_log2n = 15;
	cfg->scrypt_r = 8;
	cfg->scrypt_p = 3;
	cfg->io_timeout = 10;
	cfg->max_sessions_per_user = 100;
	cfg->hash_slots = 0;
	cfg->hash_queue = -1;
}

static int
valid_text(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/* A cookie name is an RFC 6265 token. */
static int
valid_token(const char *v)
{
	if (*v == '\0')
		return 0;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f ||
		    memchr("()<>@,;:\\\"/[]?={}", *v, 17) != NULL)
			return 0;
	return 1;
}

static int
set_str(const struct key *k, char *dst, const char *value, char *err,
    size_t errsz)
{
	struct metrics_addr	 allow[METRICS_ALLOW_MAX];

	if (!valid_text(value)) {
		snprintf(err, errsz, "%s: control character in value", k->name);
		return -1;
	}
	if (strcmp(k->name, "cookie_name") == 0 && !valid_token(value)) {
		snprintf(err, errsz, "cookie_name: not a valid cookie name");
		return -1;
	}
	if ((strcmp(k->name, "database") == 0 ||
	    strcmp(k->name, "www_dir") == 0 ||
	    strcmp(k->name, "mail_command") == 0) && value[0] == '\0') {
		snprintf(err, errsz, "%s: must not be empty", k->name);
		return -1;
	}
	if (strcmp(k->name, "metrics_allow") == 0 &&
	    metrics_allow_parse(value, allow, METRICS_ALLOW_MAX) == -1) {
		snprintf(err, errsz, "metrics_allow: expected up to %d IP "
		    "addresses separated by commas", METRICS_ALLOW_MAX);
		return -1;
	}
	if (util_strlcpy(dst, value, k->size) == -1) {
		snprintf(err, errsz, "%s: value too long (max %zu bytes)",
		    k->name, k->size - 1);
		return -1;
	}
	return 0;
}

static int
set_prefix(const struct key *k, char *dst, const char *value, char *err,
    size_t errsz)
{
	size_t	 len = strlen(value);

	if (value[0] != '/' || !valid_text(value) ||
	    memchr(value, '?', len) != NULL || memchr(value, ' ', len) != NULL) {
		snprintf(err, errsz, "prefix: must be a path starting with '/'");
		return -1;
	}
	while (len > 0 && value[len - 1] == '/')
		len--;
	if (len >= k->size) {
		snprintf(err, errsz, "prefix: too long");
		return -1;
	}
	memcpy(dst, value, len);
	dst[len] = '\0';
	return 0;
}

static int
set_url(const struct key *k, char *dst, const char *value, char *err,
    size_t errsz)
{
	size_t	 len = strlen(value);

	if ((strncmp(value, "http://", 7) != 0 &&
	    strncmp(value, "https://", 8) != 0) || !valid_text(value) ||
	    memchr(value, ' ', len) != NULL || len < 9) {
		snprintf(err, errsz, "base_url: must be an http:// or https:// URL");
		return -1;
	}
	while (len > 0 && value[len - 1] == '/')
		len--;
	if (len >= k->size) {
		snprintf(err, errsz, "base_url: too long");
		return -1;
	}
	memcpy(dst, value, len);
	dst[len] = '\0';
	return 0;
}

static int
set_number(const struct key *k, struct config *cfg, const char *value,
    char *err, size_t errsz)
{
	int64_t	 v;
	char	*p = (char *)cfg + k->off;

	switch (k->type) {
	case KEY_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
			v = 1;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "no") == 0 || strcmp(value, "off") == 0 ||
		    strcmp(value, "0") == 0)
			v = 0;
		else {
			snprintf(err, errsz, "%s: expected true or false",
			    k->name);
			return -1;
		}
		*(int *)(void *)p = (int)v;
		return 0;
	case KEY_LEVEL:
		for (v = 0; v < 4; v++)
			if (strcmp(value, level_names[v]) == 0) {
				*(int *)(void *)p = (int)v;
				return 0;
			}
		snprintf(err, errsz,
		    "log_level: expected error, warn, info or debug");
		return -1;
	case KEY_MODE: {
		char	*end;
		long	 m;

		errno = 0;
		m = strtol(value, &end, 8);
		if (value[0] < '0' || value[0] > '7' || *end != '\0' ||
		    errno != 0 || m < k->min || m > k->max) {
			snprintf(err, errsz, "%s: expected octal permissions "
			    "such as 0660", k->name);
			return -1;
		}
		*(int *)(void *)p = (int)m;
		return 0;
	}
	default:
		break;
	}
	if (util_parse_int64(value, strlen(value), k->min, k->max, &v) == -1) {
		snprintf(err, errsz, "%s: expected an integer from %lld to %lld",
		    k->name, (long long)k->min, (long long)k->max);
		return -1;
	}
	if (k->type == KEY_INT)
		*(int *)(void *)p = (int)v;
	else
		*(int64_t *)(void *)p = v;
	return 0;
}

int
config_set(struct config *cfg, const char *key, const char *value, char *err,
    size_t errsz)
{
	size_t	 i;
	char	*p;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].name, key) != 0)
			continue;
		p = (char *)cfg + keys[i].off;
		switch (keys[i].type) {
		case KEY_STR:
			return set_str(&keys[i], p, value, err, errsz);
		case KEY_PREFIX:
			return set_prefix(&keys[i], p, value, err, errsz);
		case KEY_URL:
			return set_url(&keys[i], p, value, err, errsz);
		default:
			return set_number(&keys[i], cfg, value, err, errsz);
		}
	}
	snprintf(err, errsz, "unknown key '%.64s'", key);
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Checks that involve more than one key. */
static int
config_check(const struct config *cfg, char *err, size_t errsz)
{
	if (cfg->memcached[0] != '\0' && cfg->cache_entries == 0) {
		snprintf(err, errsz, "memcached needs cache_entries > 0: the "
		    "host table holds the memcached key namespace");
		return -1;
	}
	/* With PostgreSQL there is no database file for this host's own
	 * files to sit beside: they are named. */
	if (config_database_is_pg(cfg->database) &&
	    cfg->cache_file[0] == '\0') {
		snprintf(err, errsz, "cache_file is required with a "
		    "PostgreSQL database (this host's session table, e.g. "
		    "/var/lib/authgw/sessions.cache)");
		return -1;
	}
	if (cfg->session_max_lifetime < cfg->session_lifetime) {
		snprintf(err, errsz, "session_max_lifetime (%lld) is shorter "
		    "than session_lifetime (%lld)",
		    (long long)cfg->session_max_lifetime,
		    (long long)cfg->session_lifetime);
		return -1;
	}
	return 0;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errsz)
{
	struct config	 tmp;
	FILE		*fp;
	char		*line = NULL;
	size_t		 linecap = 0;
	ssize_t		 n;
	char		 why[512];
	char		*key, *value, *eq, *hash;
	unsigned	 lineno = 0;

	config_defaults(&tmp);
	if (util_strlcpy(tmp.path, path, sizeof(tmp.path)) == -1) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &linecap, fp)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > CONFIG_LINE_MAX) {
			snprintf(err, errsz, "%s:%u: line too long", path, lineno);
			goto fail;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(err, errsz, "%s:%u: NUL byte", path, lineno);
			goto fail;
		}
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		key = trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errsz, "%s:%u: expected 'key = value'",
			    path, lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (config_set(&tmp, key, value, why, sizeof(why)) == -1) {
			snprintf(err, errsz, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errsz, "%s: read error", path);
		goto fail;
	}
	free(line);
	fclose(fp);
	if (config_check(&tmp, why, sizeof(why)) == -1) {
		snprintf(err, errsz, "%s: %s", path, why);
		return -1;
	}
	*cfg = tmp;
	return 0;
fail:
	free(line);
	fclose(fp);
	return -1;
}

int
config_database_is_pg(const char *database)
{
	return strncasecmp(database, "postgresql://", 13) == 0 ||
	    strncasecmp(database, "postgres://", 11) == 0;
}

int
config_cache_path(const struct config *cfg, char *out, size_t outsz)
{
	int	 n;

	if (cfg->cache_file[0] != '\0')
		return util_strlcpy(out, cfg->cache_file, outsz);
	n = snprintf(out, outsz, "%s-sessions.cache", cfg->database);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

const char *
config_host_base(const struct config *cfg)
{
	return cfg->cache_file[0] != '\0' ? cfg->cache_file : cfg->database;
}

long
config_files_owner(const struct config *cfg)
{
	return config_database_is_pg(cfg->database) ? -1 :
	    util_file_owner(cfg->database);
}

void
config_print(const struct config *cfg, FILE *fp)
{
	char		 shown[CONFIG_PATH_MAX];
	size_t		 i;
	const char	*p;

	fprintf(fp, "# effective configuration of %s\n",
	    cfg->path[0] ? cfg->path : "(defaults)");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		p = (const char *)cfg + keys[i].off;
		fprintf(fp, "%s = ", keys[i].name);
		switch (keys[i].type) {
		case KEY_STR:
		case KEY_URL:
			/* A password in the database URI is never shown. */
			if (strcmp(keys[i].name, "database") == 0) {
				(void)util_uri_hide(p, NULL, shown,
				    sizeof(shown));
				p = shown;
			}
			fprintf(fp, "%s\n", p);
			break;
		case KEY_PREFIX:
			fprintf(fp, "%s\n", p[0] ? p : "/");
			break;
		case KEY_INT:
			fprintf(fp, "%d\n", *(const int *)(const void *)p);
			break;
		case KEY_I64:
			fprintf(fp, "%lld\n",
			    (long long)*(const int64_t *)(const void *)p);
			break;
		case KEY_BOOL:
			fprintf(fp, "%s\n", *(const int *)(const void *)p ?
			    "true" : "false");
			break;
		case KEY_LEVEL:
			fprintf(fp, "%s\n",
			    level_names[*(const int *)(const void *)p]);
			break;
		case KEY_MODE:
			fprintf(fp, "%04o\n", *(const int *)(const void *)p);
			break;
		}
	}
}
