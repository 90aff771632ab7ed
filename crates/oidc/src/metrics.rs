//! What `/metrics` reports, in Prometheus' text exposition format: requests by route and
//! status with their latency, tokens issued by grant, and login outcomes.
//!
//! Labels take only bounded values: route templates (never raw paths), methods, statuses,
//! grant types, outcomes, and names of realms that exist. Nothing here names a user.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds, in seconds, of the latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How a login attempt ended, for `sesame_logins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LoginOutcome {
    /// Every step done: a browser session was opened.
    Success,
    /// Unknown user, wrong password or disabled account.
    BadPassword,
    /// A one-time code refused.
    BadCode,
    /// Refused without checking because of too many recent failures.
    Locked,
}

impl LoginOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::BadPassword => "bad_password",
            Self::BadCode => "bad_code",
            Self::Locked => "locked",
        }
    }
}

/// The counters of one running Sésame.
#[derive(Debug, Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    /// By method, route template and status.
    requests: BTreeMap<(String, String, u16), u64>,
    /// By method and route template.
    latency: BTreeMap<(String, String), Histogram>,
    /// By realm and grant type.
    tokens: BTreeMap<(String, String), u64>,
    /// By realm and outcome.
    logins: BTreeMap<(String, LoginOutcome), u64>,
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or under each bound of [`LATENCY_BUCKETS`], not cumulated.
    buckets: [u64; LATENCY_BUCKETS.len()],
    sum_seconds: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(index) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index] += 1;
        }
        self.sum_seconds += seconds;
        self.count += 1;
    }
}

impl Metrics {
    /// Counts an answered request and its latency. `route` is the matched route template.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut registry = self.lock();
        *registry
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        registry
            .latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a token response of the token endpoint.
    pub fn token_issued(&self, realm: &str, grant_type: &str) {
        *self
            .lock()
            .tokens
            .entry((realm.to_owned(), grant_type.to_owned()))
            .or_default() += 1;
    }

    /// Counts the end of a login attempt.
    pub fn login(&self, realm: &str, outcome: LoginOutcome) {
        *self
            .lock()
            .logins
            .entry((realm.to_owned(), outcome))
            .or_default() += 1;
    }

    /// Everything counted so far, in the text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let registry = self.lock();
        let mut out = String::new();

        family(
            &mut out,
            "sesame_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        for ((method, route, status), count) in &registry.requests {
            let labels = [
                ("method", method.as_str()),
                ("route", route.as_str()),
                ("status", &status.to_string()),
            ];
            sample(&mut out, "sesame_http_requests_total", &labels, *count);
        }

        family(
            &mut out,
            "sesame_http_request_duration_seconds",
            "histogram",
            "Time to answer HTTP requests, by method and route template.",
        );
        for ((method, route), histogram) in &registry.latency {
            let mut cumulated = 0;
            for (bound, count) in LATENCY_BUCKETS.iter().zip(histogram.buckets) {
                cumulated += count;
                let labels = [
                    ("method", method.as_str()),
                    ("route", route.as_str()),
                    ("le", &bound.to_string()),
                ];
                sample(
                    &mut out,
                    "sesame_http_request_duration_seconds_bucket",
                    &labels,
                    cumulated,
                );
            }
            let labels = [
                ("method", method.as_str()),
                ("route", route.as_str()),
                ("le", "+Inf"),
            ];
            sample(
                &mut out,
                "sesame_http_request_duration_seconds_bucket",
                &labels,
                histogram.count,
            );
            let labels = [("method", method.as_str()), ("route", route.as_str())];
            sample(
                &mut out,
                "sesame_http_request_duration_seconds_sum",
                &labels,
                histogram.sum_seconds,
            );
            sample(
                &mut out,
                "sesame_http_request_duration_seconds_count",
                &labels,
                histogram.count,
            );
        }

        family(
            &mut out,
            "sesame_tokens_issued_total",
            "counter",
            "Token responses of the token endpoint, by realm and grant type.",
        );
        for ((realm, grant_type), count) in &registry.tokens {
            let labels = [
                ("realm", realm.as_str()),
                ("grant_type", grant_type.as_str()),
            ];
            sample(&mut out, "sesame_tokens_issued_total", &labels, *count);
        }

        family(
            &mut out,
            "sesame_logins_total",
            "counter",
            "Ends of login attempts, by realm and outcome.",
        );
        for ((realm, outcome), count) in &registry.logins {
            let labels = [("realm", realm.as_str()), ("outcome", outcome.label())];
            sample(&mut out, "sesame_logins_total", &labels, *count);
        }
        out
    }

    /// The registry; a panic elsewhere while holding it leaves counts that are still valid.
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    let _ = write!(out, "{name}{{");
    for (index, (label, text)) in labels.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "{label}=\"{}\"", escape_label(text));
    }
    let _ = writeln!(out, "}} {value}");
}

/// A label value as the format wants it: backslash, double quote and line feed escaped.
fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_with_a_cumulative_histogram() {
        let metrics = Metrics::default();
        let route = "/realms/{realm}/protocol/openid-connect/token";
        metrics.observe_request("POST", route, 200, Duration::from_millis(3));
        metrics.observe_request("POST", route, 200, Duration::from_millis(300));
        metrics.observe_request("POST", route, 401, Duration::from_secs(60));
        let text = metrics.render();

        assert!(text.contains(&format!(
            "sesame_http_requests_total{{method=\"POST\",route=\"{route}\",status=\"200\"}} 2\n"
        )));
        let bucket = |le: &str| {
            format!(
                "sesame_http_request_duration_seconds_bucket{{method=\"POST\",route=\"{route}\",le=\"{le}\"}} "
            )
        };
        assert!(text.contains(&format!("{}1\n", bucket("0.005"))), "{text}");
        assert!(text.contains(&format!("{}1\n", bucket("0.25"))), "{text}");
        assert!(text.contains(&format!("{}2\n", bucket("0.5"))), "{text}");
        assert!(text.contains(&format!("{}2\n", bucket("30"))), "{text}");
        assert!(text.contains(&format!("{}3\n", bucket("+Inf"))), "{text}");
        assert!(text.contains(&format!(
            "sesame_http_request_duration_seconds_count{{method=\"POST\",route=\"{route}\"}} 3\n"
        )));
    }

    #[test]
    fn tokens_and_logins_are_counted_by_their_labels() {
        let metrics = Metrics::default();
        metrics.token_issued("smart-oa", "client_credentials");
        metrics.token_issued("smart-oa", "client_credentials");
        metrics.login("smart-oa", LoginOutcome::BadCode);
        let text = metrics.render();
        assert!(text.contains(
            "sesame_tokens_issued_total{realm=\"smart-oa\",grant_type=\"client_credentials\"} 2\n"
        ));
        assert!(text.contains("sesame_logins_total{realm=\"smart-oa\",outcome=\"bad_code\"} 1\n"));
        assert!(text.contains("# TYPE sesame_logins_total counter\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics.observe_request("GET", "a\"b\\c\nd", 404, Duration::ZERO);
        assert!(metrics.render().contains("route=\"a\\\"b\\\\c\\nd\""));
    }
}
