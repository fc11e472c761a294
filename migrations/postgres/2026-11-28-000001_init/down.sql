DROP TABLE usage_counters;
DROP TABLE saved_searches;
DROP TABLE search_history;
DROP TABLE audit_events;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE tenants;
DROP FUNCTION pake_current_tenant();
-- The roles are cluster-wide and may serve other databases: they stay.
