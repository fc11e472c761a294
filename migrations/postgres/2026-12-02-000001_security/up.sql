-- Security fixes of issue 11.
--
-- 1. A session row carries its revocation, so it must outlive its user: deleting a user no longer
--    cascades to the sessions (they stay revoked until they expire, and a restarted or new replica
--    still refuses the deleted user's access tokens). Sessions now reference their tenant instead.
ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_user_id_fkey;
ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);

-- 2. Password checks in flight per account, so the lockout threshold holds under any concurrency:
--    a check is admitted only while settled failures + checks in flight stay below the threshold.
--    The in-flight count expires (login_pending_until) so a crashed replica cannot leave it stuck.
ALTER TABLE users
    ADD COLUMN login_attempts_pending integer NOT NULL DEFAULT 0,
    ADD COLUMN login_pending_until timestamptz;

-- 3. The access-token signing keys, shared by every replica: public key in the clear, private key
--    sealed (AES-256-GCM) with the key-encryption key from the configuration, which the database
--    never sees. A platform table (no tenant): only the platform role reads or adds keys; the
--    application role sees no row. Under Citus it is a reference table.
CREATE TABLE signing_keys (
    kid          text        NOT NULL PRIMARY KEY,
    public_key   bytea       NOT NULL,
    sealed_key   bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL
);
ALTER TABLE signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE signing_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_all ON signing_keys TO pake_platform USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON signing_keys TO pake_platform;
