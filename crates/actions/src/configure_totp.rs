//! Required action CONFIGURE_TOTP: "Configuration de l'authentification par mobile". The user
//! scans a QR code (or types the key), names the device and proves it with one code.

use serde_json::{Map, Value, json};
use sesame_domain::RequiredAction;
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::params::Params;
use sesame_store::{Credential, CredentialKind};

use crate::authenticate::{Login, Outcome, cancel, message, save, step_page};
use crate::flow::Step;
use crate::{Actions, totp};

const STEP: Step = Step::Action(RequiredAction::ConfigureTotp);

/// Longest device name accepted.
const MAX_DEVICE_NAME: usize = 64;

/// The enrolment page, with the QR code or, in manual mode, the key in groups of four.
pub(crate) async fn show(
    actions: &Actions,
    login: &mut Login,
    query: &Params,
) -> axum::response::Response {
    render(
        actions,
        login,
        query.get("mode") == Some("manual"),
        "",
        false,
        None,
        &Map::new(),
    )
    .await
}

async fn render(
    actions: &Actions,
    login: &mut Login,
    manual: bool,
    user_label: &str,
    logout_sessions: bool,
    error: Option<&str>,
    errors: &Map<String, Value>,
) -> axum::response::Response {
    let provider = &actions.provider;
    let secret = match pending_secret(actions, login).await {
        Ok(secret) => secret,
        Err(response) => return response,
    };
    let policy = login.settings.otp_policy();
    let issuer = login.settings.shown_name(&login.realm);
    let account = login
        .user
        .as_ref()
        .map(|user| user.email.clone().unwrap_or_else(|| user.username.clone()))
        .unwrap_or_default();
    let uri = totp::key_uri(&issuer, &account, &secret, policy.digits, policy.period);
    let alternative = provider.ui.message(&login.locale, "totpScanAlt", &[]);
    let qr_svg = match totp::qr_svg(&uri, &alternative) {
        Ok(svg) => svg,
        Err(err) => {
            tracing::error!(realm = %login.realm, error = %err, "QR code rendering failed");
            String::new()
        }
    };
    let base = format!(
        "{}/realms/{}/login-actions/authenticate",
        provider.public_url, login.realm
    );
    let extra = json!({
        "manual": manual,
        "qr_svg": qr_svg,
        "secret_grouped": secret.grouped(),
        "algorithm": "SHA1",
        "digits": policy.digits,
        "period": policy.period,
        "manual_url": format!("{base}?mode=manual"),
        "qr_url": base,
        "user_label": user_label,
        "logout_sessions": logout_sessions,
        "cancel": true,
    });
    step_page(
        actions,
        login,
        "login-config-totp.html",
        STEP,
        extra,
        error,
        errors,
    )
}

/// The secret being enrolled: generated once per login session and kept (sealed) with it, so
/// that reloading the page shows the same QR code.
async fn pending_secret(
    actions: &Actions,
    login: &mut Login,
) -> Result<totp::TotpSecret, axum::response::Response> {
    let provider = &actions.provider;
    let purpose = format!("enrolment:{}", login.session.id);
    if let Some(sealed) = &login.flow.totp_secret
        && let Ok(bytes) = provider.keys.open_secret(sealed, &purpose)
    {
        return Ok(totp::TotpSecret::from_bytes(bytes));
    }
    let secret = totp::TotpSecret::generate();
    let sealed = provider
        .keys
        .seal_secret(secret.as_bytes(), &purpose)
        .map_err(|err| {
            tracing::error!(error = %err, "sealing an enrolment secret failed");
            sesame_oidc::pages::error_page(
                provider,
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                &login.locale,
                "internalServerErrorMessage",
            )
        })?;
    login.flow.totp_secret = Some(sealed);
    save(provider, login)
        .await
        .map_err(|err| server_error_page(provider, &err))?;
    Ok(secret)
}

