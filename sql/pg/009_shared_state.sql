-- State every host shares (as sql/009_shared_state.sql): named counters
-- ('namespace': the memcached key namespace) and the hosts' heartbeats.
CREATE TABLE shared (
	key	TEXT PRIMARY KEY,
	value	BIGINT NOT NULL
);

CREATE TABLE hosts (
	name		TEXT PRIMARY KEY,
	started		BIGINT NOT NULL,
	seen		BIGINT NOT NULL,
	checks		BIGINT NOT NULL DEFAULT 0,
	cache_hits	BIGINT NOT NULL DEFAULT 0,
	cache_misses	BIGINT NOT NULL DEFAULT 0,
	workers		BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX hosts_seen ON hosts(seen);
