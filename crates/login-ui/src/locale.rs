//! Choice of the locale a page is rendered in.
//!
//! The order follows what users of an identity provider expect: the client's `ui_locales`
//! request parameter ([OIDC Core §3.1.2.1]), then the locale the user picked earlier
//! (a cookie), then the browser's `Accept-Language` ([RFC 9110 §12.5.4]), then the realm's
//! default. Reading the cookie or the header is left to the HTTP layer.
//!
//! [OIDC Core §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
//! [RFC 9110 §12.5.4]: https://www.rfc-editor.org/rfc/rfc9110#section-12.5.4

/// Picks one of `candidates` (lower-case locale tags with a bundle and allowed by the realm).
///
/// `candidates` must not be empty; `fallback` is returned when nothing else matches.
pub(crate) fn negotiate(
    ui_locales: Option<&str>,
    cookie: Option<&str>,
    accept_language: Option<&str>,
    candidates: &[String],
    fallback: &str,
) -> String {
    let from_ui_locales = ui_locales
        .into_iter()
        .flat_map(str::split_ascii_whitespace)
        .find_map(|tag| match_tag(tag, candidates));
    if let Some(locale) = from_ui_locales {
        return locale;
    }

    if let Some(locale) = cookie.and_then(|tag| match_tag(tag.trim(), candidates)) {
        return locale;
    }

    let from_accept_language = accept_language
        .map(preferred_tags)
        .unwrap_or_default()
        .into_iter()
        .find_map(|tag| match_tag(tag, candidates));
    if let Some(locale) = from_accept_language {
        return locale;
    }

    fallback.to_owned()
}

/// Matches a language tag against the candidates: exactly first, then by its primary language
/// ("fr-CA" and "fr_FR" give "fr"), ignoring case.
pub(crate) fn match_tag(tag: &str, candidates: &[String]) -> Option<String> {
    if tag.is_empty() || tag == "*" {
        return None;
    }

    let exact = candidates
        .iter()
        .find(|candidate| candidate.eq_ignore_ascii_case(tag));
    let primary = tag.split(['-', '_']).next().unwrap_or(tag);
    let by_primary = || {
        candidates
            .iter()
            .find(|candidate| candidate.eq_ignore_ascii_case(primary))
    };

    exact.or_else(by_primary).cloned()
}

/// The tags of an `Accept-Language` value, most preferred first, without those refused (`q=0`)
/// or malformed.
fn preferred_tags(header: &str) -> Vec<&str> {
    let mut weighted: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let mut weight = 1.0_f32;
            for parameter in parts {
                let (name, value) = parameter.split_once('=')?;
                if name.trim().eq_ignore_ascii_case("q") {
                    weight = value.trim().parse::<f32>().ok()?;
                }
            }
            // NaN fails both comparisons, so "q=NaN" is dropped too.
            let usable = !tag.is_empty() && weight > 0.0 && weight <= 1.0;
            usable.then_some((weight, tag))
        })
        .collect();

    // A stable sort keeps the header's order between tags of equal weight.
    weighted.sort_by(|left, right| right.0.total_cmp(&left.0));
    weighted.into_iter().map(|(_, tag)| tag).collect()
}
