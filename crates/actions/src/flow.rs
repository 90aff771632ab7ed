//! The state of a login or of a journey started from a mail link, and the rule that decides
//! which step comes next.
//!
//! A login goes: password, then the one-time code when the user has a device, then the
//! required actions in the realm's order (configuring a device first when the realm requires
//! one and the user has none). A journey from a mail link starts with a known user and runs the
//! link's actions only. Every decision is taken here, from stored state, so the back button, a
//! second tab or a double submit always land on the same current step.

use serde::{Deserialize, Serialize};
use sesame_domain::{RealmSettings, RequiredAction};

/// What a login or journey has done so far, stored as JSON with its login session.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Flow {
    /// The user, once the password was right or the mail link named them.
    pub(crate) user_id: Option<String>,
    /// Authentication methods done (`pwd`, `otp`).
    pub(crate) amr: Vec<String>,
    /// The OTP device the user picked.
    pub(crate) selected_device: Option<String>,
    /// The secret being enrolled, sealed, kept so that reloading the page keeps the QR code.
    pub(crate) totp_secret: Option<String>,
    /// For a journey from a mail link: the digest of the link's token.
    pub(crate) action_token: Option<String>,
    /// For a journey: the actions the link allows.
    pub(crate) link_actions: Vec<RequiredAction>,
    /// An action asked for by the application (`kc_action`) or the account console, run once
    /// even when the user does not owe it.
    #[serde(default)]
    pub(crate) requested_action: Option<RequiredAction>,
    /// Whether the requested action was done, so that the application's `kc_action` is not
    /// taken up again.
    #[serde(default)]
    pub(crate) requested_action_done: bool,
    /// For a login started by the account console: where it goes back to.
    #[serde(default)]
    pub(crate) account: Option<AccountReturn>,
}

/// Where a login started by the account console ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccountReturn {
    /// The console page to show afterwards, a path under `/realms/{realm}/account`.
    pub(crate) return_to: String,
    /// The browser session the console was used with, whose authentication time a fresh login
    /// renews.
    pub(crate) session_id: Option<String>,
    /// Whether this login asks for the password and code again (a fresh login), rather than
    /// going straight to the requested action of a recently authenticated user.
    pub(crate) reauthenticate: bool,
    /// The username to prefill when the console asks the signed-in user to log in again.
    #[serde(default)]
    pub(crate) login_hint: Option<String>,
}

/// The step to show or to process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Username (or address) and password.
    Password,
    /// The one-time code of an enrolled device.
    Otp,
    /// A required action.
    Action(RequiredAction),
    /// Nothing left: end the login or the journey.
    Finished,
}

impl Step {
    /// The name carried by forms, so that a stale form is recognised.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Otp => "otp",
            Self::Action(action) => action.alias(),
            Self::Finished => "finished",
        }
    }
}

/// What the engine needs to know about the user.
#[derive(Debug, Clone)]
pub(crate) struct UserState {
    /// Pending required actions, in any order.
    pub(crate) pending: Vec<RequiredAction>,
    /// Whether the user has at least one OTP device.
    pub(crate) has_otp_device: bool,
}

impl Flow {
    /// Whether this is a journey from a mail link rather than a login.
    pub(crate) fn is_journey(&self) -> bool {
        self.action_token.is_some()
    }

    /// Records that `action` was done: a requested action is not asked again.
    pub(crate) fn action_done(&mut self, action: RequiredAction) {
        if self.requested_action == Some(action) {
            self.requested_action = None;
            self.requested_action_done = true;
        }
    }

    /// Whether a second factor was used.
    pub(crate) fn is_strong(&self) -> bool {
        self.amr.iter().any(|method| method == "otp")
    }

    /// The next step, from what is done and what the user still owes.
    pub(crate) fn next_step(&self, settings: &RealmSettings, user: Option<&UserState>) -> Step {
        let (Some(_), Some(user)) = (&self.user_id, user) else {
            return Step::Password;
        };
        if !self.is_journey() && user.has_otp_device && !self.is_strong() {
            return Step::Otp;
        }
        let mut owed = user.pending.clone();
        if settings.otp_required
            && !user.has_otp_device
            && !owed.contains(&RequiredAction::ConfigureTotp)
        {
            owed.push(RequiredAction::ConfigureTotp);
        }
        if let Some(action) = self.requested_action
            && !owed.contains(&action)
        {
            owed.push(action);
        }
        if self.is_journey() {
            owed.retain(|action| {
                self.link_actions.contains(action)
                    || *action == RequiredAction::ConfigureTotp && settings.otp_required
            });
        }
        settings
            .required_action_order
            .iter()
            .chain(ALL_ACTIONS.iter())
            .find(|action| owed.contains(action) && is_supported(**action))
            .map_or(Step::Finished, |action| Step::Action(*action))
    }
}

