use super::*;
use crate::orders::{OrderKind, orders_for_producer};

const HOSTILE: &str = "<script>alert(\"x\")</script> & 'co'";
const HOSTILE_ESCAPED: &str =
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;";

fn signed_in<'a>(name: &'a str, profile_url: &'a str) -> Viewer<'a> {
    Viewer::SignedIn {
        display_name: name,
        profile_url,
    }
}

#[test]
fn home_shows_the_guides_welcome_and_the_menu() {
    let html = home(Viewer::SignedOut).expect("home renders").into_string();
    for expected in [
        "<a class=\"marque\" href=\"/\">Smart OA</a>",
        "<a href=\"/contrats\">Contrats</a>",
        "<a href=\"/gestion-acces-api\">Gestion Accès API</a>",
        "<a href=\"/ordres-effacement\">Ordres d'effacement</a>",
        "<a href=\"/tuto-initialisation\">Tuto Initialisation</a>",
        "Bienvenue sur le portail Smart OA. Ce portail concerne les installations sous OA",
        "paragraphe II de l'article 175 de la loi de finances pour 2025",
        "<li>Ce portail web avec connexion à un espace privé",
        "<li>Un service API (Application Programming Interface",
        "<div class=\"compte\"><a class=\"bouton\" href=\"/login\">Se connecter</a>\n</div>",
    ] {
        assert!(
            html.contains(expected),
            "{expected:?} missing from:\n{html}"
        );
    }
    assert!(!html.contains("Se déconnecter"), "{html}");
    assert!(!html.contains("{{"), "{html}");
}

#[test]
fn signed_in_header_shows_the_name_profile_and_logout() {
    let viewer = signed_in("Zoé Martin", "https://sso.test/realms/smart-oa/account");
    let html = home(viewer).expect("home renders").into_string();
    let expected = "<div class=\"compte\"><span class=\"utilisateur\">Zoé Martin</span>\n\
        <a href=\"https://sso.test/realms/smart-oa/account\">Mon Profil</a>\n\
        <a class=\"bouton\" href=\"/logout\">Se déconnecter</a>\n</div>";
    assert!(html.contains(expected), "{html}");
    assert!(!html.contains(">Se connecter<"), "{html}");
}

#[test]
fn every_dynamic_value_is_escaped() {
    let viewer = signed_in(HOSTILE, HOSTILE);
    let mut order = orders_for_producer("x").remove(0);
    order.id = HOSTILE.to_owned();
    order.installation = HOSTILE.to_owned();
    order.start = HOSTILE.to_owned();
    order.end = HOSTILE.to_owned();
    let example = ApiExample {
        client_id: HOSTILE,
        token_endpoint: HOSTILE,
        api_url: HOSTILE,
    };
    let pages = [
        home(viewer),
        contracts(viewer),
        tutorial(viewer),
        api_access(viewer, example),
        orders(viewer, &[order]),
    ];
    for page in pages {
        let html = page.expect("page renders").into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains(HOSTILE_ESCAPED), "{html}");
    }
}

#[test]
fn the_current_page_is_marked_in_the_menu() {
    let html = contracts(Viewer::SignedOut).expect("renders").into_string();
    assert!(
        html.contains("<a href=\"/contrats\" aria-current=\"page\">Contrats</a>"),
        "{html}"
    );
    assert_eq!(html.matches("aria-current").count(), 1, "{html}");
}

#[test]
fn orders_show_as_a_table_in_french() {
    let order = CurtailmentOrder {
        id: "OE-2026-00000001".to_owned(),
        producer: "p".to_owned(),
        installation: "PV-00042".to_owned(),
        kind: OrderKind::Limitation,
        start: "2026-06-12T10:00:00Z".to_owned(),
        end: "2026-06-12T12:00:00Z".to_owned(),
        max_power_kw: 250,
    };
    let html = orders(Viewer::SignedOut, &[order])
        .expect("renders")
        .into_string();
    let row = "<tr><td>OE-2026-00000001</td><td>PV-00042</td><td>Limitation</td>\
        <td>12/06/2026 10:00</td><td>12/06/2026 12:00</td><td>250 kW</td></tr>";
    assert!(html.contains(row), "{html}");

    let empty = orders(Viewer::SignedOut, &[])
        .expect("renders")
        .into_string();
    assert!(
        empty.contains("Aucun ordre d'effacement en cours."),
        "{empty}"
    );
}

#[test]
fn the_api_page_shows_working_commands() {
    let example = ApiExample {
        client_id: "smart-oa-api-consumer-example",
        token_endpoint: "http://127.0.0.1:8080/realms/smart-oa/protocol/openid-connect/token",
        api_url: "http://127.0.0.1:8081/api/ordres-effacement",
    };
    let html = api_access(Viewer::SignedOut, example)
        .expect("renders")
        .into_string();
    assert!(
        html.contains(
            "<pre><code>curl -u smart-oa-api-consumer-example:SECRET -d \
             grant_type=client_credentials \
             http://127.0.0.1:8080/realms/smart-oa/protocol/openid-connect/token</code></pre>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<pre><code>curl -H \"Authorization: Bearer JETON\" \
             http://127.0.0.1:8081/api/ordres-effacement</code></pre>"
        ),
        "{html}"
    );
}

#[test]
fn the_tutorial_has_the_guides_seven_steps() {
    let html = tutorial(Viewer::SignedOut).expect("renders").into_string();
    let steps = html
        .split("<ol>")
        .nth(1)
        .and_then(|rest| rest.split("</ol>").next())
        .expect("an ordered list");
    assert_eq!(steps.matches("<li>").count(), 7, "{steps}");
}

#[test]
fn error_pages_offer_the_next_step() {
    for message in [
        Message::LoginCancelled,
        Message::LoginExpired,
        Message::LoginFailed,
        Message::TooManyLogins,
        Message::OrdersUnavailable,
        Message::OrdersRefused,
        Message::NotFound,
        Message::Internal,
    ] {
        let html = error(message).expect("renders").into_string();
        assert!(
            html.contains(&crate::template::escape(message.text())),
            "{html}"
        );
        let link = format!(
            "href=\"{}\">{}</a>",
            message.next_step().href(),
            crate::template::escape(message.next_step().label())
        );
        assert!(html.contains(&link), "{html}");
    }
}

#[test]
fn times_show_in_french_order() {
    assert_eq!(display_time("2026-06-01T08:00:00Z"), "01/06/2026 08:00");
    assert_eq!(display_time("bientôt"), "bientôt");
    assert_eq!(display_time("2026-06-01 08:00"), "2026-06-01 08:00");
}
