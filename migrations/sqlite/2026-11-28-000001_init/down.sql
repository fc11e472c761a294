DROP TABLE usage_counters;
DROP TABLE saved_searches;
DROP TABLE search_history;
DROP TABLE audit_events;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE tenants;