/// Checks the code and the device name, then stores the device.
pub(crate) async fn submit(actions: &Actions, login: &mut Login, form: &Params) -> Outcome {
    let provider = &actions.provider;
    if form.get("cancel").is_some() {
        return Outcome::Show(cancel(actions, login).await);
    }
    let code = form
        .get("totp")
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let user_label = form
        .get("userLabel")
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let logout_sessions = form.get("logout-sessions").is_some();
    let user_id = login.flow.user_id.clone().unwrap_or_default();

    let mut errors = Map::new();
    if code.is_empty() {
        errors.insert(
            "totp".into(),
            message(actions, login, "missingTotpMessage", &[]),
        );
    }
    if user_label.is_empty() {
        errors.insert(
            "userLabel".into(),
            message(actions, login, "missingDeviceNameMessage", &[]),
        );
    } else if user_label.chars().count() > MAX_DEVICE_NAME
        || user_label.chars().any(char::is_control)
    {
        errors.insert(
            "userLabel".into(),
            message(actions, login, "invalidDeviceNameMessage", &[]),
        );
    } else {
        let lookup = user_id.clone();
        let existing = provider
            .db
            .run(move |conn| sesame_store::list_credentials(conn, &lookup, CredentialKind::Otp))
            .await;
        let existing = match existing {
            Ok(existing) => existing,
            Err(err) => return Outcome::Show(server_error_page(provider, &err)),
        };
        if existing
            .iter()
            .any(|device| same_name(device.label.as_deref(), &user_label))
        {
            errors.insert(
                "userLabel".into(),
                message(actions, login, "duplicateDeviceNameMessage", &[]),
            );
        }
    }
    let secret = match pending_secret(actions, login).await {
        Ok(secret) => secret,
        Err(response) => return Outcome::Show(response),
    };
    let policy = login.settings.otp_policy();
    let step = if code.is_empty() {
        None
    } else {
        let step = totp::verify(
            secret.as_bytes(),
            &code,
            provider.clock.now(),
            policy.period,
            policy.digits,
            policy.look_around,
        );
        if step.is_none() {
            errors.insert(
                "totp".into(),
                message(actions, login, "invalidTotpMessage", &[]),
            );
        }
        step
    };
    let (Some(step), true) = (step, errors.is_empty()) else {
        tracing::debug!(realm = %login.realm, user_id, "device enrolment refused");
        return Outcome::Show(
            render(
                actions,
                login,
                false,
                &user_label,
                logout_sessions,
                Some("invalidFormMessage"),
                &errors,
            )
            .await,
        );
    };

    let credential_id = sesame_oidc::new_id();
    let sealed = match provider
        .keys
        .seal_secret(secret.as_bytes(), &format!("otp:{credential_id}"))
    {
        Ok(sealed) => sealed,
        Err(err) => {
            tracing::error!(error = %err, "sealing an OTP secret failed");
            return Outcome::Show(sesame_oidc::pages::error_page(
                provider,
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                &login.locale,
                "internalServerErrorMessage",
            ));
        }
    };
    let now = provider.clock.now();
    // The code typed at enrolment counts as used: it cannot sign in a second time.
    let credential = Credential {
        id: credential_id.clone(),
        user_id: user_id.clone(),
        kind: CredentialKind::Otp.as_str().to_owned(),
        label: Some(user_label.clone()),
        secret: sealed,
        last_used_step: Some(step),
        created_at: now,
    };
    let owner = user_id.clone();
    // From the account console, "sign out of the other devices" keeps the console's session.
    let console_session = login
        .flow
        .account
        .as_ref()
        .and_then(|account| account.session_id.clone());
    let event = login.event(actions, sesame_domain::EventType::UpdateTotp);
    let event = event
        .detail("credential_id", &credential_id)
        .detail("otp_device", &user_label);
    let stored = provider
        .db
        .run(move |conn| {
            sesame_store::in_transaction(conn, |conn| {
                sesame_store::insert_credential(conn, &credential)?;
                sesame_store::insert_event(conn, &event)?;
                sesame_store::delete_required_action(conn, &owner, RequiredAction::ConfigureTotp)?;
                match (logout_sessions, &console_session) {
                    (false, _) => {}
                    (true, None) => {
                        sesame_store::end_all_user_sessions(conn, &owner, now)?;
                    }
                    (true, Some(kept)) => {
                        for session in sesame_store::list_user_sessions(conn, &owner, now)? {
                            if session.id != *kept {
                                sesame_store::end_user_session(conn, &session.id, now)?;
                            }
                        }
                    }
                }
                Ok(())
            })
        })
        .await;
    if let Err(err) = stored {
        return Outcome::Show(server_error_page(provider, &err));
    }
    tracing::info!(realm = %login.realm, user_id, device = %credential_id, "OTP device enrolled");
    login.flow.totp_secret = None;
    login.flow.action_done(RequiredAction::ConfigureTotp);
    // A journey from a mail link sets the account up; any later device is news to its owner.
    if !login.flow.is_journey()
        && let Some(user) = &login.user
    {
        let alert = crate::account::SecurityAlert::DeviceAdded(user_label.clone());
        crate::account::send_security_alert(actions, &login.realm, &login.settings, user, &alert)
            .await;
    }
    if !login.flow.is_strong() {
        login.flow.amr.push("otp".to_owned());
    }
    Outcome::Advance
}

/// Device names are compared trimmed and without regard to case.
fn same_name(existing: Option<&str>, candidate: &str) -> bool {
    existing
        .is_some_and(|existing| existing.trim().to_lowercase() == candidate.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_names_compare_trimmed_and_case_insensitively() {
        assert!(super::same_name(Some(" Téléphone Pro "), "téléphone pro"));
        assert!(!super::same_name(Some("Téléphone"), "Tablette"));
        assert!(!super::same_name(None, "Tablette"));
    }
}
