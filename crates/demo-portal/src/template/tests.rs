use super::*;

const GREETING: Template =
    Template::new("greeting", "<p title=\"{{name}}\">{{ name }}, {{body}}</p>");

fn check(values: &[(&str, Value<'_>)], expected: &str) {
    let html = GREETING.render(values).expect("the greeting renders");
    assert_eq!(html.as_str(), expected);
}

#[test]
fn text_is_escaped_everywhere_and_markup_is_kept() {
    let body = Html::from_static("<b>bienvenue</b>");
    check(
        &[("name", Value::Text("Zoé")), ("body", Value::Html(&body))],
        "<p title=\"Zoé\">Zoé, <b>bienvenue</b></p>",
    );
    let hostile = "<script>alert('x')</script> & \"quotes\"";
    let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;";
    check(
        &[
            ("name", Value::Text(hostile)),
            ("body", Value::Text(hostile)),
        ],
        &format!("<p title=\"{escaped}\">{escaped}, {escaped}</p>"),
    );
}

#[test]
fn fragments_join_as_they_are() {
    let mut html = Html::from_static("<i>");
    html.push(
        &GREETING
            .render(&[("name", Value::Text("&")), ("body", Value::Text(""))])
            .expect("renders"),
    );
    assert_eq!(html.into_string(), "<i><p title=\"&amp;\">&amp;, </p>");
}

#[test]
fn a_missing_value_is_an_error() {
    let err = GREETING
        .render(&[("name", Value::Text("x"))])
        .expect_err("body has no value");
    assert!(
        matches!(&err, RenderError::MissingValue { template: "greeting", name } if name == "body"),
        "{err:?}"
    );
}

#[test]
fn an_unclosed_placeholder_is_an_error() {
    let broken = Template::new("broken", "<p>{{name</p>");
    let err = broken
        .render(&[("name", Value::Text("x"))])
        .expect_err("unclosed");
    assert!(matches!(
        err,
        RenderError::UnclosedPlaceholder { template: "broken" }
    ));
}
