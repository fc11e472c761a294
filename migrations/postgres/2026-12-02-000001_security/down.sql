DROP TABLE signing_keys;
ALTER TABLE users DROP COLUMN login_pending_until, DROP COLUMN login_attempts_pending;
ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_fkey;
DELETE FROM sessions s WHERE NOT EXISTS (
    SELECT 1 FROM users u WHERE u.tenant_id = s.tenant_id AND u.id = s.user_id);
ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_user_id_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;
