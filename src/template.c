/*
 * Templates: "{{name}}" is replaced with the HTML-escaped value of name;
 * only a variable marked raw (HTML the program built itself, or a mail's
 * text) is inserted unescaped. Files are read from www_dir once per
 * process and kept in a small fixed table.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L		/* O_CLOEXEC, strdup */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "template.h"
#include "util.h"

#define TEMPLATE_FILE_MAX	(256 * 1024)	/* bytes of a template file */
#define TEMPLATE_NAME_MAX	64		/* bytes of a {{name}} */
#define TEMPLATE_CACHE_MAX	16		/* files cached per process */
#define TEMPLATE_PATH_MAX	4096
#define TEMPLATE_READ_CHUNK	4096

struct template_file {
	char		*path;
	struct buf	 text;
};

static struct template_file	 template_cache[TEMPLATE_CACHE_MAX];
static size_t			 template_ncache;

int
template_escape(struct buf *out, const char *p, size_t len)
{
	const char	*rep;
	size_t		 i, start = 0;

	for (i = 0; i < len; i++) {
		switch (p[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (buf_append(out, p + start, i - start) == -1 ||
		    buf_puts(out, rep) == -1)
			return -1;
		start = i + 1;
	}
	return buf_append(out, p + start, len - start);
}

static int
is_name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * If (p, len) starts with "{{name}}", set *nlen to the name's length and
 * return the placeholder's length; otherwise return 0.
 */
static size_t
placeholder_len(const char *p, size_t len, size_t *nlen)
{
	size_t	 i;

	if (len < 5 || p[0] != '{' || p[1] != '{')
		return 0;
	for (i = 2; i < len && is_name_byte(p[i]); i++)
		if (i - 2 >= TEMPLATE_NAME_MAX)
			return 0;
	if (i == 2 || len - i < 2 || p[i] != '}' || p[i + 1] != '}')
		return 0;
	*nlen = i - 2;
	return i + 2;
}

/* The variable called (name, nlen), or NULL. */
static const struct tvar *
var_lookup(const struct tvar *vars, size_t nvars, const char *name,
    size_t nlen)
{
	size_t	 i;

	for (i = 0; i < nvars; i++)
		if (vars[i].name != NULL && strlen(vars[i].name) == nlen &&
		    memcmp(vars[i].name, name, nlen) == 0)
			return &vars[i];
	return NULL;
}

/* Append the value of v (NULL or a NULL value: nothing) to out. */
static int
var_append(struct buf *out, const struct tvar *v)
{
	if (v == NULL || v->value == NULL)
		return 0;
	if (v->raw)
		return buf_puts(out, v->value);
	return template_escape(out, v->value, strlen(v->value));
}

int
template_expand(const char *text, size_t tlen, const struct tvar *vars,
    size_t nvars, struct buf *out)
{
	const char	*brace;
	size_t		 skip, plen, nlen;

	while (tlen > 0) {
		if ((brace = memchr(text, '{', tlen)) == NULL)
			return buf_append(out, text, tlen);
		skip = (size_t)(brace - text);
		if (buf_append(out, text, skip) == -1)
			return -1;
		text += skip;
		tlen -= skip;
		if ((plen = placeholder_len(text, tlen, &nlen)) == 0) {
			/* Not a placeholder: copy the brace and go on. */
			if (buf_append(out, text, 1) == -1)
				return -1;
			text++;
			tlen--;
			continue;
		}
		if (var_append(out, var_lookup(vars, nvars, text + 2,
		    nlen)) == -1)
			return -1;
		text += plen;
		tlen -= plen;
	}
	return 0;
}

/* Read a regular file of at most TEMPLATE_FILE_MAX bytes into out. */
static int
template_read(const char *path, struct buf *out)
{
	char		 chunk[TEMPLATE_READ_CHUNK];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_error("template %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_error("template %s: not a regular file", path);
		goto fail;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_error("template %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if ((size_t)n > TEMPLATE_FILE_MAX - out->len) {
			log_error("template %s: larger than %d bytes", path,
			    TEMPLATE_FILE_MAX);
			goto fail;
		}
		if (buf_append(out, chunk, (size_t)n) == -1) {
			log_error("template %s: out of memory", path);
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	close(fd);
	buf_free(out);
	return -1;
}

/* A template name is one file in dir: no '/', no "..", not empty. */
static int
template_name_ok(const char *name)
{
	size_t	 len;

	len = strlen(name);
	return len > 0 && memchr(name, '/', len) == NULL &&
	    strstr(name, "..") == NULL && name[0] != '.';
}

/* The text of dir/name, loaded once per process. NULL on failure. */
static const struct buf *
template_load(const char *dir, const char *name)
{
	char			 path[TEMPLATE_PATH_MAX];
	struct template_file	*tf;
	static struct buf	 uncached;
	size_t			 i;
	int			 n;

	if (!template_name_ok(name)) {
		log_error("template name refused");
		return NULL;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_error("template path too long");
		return NULL;
	}
	for (i = 0; i < template_ncache; i++) {
		tf = &template_cache[i];
		if (strcmp(tf->path, path) == 0)
			return &tf->text;
	}
	tf = template_ncache < TEMPLATE_CACHE_MAX ?
	    &template_cache[template_ncache] : NULL;
	buf_free(&uncached);
	if (tf != NULL)
		buf_free(&tf->text);	/* a failed read may have left some */
	if (template_read(path, tf ? &tf->text : &uncached) == -1 ||
	    buf_append(tf ? &tf->text : &uncached, "", 0) == -1)
		return NULL;
	if (tf == NULL || (tf->path = strdup(path)) == NULL) {
		if (tf != NULL) {
			uncached = tf->text;	/* served, just not kept */
			memset(&tf->text, 0, sizeof(tf->text));
		}
		return &uncached;
	}
	template_ncache++;
	return &tf->text;
}

int
template_render(const char *dir, const char *name, const struct tvar *vars,
    size_t nvars, struct buf *out)
{
	const struct buf	*text, *css;
	struct tvar		 all[TEMPLATE_VARS_MAX + 1];

	if (nvars > TEMPLATE_VARS_MAX) {
		log_error("template %s: too many variables", name);
		return -1;
	}
	if ((text = template_load(dir, name)) == NULL)
		return -1;
	/* {{css}}: the one stylesheet, inlined (the CSP allows no other). */
	if (nvars > 0)
		memcpy(all, vars, nvars * sizeof(*vars));
	css = memmem(text->data, text->len, "{{css}}", 7) != NULL ?
	    template_load(dir, TEMPLATE_CSS) : NULL;
	all[nvars] = (struct tvar){ .name = "css",
	    .value = css ? css->data : "", .raw = 1 };
	return template_expand(text->data, text->len, all, nvars + 1, out);
}
