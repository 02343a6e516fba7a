-- State every host shares (issue 14, SPEC 8): kept in the authority, not
-- in a host's table. shared holds named counters: 'namespace' is the
-- memcached key namespace (moved by one to drop every cached entry at
-- once, on every host). hosts holds each host's heartbeat for /admin: its
-- name, when its master started, when it last wrote, and its counters.
CREATE TABLE shared (
	key	TEXT PRIMARY KEY,
	value	INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE hosts (
	name		TEXT PRIMARY KEY,
	started		INTEGER NOT NULL,
	seen		INTEGER NOT NULL,
	checks		INTEGER NOT NULL DEFAULT 0,
	cache_hits	INTEGER NOT NULL DEFAULT 0,
	cache_misses	INTEGER NOT NULL DEFAULT 0,
	workers		INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX hosts_seen ON hosts(seen);
