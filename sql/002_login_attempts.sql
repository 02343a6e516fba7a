-- Sliding-window rate limiting: an exact log of counted attempts.
-- kind: 1 login per account, 2 login per client address,
--       3 register/resend per address, 4 register/resend per client address.
-- key: the normalised email, or the client address (IPv6 as its /64).
CREATE TABLE attempts (
	id	INTEGER PRIMARY KEY,
	kind	INTEGER NOT NULL,
	key	TEXT NOT NULL,
	at	INTEGER NOT NULL
);
CREATE INDEX attempts_key ON attempts(kind, key, at);
CREATE INDEX attempts_at ON attempts(at);
