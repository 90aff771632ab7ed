//! The second step of a login: the one-time code, after picking the device when the user has
//! several.

use serde_json::{Map, json};
use sesame_oidc::authorize::server_error_page;
use sesame_oidc::metrics::LoginOutcome;
use sesame_oidc::params::Params;
use sesame_store::{Credential, CredentialKind};

use crate::authenticate::{Login, Outcome, message, step_page};
use crate::flow::Step;
use crate::{Actions, audit, throttle, totp};

/// The code form, with the device picker when there are several devices.
pub(crate) async fn show(actions: &Actions, login: &Login) -> axum::response::Response {
    match devices(actions, login).await {
        Ok(devices) => form(actions, login, &devices, None, &Map::new()),
        Err(response) => response,
    }
}

fn form(
    actions: &Actions,
    login: &Login,
    devices: &[Credential],
    error: Option<&str>,
    errors: &Map<String, serde_json::Value>,
) -> axum::response::Response {
    let list: Vec<_> = devices
        .iter()
        .map(|device| json!({ "id": device.id, "label": device.label.clone().unwrap_or_default() }))
        .collect();
    let selected = login
        .flow
        .selected_device
        .clone()
        .or_else(|| devices.first().map(|device| device.id.clone()))
        .unwrap_or_default();
    step_page(
        actions,
        login,
        "login-otp.html",
        Step::Otp,
        json!({ "devices": list, "selected": selected }),
        error,
        errors,
    )
}

/// Checks the code of the chosen device. A code counts once: its time step must be newer than
/// the last one accepted for that device, checked and recorded in one statement.
pub(crate) async fn submit(actions: &Actions, login: &mut Login, form_params: &Params) -> Outcome {
    let provider = &actions.provider;
    let devices = match devices(actions, login).await {
        Ok(devices) => devices,
        Err(response) => return Outcome::Show(response),
    };
    let device = match form_params.get("selected_credential") {
        Some(id) => devices.iter().find(|device| device.id == id),
        None => devices.first(),
    };
    let Some(device) = device.cloned() else {
        return Outcome::Show(form(
            actions,
            login,
            &devices,
            Some("invalidTotpMessage"),
            &Map::new(),
        ));
    };
    login.flow.selected_device = Some(device.id.clone());
    let Some(code) = form_params
        .get("otp")
        .map(str::trim)
        .filter(|code| !code.is_empty())
    else {
        let mut errors = Map::new();
        errors.insert(
            "otp".into(),
            message(actions, login, "missingTotpMessage", &[]),
        );
        return Outcome::Show(form(
            actions,
            login,
            &devices,
            Some("missingTotpMessage"),
            &errors,
        ));
    };
    let user_id = login.flow.user_id.clone().unwrap_or_default();
    let keys = throttle::Keys::new(&login.realm, Some(&user_id), &login.address);
    match throttle::is_locked(provider, &login.settings, &keys).await {
        Ok(false) => {}
        Ok(true) => {
            provider.metrics.login(&login.realm, LoginOutcome::Locked);
            audit::code_refused(actions, login, &device.id, "locked").await;
            return Outcome::Show(refuse(actions, login, &devices));
        }
        Err(err) => return Outcome::Show(server_error_page(provider, &err)),
    }

    let accepted = match check_code(actions, login, &device, code).await {
        Ok(accepted) => accepted,
        Err(response) => return Outcome::Show(response),
    };
    if !accepted {
        tracing::info!(realm = %login.realm, user_id, device = %device.id, ip = %login.address, "one-time code refused");
        provider.metrics.login(&login.realm, LoginOutcome::BadCode);
        audit::code_refused(actions, login, &device.id, "wrong code").await;
        if let Err(err) = throttle::record_failure(provider, &login.settings, &keys).await {
            return Outcome::Show(server_error_page(provider, &err));
        }
        return Outcome::Show(refuse(actions, login, &devices));
    }
    if let Err(err) = throttle::clear(provider, &keys).await {
        return Outcome::Show(server_error_page(provider, &err));
    }
    tracing::debug!(realm = %login.realm, user_id, device = %device.id, "one-time code accepted");
    login.flow.amr.push("otp".to_owned());
    Outcome::Advance
}

fn refuse(actions: &Actions, login: &Login, devices: &[Credential]) -> axum::response::Response {
    let mut errors = Map::new();
    errors.insert(
        "otp".into(),
        message(actions, login, "invalidTotpMessage", &[]),
    );
    form(actions, login, devices, Some("invalidTotpMessage"), &errors)
}

/// Whether `code` is a fresh valid code of `device`, recording its step when it is.
pub(crate) async fn check_code(
    actions: &Actions,
    login: &Login,
    device: &Credential,
    code: &str,
) -> Result<bool, axum::response::Response> {
    let provider = &actions.provider;
    let secret = provider.keys.open_secret(&device.secret, &format!("otp:{}", device.id)).map_err(|err| {
        tracing::error!(realm = %login.realm, device = %device.id, error = %err, "an OTP secret cannot be opened");
        sesame_oidc::pages::error_page(provider, axum::http::StatusCode::INTERNAL_SERVER_ERROR, &login.locale, "internalServerErrorMessage")
    })?;
    let policy = login.settings.otp_policy();
    let Some(step) = totp::verify(
        &secret,
        code,
        provider.clock.now(),
        policy.period,
        policy.digits,
        policy.look_around,
    ) else {
        return Ok(false);
    };
    let device_id = device.id.clone();
    provider
        .db
        .run(move |conn| sesame_store::mark_otp_step_used(conn, &device_id, step))
        .await
        .map_err(|err| server_error_page(provider, &err))
}

async fn devices(
    actions: &Actions,
    login: &Login,
) -> Result<Vec<Credential>, axum::response::Response> {
    let user_id = login.flow.user_id.clone().unwrap_or_default();
    actions
        .provider
        .db
        .run(move |conn| sesame_store::list_credentials(conn, &user_id, CredentialKind::Otp))
        .await
        .map_err(|err| server_error_page(&actions.provider, &err))
}
