-- Links sent by mail (the initialisation mail, a forgotten password): stored as digests, bound
-- to a user and the actions they allow, usable until the journey is finished or they expire.
CREATE TABLE action_tokens (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actions TEXT NOT NULL,
    client_id TEXT,
    redirect_uri TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX action_tokens_user ON action_tokens (user_id);

-- Failed logins per account and per address, shared by every node.
CREATE TABLE login_failures (
    failure_key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
