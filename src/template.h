/*
 * HTML templates from www_dir: "{{name}}" is replaced with the HTML-escaped
 * value of name. There is no unescaped form.
 */
#ifndef AUTHGW_TEMPLATE_H
#define AUTHGW_TEMPLATE_H

#include <stddef.h>

struct buf;

struct tvar {
	const char	*name;
	const char	*value;		/* NULL = "" */
};

/* Append the HTML-escaped (p, len) to out. Returns 0 or -1. */
int	template_escape(struct buf *out, const char *p, size_t len);

/*
 * Expand text (tlen bytes) with vars (nvars) into out. Unknown names
 * expand to "". Returns 0 or -1.
 */
int	template_expand(const char *text, size_t tlen, const struct tvar *vars,
	    size_t nvars, struct buf *out);

/* Load dir/name (cached per process) and expand it. Returns 0 or -1. */
int	template_render(const char *dir, const char *name,
	    const struct tvar *vars, size_t nvars, struct buf *out);

#endif
