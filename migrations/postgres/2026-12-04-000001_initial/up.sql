-- Times are Unix seconds in BIGINT columns on both backends, so that rows compare the same way
-- everywhere and no time-zone conversion happens in the database.

CREATE TABLE realms (
    name TEXT PRIMARY KEY NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    auth_method TEXT NOT NULL,
    secret_sha256 TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    base_url TEXT,
    standard_flow_enabled BOOLEAN NOT NULL,
    service_accounts_enabled BOOLEAN NOT NULL,
    pkce_required BOOLEAN NOT NULL,
    jwks TEXT,
    realm_admin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (realm, client_id)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    username TEXT NOT NULL,
    email TEXT,
    email_verified BOOLEAN NOT NULL,
    first_name TEXT,
    last_name TEXT,
    enabled BOOLEAN NOT NULL,
    locale TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (realm, username),
    UNIQUE (realm, email)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    label TEXT,
    secret TEXT NOT NULL,
    last_used_step BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_user ON credentials (user_id);

CREATE TABLE required_actions (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    PRIMARY KEY (user_id, action)
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX signing_keys_realm ON signing_keys (realm);

CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    request TEXT NOT NULL,
    flow TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    step_expires_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE user_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE TABLE grants (
    id TEXT PRIMARY KEY NOT NULL,
    realm TEXT NOT NULL REFERENCES realms (name) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_session ON grants (session_id);

CREATE TABLE authorization_codes (
    code_sha256 TEXT PRIMARY KEY NOT NULL,
    grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE refresh_tokens (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
