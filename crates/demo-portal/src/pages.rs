//! Renders the portal's pages from the templates: the shared header with the menu and the
//! account area, then each page's content. Renders only; the handlers in `web` decide which
//! page to show and to whom.

use crate::messages::{self, Message};
use crate::orders::CurtailmentOrder;
use crate::template::{Html, RenderError, Template, Value};
use crate::web::Page;

const LAYOUT: Template = Template::new("layout", include_str!("../templates/layout.html"));
const ACCOUNT_SIGNED_IN: Template = Template::new(
    "account_signed_in",
    include_str!("../templates/account_signed_in.html"),
);
const ACCOUNT_SIGNED_OUT: Template = Template::new(
    "account_signed_out",
    include_str!("../templates/account_signed_out.html"),
);
const HOME: Template = Template::new("home", include_str!("../templates/home.html"));
const GREETING_SIGNED_IN: Template = Template::new(
    "greeting_signed_in",
    include_str!("../templates/greeting_signed_in.html"),
);
const GREETING_SIGNED_OUT: Template = Template::new(
    "greeting_signed_out",
    include_str!("../templates/greeting_signed_out.html"),
);
const CONTRACTS: Template = Template::new("contracts", include_str!("../templates/contracts.html"));
const TUTORIAL: Template = Template::new("tutorial", include_str!("../templates/tutorial.html"));
const API_ACCESS: Template =
    Template::new("api_access", include_str!("../templates/api_access.html"));
const ORDERS: Template = Template::new("orders", include_str!("../templates/orders.html"));
const ORDER_ROW: Template = Template::new("order_row", include_str!("../templates/order_row.html"));
const ORDERS_NONE: Template =
    Template::new("orders_none", include_str!("../templates/orders_none.html"));
const ERROR: Template = Template::new("error", include_str!("../templates/error.html"));

/// The portal's stylesheet, served at `/static/portail.css`.
pub(crate) const STYLESHEET: &str = include_str!("../static/portail.css");

/// Who is looking at the page, for the header's account area.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Viewer<'a> {
    /// Not signed in: the "Se connecter" button.
    SignedOut,
    /// Signed in: the name, "Mon Profil" and "Se déconnecter".
    SignedIn {
        /// The user's first and last name, or what stands for them.
        display_name: &'a str,
        /// The account console at Sésame.
        profile_url: &'a str,
    },
    /// Unknown (an error page): the area stays empty.
    Unknown,
}

/// What the "Gestion Accès API" page needs to show working commands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiExample<'a> {
    /// The example consumer's client id.
    pub(crate) client_id: &'a str,
    /// Sésame's token endpoint, as discovered.
    pub(crate) token_endpoint: &'a str,
    /// The API's URL on this portal.
    pub(crate) api_url: &'a str,
}

/// The home page, with the guide's welcome text.
pub(crate) fn home(viewer: Viewer<'_>) -> Result<Html, RenderError> {
    let greeting = match viewer {
        Viewer::SignedIn { .. } => GREETING_SIGNED_IN.render(&[])?,
        Viewer::SignedOut | Viewer::Unknown => GREETING_SIGNED_OUT.render(&[])?,
    };
    let content = HOME.render(&[("greeting", Value::Html(&greeting))])?;
    layout(
        Some(Page::Home),
        messages::page_title(Page::Home),
        viewer,
        &content,
    )
}

/// The "Contrats" page.
pub(crate) fn contracts(viewer: Viewer<'_>) -> Result<Html, RenderError> {
    let content = CONTRACTS.render(&[])?;
    let page = Page::Contracts;
    layout(Some(page), messages::page_title(page), viewer, &content)
}

/// The "Tuto Initialisation" page: the guide's seven steps.
pub(crate) fn tutorial(viewer: Viewer<'_>) -> Result<Html, RenderError> {
    let content = TUTORIAL.render(&[])?;
    let page = Page::Tutorial;
    layout(Some(page), messages::page_title(page), viewer, &content)
}

