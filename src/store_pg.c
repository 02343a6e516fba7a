/* The PostgreSQL engine of the store (store.h): not yet. */
#include <stdio.h>

#include "store_engine.h"

struct store *
store_pg_open(const char *uri, int migrate, char *err, size_t errsz)
{
	(void)uri;
	(void)migrate;
	snprintf(err, errsz, "PostgreSQL: not built yet");
	return NULL;
}
