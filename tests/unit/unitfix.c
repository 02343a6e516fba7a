/* Fixtures for the unit tests of the upper layers: see unitfix.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "stats.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

int
unitfix_setup(struct unitfix *u, const char *const *kv)
{
	struct store	*st;
	const char	*srcdir = getenv("AUTHGW_SRCDIR");
	char		 err[512], path[CONFIG_PATH_MAX];
	int		 n;

	memset(u, 0, sizeof(*u));
	memcpy(u->dir, "/tmp/authgw-unit-XXXXXX", 24);
	if (mkdtemp(u->dir) == NULL)
		return -1;
	config_defaults(&u->cfg);
	n = snprintf(u->cfg.database, sizeof(u->cfg.database), "%s/authgw.db",
	    u->dir);
	if (n < 0 || (size_t)n >= sizeof(u->cfg.database))
		return -1;
	n = snprintf(path, sizeof(path), "%s/www",
	    srcdir != NULL ? srcdir : ".");
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    config_set(&u->cfg, "www_dir", path, err, sizeof(err)) == -1 ||
	    config_set(&u->cfg, "cache_entries", "0", err, sizeof(err)) == -1)
		return -1;
	for (; kv != NULL && kv[0] != NULL; kv += 2)
		if (config_set(&u->cfg, kv[0], kv[1], err, sizeof(err)) == -1) {
			fprintf(stderr, "unitfix: %s = %s: %s\n", kv[0], kv[1],
			    err);
			return -1;
		}
	if ((st = store_open(u->cfg.database, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "unitfix: %s\n", err);
		return -1;
	}
	store_close(st);
	if ((u->stats = stats_create(0)) == NULL)
		return -1;
	app_init(&u->app, &u->cfg, u->stats, 0);
	return 0;
}

void
unitfix_teardown(struct unitfix *u)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[CONFIG_PATH_MAX];
	int		 n;

	app_free(&u->app);
	free(u->stats);
	u->stats = NULL;
	if (u->dir[0] == '\0' || (d = opendir(u->dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", u->dir, e->d_name);
		if (n > 0 && (size_t)n < sizeof(path))
			(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(u->dir);
}

int64_t
unitfix_user(struct unitfix *u, const char *email, const char *role,
    int verified)
{
	struct store	*st = app_store(&u->app);
	int64_t		 id = -1;

	if (st == NULL || store_user_add(st, email, "$unit$nohash", role,
	    verified, util_now(), &id) != STORE_OK) {
		fprintf(stderr, "unitfix: cannot add user %s\n", email);
		abort();
	}
	return id;
}

static const char *
fake_param(void *ctx, const char *name)
{
	struct fake_io		*f = ctx;
	const char *const	*p;

	for (p = f->params; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static long
fake_read(void *ctx, char *p, size_t len)
{
	struct fake_io	*f = ctx;
	size_t		 left = f->body_len - f->body_off;

	if (len > left)
		len = left;
	if (len > 0)
		memcpy(p, f->body + f->body_off, len);
	f->body_off += len;
	return (long)len;
}

static int
fake_write(void *ctx, const char *p, size_t len)
{
	struct fake_io	*f = ctx;

	if (f->fail_write)
		return -1;
	return buf_append(&f->out, p, len);
}

void
fakeio_init(struct fake_io *f, const char *const *params, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->params = params;
	f->body = body;
	f->body_len = body != NULL ? strlen(body) : 0;
	f->io.param = fake_param;
	f->io.read = fake_read;
	f->io.write = fake_write;
	f->io.ctx = f;
}

void
fakeio_free(struct fake_io *f)
{
	buf_free(&f->out);
}

int
fakeio_header(const struct fake_io *f, const char *name, char *out,
    size_t outsz)
{
	const char	*p = f->out.data, *end, *eol;
	size_t		 nlen = strlen(name), vlen;

	if (p == NULL)
		return 0;
	end = p + f->out.len;
	while (p < end && (eol = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (eol == p || (eol == p + 1 && p[0] == '\r'))
			break;		/* the blank line: end of the head */
		if ((size_t)(eol - p) > nlen + 1 &&
		    strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			vlen = (size_t)(eol - p);
			if (vlen > 0 && p[vlen - 1] == '\r')
				vlen--;
			if (vlen >= outsz)
				return 0;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

int
fakeio_status(const struct fake_io *f)
{
	char	 v[64];
	int64_t	 code;

	if (!fakeio_header(f, "Status", v, sizeof(v)) || strlen(v) < 3 ||
	    util_parse_int64(v, 3, 100, 599, &code) == -1)
		return -1;
	return (int)code;
}