/// Every action, so that one missing from a realm's order still runs (last).
const ALL_ACTIONS: [RequiredAction; 4] = [
    RequiredAction::ConfigureTotp,
    RequiredAction::UpdatePassword,
    RequiredAction::UpdateProfile,
    RequiredAction::VerifyEmail,
];

/// Whether Sésame has a page for the action. E-mail verification has none yet: a pending one
/// is skipped rather than blocking every login.
fn is_supported(action: RequiredAction) -> bool {
    match action {
        RequiredAction::ConfigureTotp
        | RequiredAction::UpdatePassword
        | RequiredAction::UpdateProfile => true,
        RequiredAction::VerifyEmail => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        flow: &Flow,
        otp_required: bool,
        pending: &[RequiredAction],
        has_device: bool,
        expected: Step,
    ) {
        let settings = RealmSettings {
            otp_required,
            ..RealmSettings::default()
        };
        let user = UserState {
            pending: pending.to_vec(),
            has_otp_device: has_device,
        };
        assert_eq!(
            flow.next_step(&settings, Some(&user)),
            expected,
            "{flow:?} {pending:?} {has_device}"
        );
    }

    #[test]
    fn login_order() {
        use RequiredAction::*;
        let nobody = Flow::default();
        let settings = RealmSettings::default();
        assert_eq!(nobody.next_step(&settings, None), Step::Password);

        let password_done = Flow {
            user_id: Some("u".into()),
            amr: vec!["pwd".into()],
            ..Flow::default()
        };
        check(&password_done, false, &[], false, Step::Finished);
        check(&password_done, false, &[], true, Step::Otp);
        check(
            &password_done,
            true,
            &[],
            false,
            Step::Action(ConfigureTotp),
        );
        check(
            &password_done,
            true,
            &[UpdateProfile, UpdatePassword],
            false,
            Step::Action(ConfigureTotp),
        );
        check(
            &password_done,
            false,
            &[UpdateProfile, UpdatePassword],
            false,
            Step::Action(UpdatePassword),
        );
        check(&password_done, false, &[VerifyEmail], false, Step::Finished);

        let strong = Flow {
            amr: vec!["pwd".into(), "otp".into()],
            ..password_done
        };
        check(&strong, true, &[], true, Step::Finished);
        check(
            &strong,
            true,
            &[UpdateProfile],
            true,
            Step::Action(UpdateProfile),
        );
    }

    #[test]
    fn requested_action_runs_once_after_the_code() {
        use RequiredAction::*;
        let mut flow = Flow {
            user_id: Some("u".into()),
            amr: vec!["pwd".into()],
            requested_action: Some(ConfigureTotp),
            ..Flow::default()
        };
        check(&flow, false, &[], true, Step::Otp);
        flow.amr.push("otp".into());
        check(&flow, false, &[], true, Step::Action(ConfigureTotp));
        check(
            &flow,
            false,
            &[UpdatePassword],
            true,
            Step::Action(ConfigureTotp),
        );
        flow.action_done(UpdatePassword);
        check(&flow, false, &[], true, Step::Action(ConfigureTotp));
        flow.action_done(ConfigureTotp);
        assert!(flow.requested_action_done);
        check(&flow, false, &[], true, Step::Finished);
    }

    #[test]
    fn journey_runs_the_link_actions_without_asking_a_code() {
        use RequiredAction::*;
        let journey = Flow {
            user_id: Some("u".into()),
            action_token: Some("digest".into()),
            link_actions: vec![ConfigureTotp, UpdatePassword, UpdateProfile],
            ..Flow::default()
        };
        check(
            &journey,
            true,
            &[ConfigureTotp, UpdatePassword, UpdateProfile],
            false,
            Step::Action(ConfigureTotp),
        );
        // Resuming after a timeout: the device is enrolled, the password is next.
        check(
            &journey,
            true,
            &[UpdatePassword, UpdateProfile],
            true,
            Step::Action(UpdatePassword),
        );
        check(&journey, true, &[], true, Step::Finished);

        let password_only = Flow {
            link_actions: vec![UpdatePassword],
            ..journey
        };
        check(
            &password_only,
            false,
            &[UpdatePassword, UpdateProfile],
            false,
            Step::Action(UpdatePassword),
        );
    }
}
