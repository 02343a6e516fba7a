/*
 * libFuzzer harness: template_expand on arbitrary template text, and
 * template_escape whose output must hold no HTML special character
 * except '&' opening one of the five entities.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct tvar vars[] = {
	{ "name", "<script>alert('x')</script> & \"q\"", 0 },
	{ "csrf", "abc", 0 },
	{ "empty", NULL, 0 },
	{ "loop", "{{name}}", 0 },
};

static int
entity_at(const char *p, size_t len)
{
	static const char *const ents[] = {
		"&amp;", "&lt;", "&gt;", "&quot;", "&#39;",
	};
	size_t	 i, elen;

	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		elen = strlen(ents[i]);
		if (len >= elen && memcmp(p, ents[i], elen) == 0)
			return 1;
	}
	return 0;
}

static void
check_escape(const char *p, size_t len)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 i;

	if (template_escape(&b, p, len) == -1)
		return;
	if (b.len < len)
		abort();
	for (i = 0; i < b.len; i++) {
		switch (b.data[i]) {
		case '<':
		case '>':
		case '"':
		case '\'':
			abort();
		case '&':
			if (!entity_at(b.data + i, b.len - i))
				abort();
			break;
		default:
			break;
		}
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 b = { NULL, 0, 0 };
	const char	*p = (const char *)data;

	if (template_expand(p, size, vars, sizeof(vars) / sizeof(vars[0]),
	    &b) == 0 && memchr(p, '{', size) == NULL &&
	    (b.len != size || (size > 0 && memcmp(b.data, p, size) != 0)))
		abort();	/* without a brace the text is copied as is */
	buf_free(&b);
	check_escape(p, size);
	return 0;
}
