-- A registration's password travels with its verification token (as
-- sql/004_verify_password.sql).
ALTER TABLE verify_tokens ADD COLUMN pwhash TEXT NOT NULL DEFAULT '';
