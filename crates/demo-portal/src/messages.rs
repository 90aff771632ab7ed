//! The portal's French message bundle: the short texts the code chooses between (page titles,
//! error messages, labels). Page prose lives in the templates.

use crate::orders::OrderKind;
use crate::web::Page;

/// An error page's message, chosen by what went wrong from the user's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message {
    /// The user cancelled at Sésame (`access_denied`).
    LoginCancelled,
    /// The login is unknown, expired, or its `state` does not match.
    LoginExpired,
    /// Sésame refused the login, or its answer did not verify.
    LoginFailed,
    /// Too many logins in progress to start another.
    TooManyLogins,
    /// The API could not be reached or answered an error.
    OrdersUnavailable,
    /// The API refused the session's access token.
    OrdersRefused,
    /// No page at this address.
    NotFound,
    /// A bug of the portal.
    Internal,
}

/// What the error page offers to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextStep {
    /// Sign in again.
    SignIn,
    /// Go back to the home page.
    Home,
}

impl Message {
    /// The page's heading.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Message::LoginCancelled => "Connexion annulée",
            Message::LoginExpired => "Connexion expirée",
            Message::LoginFailed => "Connexion impossible",
            Message::TooManyLogins => "Service momentanément indisponible",
            Message::OrdersUnavailable | Message::OrdersRefused => {
                "Ordres d'effacement indisponibles"
            }
            Message::NotFound => "Page introuvable",
            Message::Internal => "Erreur du portail",
        }
    }

    /// The explanation, which never says more than the user needs.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Message::LoginCancelled => {
                "Vous avez annulé la connexion. Vous pouvez vous \
                connecter à nouveau quand vous le souhaitez."
            }
            Message::LoginExpired => {
                "Votre demande de connexion a expiré ou n'a pas été \
                reconnue. Veuillez vous connecter à nouveau."
            }
            Message::LoginFailed => {
                "La connexion n'a pas pu aboutir. Veuillez réessayer dans \
                quelques instants."
            }
            Message::TooManyLogins => {
                "Trop de connexions sont en cours. Veuillez réessayer \
                dans quelques minutes."
            }
            Message::OrdersUnavailable => {
                "Le service API ne répond pas pour le moment. \
                Veuillez réessayer dans quelques instants."
            }
            Message::OrdersRefused => {
                "Le service API n'a pas accepté votre connexion. \
                Veuillez vous déconnecter puis vous connecter à nouveau."
            }
            Message::NotFound => "Cette page n'existe pas.",
            Message::Internal => {
                "Une erreur est survenue. Veuillez réessayer dans quelques \
                instants."
            }
        }
    }

    /// What the page offers next.
    pub(crate) fn next_step(self) -> NextStep {
        match self {
            Message::LoginCancelled | Message::LoginExpired | Message::LoginFailed => {
                NextStep::SignIn
            }
            Message::TooManyLogins
            | Message::OrdersUnavailable
            | Message::OrdersRefused
            | Message::NotFound
            | Message::Internal => NextStep::Home,
        }
    }
}

impl NextStep {
    /// The link's label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            NextStep::SignIn => "Se connecter",
            NextStep::Home => "Retour à l'accueil",
        }
    }

    /// The link's target.
    pub(crate) fn href(self) -> &'static str {
        match self {
            NextStep::SignIn => "/login",
            NextStep::Home => "/",
        }
    }
}

/// A page's title, in the browser's tab.
pub(crate) fn page_title(page: Page) -> &'static str {
    match page {
        Page::Home => "Accueil",
        Page::Contracts => "Contrats",
        Page::ApiAccess => "Gestion Accès API",
        Page::Orders => "Ordres d'effacement",
        Page::Tutorial => "Tuto Initialisation",
    }
}

/// An order kind, as the orders table shows it.
pub(crate) fn order_kind_label(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Stop => "Arrêt",
        OrderKind::Limitation => "Limitation",
    }
}

/// What the header shows for a signed-in user whose token has no name.
pub(crate) const UNNAMED_ACCOUNT: &str = "Mon compte";
