/*
 * The only module that includes jansson. Reading: a flat JSON object of
 * scalars into struct fields, with the same key rules as a form. Writing:
 * a small builder whose setters never fail loudly; the first failure is
 * remembered and reported by jobj_finish.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "util.h"

#define JSON_NUMBER_MAX		32	/* bytes of a number's text */

/*
 * A builder node. The root owns the list of every wrapper made under it;
 * each wrapper holds its own reference to its jansson object, so a key
 * set twice never leaves a dangling wrapper.
 */
struct jobj {
	json_t		*val;
	struct jobj	*root;
	struct jobj	*next;		/* in the root's list */
	int		 failed;	/* root only */
};

static int
json_key_ok(const char *key, size_t klen)
{
	size_t	 i;

	if (klen == 0 || klen > PARSE_KEY_MAX)
		return 0;
	for (i = 0; i < klen; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return 0;
	return 1;
}

/* Add one member of the parsed object to out. */
static enum parse_rc
json_field_add(struct fields *out, const char *key, json_t *v)
{
	char	 num[JSON_NUMBER_MAX];
	int	 n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return fields_add(out, key, strlen(key), json_string_value(v),
		    json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		n = snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		return fields_add(out, key, strlen(key), "1", 1);
	case JSON_FALSE:
		return fields_add(out, key, strlen(key), "0", 1);
	case JSON_NULL:
		return PARSE_OK;
	default:
		return PARSE_BAD_JSON;
	}
	if (n < 0 || (size_t)n >= sizeof(num))
		return PARSE_BAD_JSON;
	return fields_add(out, key, strlen(key), num, (size_t)n);
}

enum parse_rc
json_parse_fields(const char *p, size_t len, struct fields *out)
{
	json_error_t	 err;
	json_t		*root, *v;
	const char	*key;
	enum parse_rc	 rc = PARSE_OK;

	out->n = 0;
	root = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &err);
	if (root == NULL)
		return PARSE_BAD_JSON;
	if (!json_is_object(root)) {
		rc = PARSE_BAD_JSON;
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (!json_key_ok(key, strlen(key))) {
			rc = PARSE_BAD_KEY;
			break;
		}
		if ((rc = json_field_add(out, key, v)) != PARSE_OK)
			break;
	}
out:
	json_decref(root);
	if (rc != PARSE_OK)
		fields_free(out);
	return rc;
}

struct jobj *
jobj_new(void)
{
	struct jobj	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if ((j->val = json_object()) == NULL) {
		free(j);
		return NULL;
	}
	j->root = j;
	return j;
}

static void
jobj_fail(struct jobj *j)
{
	if (j != NULL)
		j->root->failed = 1;
}

/* Set key to v (a new reference, may be NULL) in j; stealing v. */
static void
jobj_set(struct jobj *j, const char *key, json_t *v)
{
	if (j == NULL) {
		json_decref(v);
		return;
	}
	if (v == NULL || json_object_set_new(j->val, key, v) == -1)
		jobj_fail(j);
}

/* A wrapper around o (a new reference, stolen) under j's root. */
static struct jobj *
jobj_wrap(struct jobj *j, json_t *o)
{
	struct jobj	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(o);
		jobj_fail(j);
		return NULL;
	}
	c->val = o;
	c->root = j->root;
	c->next = j->root->next;
	j->root->next = c;
	return c;
}

struct jobj *
jobj_obj(struct jobj *j, const char *key)
{
	json_t	*o;

	if (j == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		jobj_fail(j);
		return NULL;
	}
	if (json_object_set(j->val, key, o) == -1) {
		json_decref(o);
		jobj_fail(j);
		return NULL;
	}
	return jobj_wrap(j, o);
}

static json_t	*json_string_safe(const char *);

/* The array under key, created when missing: NULL on failure. */
static json_t *
jobj_array(struct jobj *j, const char *key)
{
	json_t	*arr = json_object_get(j->val, key);

	if (arr == NULL || !json_is_array(arr)) {
		if ((arr = json_array()) == NULL ||
		    json_object_set_new(j->val, key, arr) == -1) {
			jobj_fail(j);
			return NULL;
		}
	}
	return arr;
}

void
jobj_arr(struct jobj *j, const char *key)
{
	if (j != NULL)
		(void)jobj_array(j, key);
}

void
jobj_arr_str(struct jobj *j, const char *key, const char *val)
{
	json_t	*arr;

	if (j == NULL || (arr = jobj_array(j, key)) == NULL)
		return;
	if (json_array_append_new(arr, json_string_safe(val)) == -1)
		jobj_fail(j);
}

struct jobj *
jobj_arr_obj(struct jobj *j, const char *key)
{
	json_t	*arr, *o;

	if (j == NULL || (arr = jobj_array(j, key)) == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		jobj_fail(j);
		return NULL;
	}
	if (json_array_append(arr, o) == -1) {
		json_decref(o);
		jobj_fail(j);
		return NULL;
	}
	return jobj_wrap(j, o);
}

/*
 * A JSON string of val. Bytes that are not valid UTF-8 (a user agent
 * can hold anything) make the whole string fall back to ASCII with '?'
 * for every byte over 0x7f, since jansson refuses invalid UTF-8.
 */
static json_t *
json_string_safe(const char *val)
{
	json_t	*s;
	char	*copy;
	size_t	 i, len;

	if ((s = json_string(val)) != NULL)
		return s;
	len = strlen(val);
	if ((copy = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		copy[i] = (unsigned char)val[i] > 0x7f ? '?' : val[i];
	copy[len] = '\0';
	s = json_string(copy);
	free(copy);
	return s;
}

void
jobj_str(struct jobj *j, const char *key, const char *val)
{
	jobj_set(j, key, val != NULL ? json_string_safe(val) : json_null());
}

void
jobj_int(struct jobj *j, const char *key, int64_t val)
{
	jobj_set(j, key, json_integer((json_int_t)val));
}

void
jobj_real(struct jobj *j, const char *key, double val)
{
	json_t	*v;

	/* jansson refuses NaN and infinities; JSON has no spelling for them. */
	if ((v = json_real(val)) == NULL)
		v = json_null();
	jobj_set(j, key, v);
}

void
jobj_bool(struct jobj *j, const char *key, int val)
{
	jobj_set(j, key, json_boolean(val));
}

int
jobj_finish(struct jobj *j, struct buf *out)
{
	char	*s;
	int	 rc = -1;

	if (j == NULL)
		return -1;
	if (j->root != j) {
		jobj_fail(j);
		return -1;
	}
	if (!j->failed && (s = json_dumps(j->val, JSON_COMPACT)) != NULL) {
		rc = buf_puts(out, s);
		free(s);
	}
	jobj_free(j);
	return rc;
}

void
jobj_free(struct jobj *j)
{
	struct jobj	*c, *next;

	/* Children belong to their root and go with it. */
	if (j == NULL || j->root != j)
		return;
	for (c = j->next; c != NULL; c = next) {
		next = c->next;
		json_decref(c->val);
		free(c);
	}
	json_decref(j->val);
	free(j);
}
