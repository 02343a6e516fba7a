/*
 * Templates from www_dir: "{{name}}" is replaced with the HTML-escaped
 * value of name. A variable marked raw is inserted as is: only for HTML
 * the program built itself with every dynamic value passed through
 * template_escape() (never request data in an HTML page), or for a
 * template that is not HTML (the text of a mail).
 */
#ifndef AUTHGW_TEMPLATE_H
#define AUTHGW_TEMPLATE_H

#include <stddef.h>

struct buf;

struct tvar {
	const char	*name;
	const char	*value;		/* NULL = "" */
	int		 raw;		/* insert as is (see above) */
};

/* Append the HTML-escaped (p, len) to out. Returns 0 or -1. */
int	template_escape(struct buf *out, const char *p, size_t len);

/*
 * Expand text (tlen bytes) with vars (nvars) into out. Unknown names
 * expand to "". Returns 0 or -1.
 */
int	template_expand(const char *text, size_t tlen, const struct tvar *vars,
	    size_t nvars, struct buf *out);

#define TEMPLATE_VARS_MAX	128
#define TEMPLATE_CSS		"authgw.css"

/*
 * Load dir/name (cached per process) and expand it. Besides vars, {{css}}
 * expands to dir/authgw.css as it is: the one stylesheet, inlined in
 * every page. Returns 0 or -1.
 */
int	template_render(const char *dir, const char *name,
	    const struct tvar *vars, size_t nvars, struct buf *out);

#endif
