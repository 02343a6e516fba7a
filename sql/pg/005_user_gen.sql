-- A generation per user (as sql/005_user_gen.sql).
ALTER TABLE users ADD COLUMN gen BIGINT NOT NULL DEFAULT 0;
