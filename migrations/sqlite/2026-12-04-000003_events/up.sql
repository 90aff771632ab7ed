-- Audit events: user events (logins, failures, tokens, required actions) and admin events
-- (changes through the admin API). No foreign keys: an event outlives the user, client or
-- session it names. `seq` orders events recorded within the same second.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    realm TEXT NOT NULL,
    time BIGINT NOT NULL,
    event_type TEXT,
    operation TEXT,
    resource_type TEXT,
    resource_path TEXT,
    auth_realm TEXT,
    user_id TEXT,
    client_id TEXT,
    session_id TEXT,
    ip_address TEXT NOT NULL,
    error TEXT,
    details TEXT NOT NULL
);
CREATE INDEX events_realm_time ON events (realm, time);
CREATE INDEX events_user ON events (user_id);
