//! The diesel schema, written to match `migrations/` on both backends.

diesel::table! {
    realms (name) {
        name -> Text,
        settings -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        realm -> Text,
        client_id -> Text,
        name -> Text,
        enabled -> Bool,
        auth_method -> Text,
        secret_sha256 -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        base_url -> Nullable<Text>,
        standard_flow_enabled -> Bool,
        service_accounts_enabled -> Bool,
        pkce_required -> Bool,
        jwks -> Nullable<Text>,
        realm_admin -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        realm -> Text,
        username -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        enabled -> Bool,
        locale -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        label -> Nullable<Text>,
        secret -> Text,
        last_used_step -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    required_actions (user_id, action) {
        user_id -> Text,
        action -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        realm -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    auth_sessions (id) {
        id -> Text,
        realm -> Text,
        client_id -> Text,
        request -> Text,
        flow -> Text,
        csrf_token -> Text,
        created_at -> BigInt,
        step_expires_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> Text,
        token_sha256 -> Text,
        realm -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        acr -> Text,
        amr -> Text,
        ip -> Text,
        user_agent -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        realm -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        scope -> Text,
        auth_time -> BigInt,
        acr -> Text,
        amr -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_codes (code_sha256) {
        code_sha256 -> Text,
        grant_id -> Text,
        redirect_uri -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_sha256) {
        token_sha256 -> Text,
        grant_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(clients -> realms (realm));
diesel::joinable!(users -> realms (realm));
diesel::joinable!(credentials -> users (user_id));
diesel::joinable!(required_actions -> users (user_id));
diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(authorization_codes -> grants (grant_id));
diesel::joinable!(refresh_tokens -> grants (grant_id));

diesel::allow_tables_to_appear_in_same_query!(
    realms,
    clients,
    users,
    credentials,
    required_actions,
    signing_keys,
    auth_sessions,
    user_sessions,
    grants,
    authorization_codes,
    refresh_tokens,
    revoked_tokens,
);

diesel::table! {
    action_tokens (token_sha256) {
        token_sha256 -> Text,
        realm -> Text,
        user_id -> Text,
        kind -> Text,
        actions -> Text,
        client_id -> Nullable<Text>,
        redirect_uri -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        completed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_failures (failure_key) {
        failure_key -> Text,
        failures -> BigInt,
        last_failure_at -> BigInt,
        locked_until -> BigInt,
    }
}

diesel::joinable!(action_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(action_tokens, users);

diesel::table! {
    events (seq) {
        seq -> BigInt,
        id -> Text,
        realm -> Text,
        time -> BigInt,
        event_type -> Nullable<Text>,
        operation -> Nullable<Text>,
        resource_type -> Nullable<Text>,
        resource_path -> Nullable<Text>,
        auth_realm -> Nullable<Text>,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        ip_address -> Text,
        error -> Nullable<Text>,
        details -> Text,
    }
}
