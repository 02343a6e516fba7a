/*
 * libFuzzer harness: parse_urlencoded on arbitrary bytes, checking the
 * contract of every field it returns and that parse_urlencode output
 * decodes back to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_field(const struct fields *fs, const struct field *f)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 back;
	const char	*v;
	size_t		 klen, i, vlen;

	klen = strlen(f->key);
	if (klen == 0 || klen > PARSE_KEY_MAX)
		abort();
	for (i = 0; i < klen; i++)
		if ((unsigned char)f->key[i] < 0x20 || f->key[i] == 0x7f)
			abort();
	if (f->val[f->vlen] != '\0')
		abort();
	/* Repeated keys keep the first: this field is the one found. */
	if (fields_get(fs, f->key, &vlen) != f->val || vlen != f->vlen)
		abort();
	if ((v = fields_get_text(fs, f->key)) != NULL)
		for (i = 0; i < f->vlen; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				abort();

	if (buf_puts(&b, "k=") == -1 ||
	    parse_urlencode(f->val, f->vlen, &b) == -1) {
		buf_free(&b);
		return;
	}
	memset(&back, 0, sizeof(back));
	if (parse_urlencoded(b.data, b.len, &back) != PARSE_OK)
		abort();
	v = fields_get(&back, "k", &vlen);
	if (v == NULL || vlen != f->vlen || memcmp(v, f->val, vlen) != 0)
		abort();
	fields_free(&back);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields	 fs;
	enum parse_rc	 rc;
	size_t		 i;

	memset(&fs, 0, sizeof(fs));
	rc = parse_urlencoded((const char *)data, size, &fs);
	if (rc != PARSE_OK) {
		if (fs.n != 0 || parse_strerror(rc) == NULL)
			abort();
		return 0;
	}
	if (fs.n > PARSE_FIELDS_MAX)
		abort();
	for (i = 0; i < fs.n; i++)
		check_field(&fs, &fs.f[i]);
	fields_free(&fs);
	return 0;
}
