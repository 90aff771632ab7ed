//! Reading and submitting the HTML pages of the login flow the way a browser would: follow our
//! own redirects, fill a form from its hidden fields, and read texts without markup.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::collections::BTreeMap;

/// A page as a browser ends up showing it.
pub(crate) struct Page {
    /// Where it was loaded from.
    pub(crate) url: String,
    /// Its status.
    pub(crate) status: u16,
    /// Its markup.
    pub(crate) html: String,
}

const MAX_REDIRECTS: usize = 10;

impl Page {
    /// Loads `url`, following redirects to our own server.
    pub(crate) async fn follow(browser: &reqwest::Client, url: &str) -> Page {
        let mut url = url.to_owned();
        for _ in 0..MAX_REDIRECTS {
            let response = browser.get(&url).send().await.unwrap();
            match location(&response) {
                Some(next) if is_ours(&next) => url = next,
                Some(next) => panic!("unexpected redirect out of Sésame to {next}"),
                None => return Page::read(url, response).await,
            }
        }
        panic!("too many redirects from {url}");
    }

    async fn read(url: String, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        Page {
            url,
            status,
            html: response.text().await.unwrap(),
        }
    }

    /// The visible text, markup removed, entities decoded, whitespace collapsed.
    pub(crate) fn text(&self) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for character in self.html.chars() {
            match character {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                other if !in_tag => text.push(other),
                _ => {}
            }
        }
        unescape(&text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Checks that the visible text holds `expected`, showing the text when it does not.
    #[track_caller]
    pub(crate) fn assert_shows(&self, expected: &str) {
        let text = self.text();
        assert!(
            text.contains(expected),
            "{} does not show {expected:?}: {text}",
            self.url
        );
    }

    /// The markup between the first `start` and the next `end`.
    pub(crate) fn between(&self, start: &str, end: &str) -> Option<String> {
        let from = self.html.find(start)? + start.len();
        let to = self.html[from..].find(end)? + from;
        Some(self.html[from..to].to_owned())
    }

    /// Submits the page's first POST form with its own fields overridden by `fields`, and
    /// follows our redirects to the next page.
    pub(crate) async fn submit(&self, browser: &reqwest::Client, fields: &[(&str, &str)]) -> Page {
        let (action, response) = self.post(browser, fields).await;
        match location(&response) {
            Some(next) if is_ours(&next) => Page::follow(browser, &next).await,
            Some(next) => panic!("unexpected redirect out of Sésame to {next}"),
            None => Page::read(action, response).await,
        }
    }

    /// Submits the form and returns where Sésame finally sends the browser outside itself.
    pub(crate) async fn submit_expecting_redirect(
        &self,
        browser: &reqwest::Client,
        fields: &[(&str, &str)],
    ) -> String {
        let (_, response) = self.post(browser, fields).await;
        let mut next = location(&response)
            .unwrap_or_else(|| panic!("no redirect after the form of {}", self.url));
        for _ in 0..MAX_REDIRECTS {
            if !is_ours(&next) {
                return next;
            }
            let response = browser.get(&next).send().await.unwrap();
            match location(&response) {
                Some(location) => next = location,
                None => panic!("stopped at {next}: {}", response.text().await.unwrap()),
            }
        }
        panic!("too many redirects");
    }

    /// Posts the page's first form with `fields` as [`Page::submit`] does, and returns the
    /// form's action and the response as it came, redirects not followed.
    pub(crate) async fn post(
        &self,
        browser: &reqwest::Client,
        fields: &[(&str, &str)],
    ) -> (String, reqwest::Response) {
        let form = self
            .between("<form", "</form>")
            .unwrap_or_else(|| panic!("no form on {}: {}", self.url, self.text()));
        let action = attribute(&form[..form.find('>').unwrap_or(form.len())], "action")
            .expect("the form has an action");
        let mut values = form_fields(&form);
        for (name, value) in fields {
            values.insert((*name).to_owned(), (*value).to_owned());
        }
        let response = browser.post(&action).form(&values).send().await.unwrap();
        (action, response)
    }

    /// The value of the radio button whose label reads `label`.
    pub(crate) fn radio_value_for_label(&self, label: &str) -> Option<String> {
        for tag in tags(&self.html, "input") {
            if attribute(&tag, "type").as_deref() != Some("radio") {
                continue;
            }
            let id = attribute(&tag, "id")?;
            let label_start = self.html.find(&format!("for=\"{id}\""))?;
            let text_start = self.html[label_start..].find('>')? + label_start + 1;
            let text_end = self.html[text_start..].find("</label>")? + text_start;
            if unescape(&self.html[text_start..text_end]).trim() == label {
                return attribute(&tag, "value");
            }
        }
        None
    }
}

/// The named inputs of some markup with their values (checkboxes only when checked, radio
/// buttons only the checked one).
pub(crate) fn form_fields(html: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for tag in tags(html, "input") {
        let Some(name) = attribute(&tag, "name") else {
            continue;
        };
        let kind = attribute(&tag, "type").unwrap_or_default();
        let checked = tag.contains(" checked");
        if matches!(kind.as_str(), "checkbox" | "radio") && !checked {
            continue;
        }
        if matches!(kind.as_str(), "submit") {
            continue;
        }
        fields.insert(name, attribute(&tag, "value").unwrap_or_default());
    }
    fields
}

fn tags(html: &str, name: &str) -> Vec<String> {
    let opening = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&opening) {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        found.push(rest[start..start + end].to_owned());
        rest = &rest[start + end..];
    }
    found
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Decodes the entities Tera's escaping produces.
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where a redirect sends the browser, resolved against the URL it came from (the portal
/// redirects with relative paths).
fn location(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let target = response.headers().get("location")?.to_str().ok()?;
    Some(response.url().join(target).ok()?.to_string())
}

fn is_ours(url: &str) -> bool {
    url.starts_with("https://127.0.0.1:") || url.starts_with("http://127.0.0.1:")
}
