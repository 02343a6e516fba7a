/*
 * The only module that includes jansson: reading a flat JSON object into
 * fields, and a small builder for JSON answers.
 */
#ifndef AUTHGW_JSON_H
#define AUTHGW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/*
 * Parse a JSON object whose values are strings, numbers, booleans or null
 * into out (empty). Booleans become "1"/"0", numbers their decimal text,
 * null is skipped. Nested values are PARSE_BAD_JSON.
 */
enum parse_rc	 json_parse_fields(const char *p, size_t len, struct fields *out);

struct jobj;	/* a JSON object under construction */
struct buf;

struct jobj	*jobj_new(void);
/* A child object stored under key (owned by the parent). */
struct jobj	*jobj_obj(struct jobj *, const char *key);
void		 jobj_str(struct jobj *, const char *key, const char *val);
void		 jobj_int(struct jobj *, const char *key, int64_t val);
void		 jobj_real(struct jobj *, const char *key, double val);
void		 jobj_bool(struct jobj *, const char *key, int val);
/* An array under key, empty until objects are appended. */
void		 jobj_arr(struct jobj *, const char *key);
/* Append an object to an array under key (created on first use). */
struct jobj	*jobj_arr_obj(struct jobj *, const char *key);
/* Append a string to an array under key (created on first use). */
void		 jobj_arr_str(struct jobj *, const char *key, const char *val);
/* Serialise into out and free the object. Returns 0 or -1. */
int		 jobj_finish(struct jobj *, struct buf *out);
void		 jobj_free(struct jobj *);

#endif
