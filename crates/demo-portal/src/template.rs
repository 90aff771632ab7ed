//! A tiny template engine: `{{name}}` placeholders in HTML files filled with escaped text or
//! with markup this crate rendered itself.
//!
//! Whether a value is escaped is decided by its type, not by the template: [`Value::Text`] is
//! always escaped, and [`Html`] can only come from a template, a literal, or escaped text, so
//! no dynamic value can reach a page unescaped.

/// Markup that is safe to insert into a page as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Html(String);

/// A value for one placeholder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// Text, escaped when inserted.
    Text(&'a str),
    /// Markup rendered by this crate, inserted as it is.
    Html(&'a Html),
}

/// A template that names a placeholder it was given no value for, or is not well formed.
///
/// Templates are compiled in, so this is a bug of the crate; the tests render every page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RenderError {
    /// A `{{name}}` without a value.
    #[error("template {template}: no value for placeholder `{name}`")]
    MissingValue {
        template: &'static str,
        name: String,
    },
    /// A `{{` without its `}}`.
    #[error("template {template}: unclosed placeholder")]
    UnclosedPlaceholder { template: &'static str },
}

/// A template: its name (for errors) and its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Template {
    name: &'static str,
    text: &'static str,
}

impl Html {
    /// Markup written in the code, such as an attribute switched on or off.
    pub(crate) fn from_static(markup: &'static str) -> Html {
        Html(markup.to_owned())
    }

    /// Appends another fragment.
    pub(crate) fn push(&mut self, other: &Html) {
        self.0.push_str(&other.0);
    }

    /// The markup, to send.
    pub(crate) fn into_string(self) -> String {
        self.0
    }

    /// The markup, to inspect.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Template {
    /// A template compiled into the binary.
    pub(crate) const fn new(name: &'static str, text: &'static str) -> Template {
        Template { name, text }
    }

    /// Fills every placeholder; a placeholder without a value is an error.
    pub(crate) fn render(&self, values: &[(&str, Value<'_>)]) -> Result<Html, RenderError> {
        let mut output = String::with_capacity(self.text.len() + 256);
        let mut rest = self.text;
        while let Some(start) = rest.find("{{") {
            output.push_str(&rest[..start]);
            let after_open = &rest[start + 2..];
            let Some(end) = after_open.find("}}") else {
                return Err(RenderError::UnclosedPlaceholder {
                    template: self.name,
                });
            };
            let name = after_open[..end].trim();
            let value = values
                .iter()
                .find(|(candidate, _)| *candidate == name)
                .map(|(_, value)| *value)
                .ok_or_else(|| RenderError::MissingValue {
                    template: self.name,
                    name: name.to_owned(),
                })?;
            match value {
                Value::Text(text) => output.push_str(&escape(text)),
                Value::Html(html) => output.push_str(html.as_str()),
            }
            rest = &after_open[end + 2..];
        }
        output.push_str(rest);
        Ok(Html(output))
    }
}

/// Escapes text for HTML content and for quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests;