/// The "Gestion Accès API" page, with `curl` commands for this deployment.
pub(crate) fn api_access(viewer: Viewer<'_>, example: ApiExample<'_>) -> Result<Html, RenderError> {
    let content = API_ACCESS.render(&[
        ("client_id", Value::Text(example.client_id)),
        ("token_endpoint", Value::Text(example.token_endpoint)),
        ("api_url", Value::Text(example.api_url)),
    ])?;
    let page = Page::ApiAccess;
    layout(Some(page), messages::page_title(page), viewer, &content)
}

/// The "Ordres d'effacement" page: a table of orders.
pub(crate) fn orders(viewer: Viewer<'_>, orders: &[CurtailmentOrder]) -> Result<Html, RenderError> {
    let mut rows = Html::default();
    for order in orders {
        let max_power = format!("{} kW", order.max_power_kw);
        rows.push(&ORDER_ROW.render(&[
            ("id", Value::Text(&order.id)),
            ("installation", Value::Text(&order.installation)),
            ("kind", Value::Text(messages::order_kind_label(order.kind))),
            ("start", Value::Text(&display_time(&order.start))),
            ("end", Value::Text(&display_time(&order.end))),
            ("max_power", Value::Text(&max_power)),
        ])?);
    }
    if orders.is_empty() {
        rows = ORDERS_NONE.render(&[])?;
    }
    let content = ORDERS.render(&[("rows", Value::Html(&rows))])?;
    let page = Page::Orders;
    layout(Some(page), messages::page_title(page), viewer, &content)
}

/// An error page.
pub(crate) fn error(message: Message) -> Result<Html, RenderError> {
    let next_step = message.next_step();
    let content = ERROR.render(&[
        ("title", Value::Text(message.title())),
        ("message", Value::Text(message.text())),
        ("action_href", Value::Text(next_step.href())),
        ("action_label", Value::Text(next_step.label())),
    ])?;
    layout(None, message.title(), Viewer::Unknown, &content)
}

/// The page around `content`: header, menu (with the current page marked), account area.
fn layout(
    current: Option<Page>,
    title: &str,
    viewer: Viewer<'_>,
    content: &Html,
) -> Result<Html, RenderError> {
    let account = match viewer {
        Viewer::SignedOut => ACCOUNT_SIGNED_OUT.render(&[])?,
        Viewer::SignedIn {
            display_name,
            profile_url,
        } => ACCOUNT_SIGNED_IN.render(&[
            ("name", Value::Text(display_name)),
            ("profile_url", Value::Text(profile_url)),
        ])?,
        Viewer::Unknown => Html::default(),
    };
    let marker = |page: Page| {
        if current == Some(page) {
            Html::from_static(" aria-current=\"page\"")
        } else {
            Html::default()
        }
    };
    LAYOUT.render(&[
        ("title", Value::Text(title)),
        ("current_contracts", Value::Html(&marker(Page::Contracts))),
        ("current_api_access", Value::Html(&marker(Page::ApiAccess))),
        ("current_orders", Value::Html(&marker(Page::Orders))),
        ("current_tutorial", Value::Html(&marker(Page::Tutorial))),
        ("account", Value::Html(&account)),
        ("content", Value::Html(content)),
    ])
}

/// `2026-06-12T10:00:00Z` as `12/06/2026 10:00`; anything else as it came.
fn display_time(rfc3339: &str) -> String {
    let part = |range: std::ops::Range<usize>| rfc3339.get(range);
    let separators_match = [(4, "-"), (7, "-"), (10, "T"), (13, ":")]
        .iter()
        .all(|(index, separator)| part(*index..*index + 1) == Some(*separator));
    match (part(0..4), part(5..7), part(8..10), part(11..16)) {
        (Some(year), Some(month), Some(day), Some(time)) if separators_match => {
            format!("{day}/{month}/{year} {time}")
        }
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests;
