-- A generation per user, bumped in the same transaction as every change
-- that must stop logins already in progress: a new password, disabling,
-- "log out everywhere". A login reads it with the password hash and inserts
-- its session only while it is unchanged, so a login whose password check
-- began before such a change never creates a session after it.
ALTER TABLE users ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
