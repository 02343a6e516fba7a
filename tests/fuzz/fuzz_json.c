/*
 * libFuzzer harness: json_parse_fields on arbitrary bytes; the fields it
 * returns are written back with the jobj builder and must parse to the
 * same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "parse.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
round_trip(const struct fields *fs)
{
	struct buf	 b = { NULL, 0, 0 };
	struct fields	 back;
	struct jobj	*j;
	const char	*v;
	size_t		 i, n = 0, vlen;

	if ((j = jobj_new()) == NULL)
		return;
	for (i = 0; i < fs->n; i++) {
		if (memchr(fs->f[i].val, '\0', fs->f[i].vlen) != NULL)
			continue;
		jobj_str(j, fs->f[i].key, fs->f[i].val);
		n++;
	}
	if (jobj_finish(j, &b) == -1)
		abort();
	memset(&back, 0, sizeof(back));
	if (json_parse_fields(b.data, b.len, &back) != PARSE_OK ||
	    back.n != n)
		abort();
	for (i = 0; i < fs->n; i++) {
		if (memchr(fs->f[i].val, '\0', fs->f[i].vlen) != NULL)
			continue;
		v = fields_get(&back, fs->f[i].key, &vlen);
		if (v == NULL || vlen != fs->f[i].vlen ||
		    memcmp(v, fs->f[i].val, vlen) != 0)
			abort();
	}
	fields_free(&back);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields	 fs;
	enum parse_rc	 rc;
	size_t		 i, klen;

	memset(&fs, 0, sizeof(fs));
	rc = json_parse_fields((const char *)data, size, &fs);
	if (rc != PARSE_OK) {
		if (fs.n != 0)
			abort();
		return 0;
	}
	if (fs.n > PARSE_FIELDS_MAX)
		abort();
	for (i = 0; i < fs.n; i++) {
		klen = strlen(fs.f[i].key);
		if (klen == 0 || klen > PARSE_KEY_MAX ||
		    fs.f[i].val[fs.f[i].vlen] != '\0')
			abort();
	}
	round_trip(&fs);
	fields_free(&fs);
	return 0;
}
