//! Dates and times in words, per language: "27 mars 2026 à 16:26", "27 March 2026 at 16:26".
//!
//! The words come from the message bundles, so that a translator sees them: `dateMonths` holds
//! the twelve month names separated by commas, `dateFirstDay` how the first day of a month is
//! written ("1er" in French), and `dateTimeFormat` the pattern, with `{0}` the day of the month, `{1}` the month's name, `{2}` the year, `{3}` the hours and `{4}` the
//! minutes (both on two digits). Templates use the `format_datetime` filter on a Unix time in
//! seconds: `{{ device.created_at | format_datetime(locale=locale) }}`.
//!
//! Times are shown in the `Europe/Paris` zone unless the filter gets `timezone="UTC"`: the
//! server does not know the browser's zone, and Sésame's users are in France. The zone's rule
//! (UTC+1, and UTC+2 from the last Sunday of March to the last Sunday of October, changing at
//! 01:00 UTC) is the European Union's since 1996 and is written out here rather than pulled in
//! with a time-zone database, for the two zones the filter offers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tera::Value;

use crate::DEFAULT_LOCALE;
use crate::bundle::{self, Messages};

/// Name under which the filter is registered.
pub(crate) const FORMAT_DATETIME: &str = "format_datetime";

/// Message key of the month names.
pub(crate) const MONTHS_KEY: &str = "dateMonths";

/// Message key of the first day of a month.
pub(crate) const FIRST_DAY_KEY: &str = "dateFirstDay";

/// Message key of the date-and-time pattern.
pub(crate) const FORMAT_KEY: &str = "dateTimeFormat";

/// The words of one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateWords {
    months: Vec<String>,
    first_day: String,
    pattern: String,
}

/// The words of every language, by locale.
pub(crate) type DateWordsByLocale = BTreeMap<String, DateWords>;

/// The time zone a date is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeZone {
    /// Coordinated Universal Time.
    Utc,
    /// France's legal time: CET, CEST in summer.
    EuropeParis,
}

impl TimeZone {
    fn parse(name: &str) -> Option<TimeZone> {
        match name {
            "UTC" => Some(TimeZone::Utc),
            "Europe/Paris" => Some(TimeZone::EuropeParis),
            _ => None,
        }
    }

    /// The offset from UTC, in seconds, at the instant `unix_seconds`.
    fn offset_at(self, unix_seconds: i64) -> i64 {
        match self {
            TimeZone::Utc => 0,
            TimeZone::EuropeParis => {
                let (year, _, _) = civil_from_days(unix_seconds.div_euclid(86_400));
                let summer_starts = last_sunday(year, 3) * 86_400 + 3_600;
                let summer_ends = last_sunday(year, 10) * 86_400 + 3_600;
                if (summer_starts..summer_ends).contains(&unix_seconds) {
                    7_200
                } else {
                    3_600
                }
            }
        }
    }
}

/// Reads the date words of a bundle.
pub(crate) fn date_words(messages: &Messages) -> Result<DateWords, String> {
    let months_text = messages
        .get(MONTHS_KEY)
        .ok_or_else(|| format!("the key {MONTHS_KEY} is missing"))?;
    let first_day = messages
        .get(FIRST_DAY_KEY)
        .ok_or_else(|| format!("the key {FIRST_DAY_KEY} is missing"))?;
    let pattern = messages
        .get(FORMAT_KEY)
        .ok_or_else(|| format!("the key {FORMAT_KEY} is missing"))?;

    let months: Vec<String> = months_text
        .split(',')
        .map(|month| month.trim().to_owned())
        .collect();
    if months.len() != 12 || months.iter().any(String::is_empty) {
        return Err(format!(
            "{MONTHS_KEY} must hold twelve month names separated by commas"
        ));
    }
    Ok(DateWords {
        months,
        first_day: first_day.clone(),
        pattern: pattern.clone(),
    })
}

/// A Unix time in words, in the language of `words` and the zone `zone`.
pub(crate) fn format_datetime(words: &DateWords, zone: TimeZone, unix_seconds: i64) -> String {
    let local = unix_seconds.saturating_add(zone.offset_at(unix_seconds));
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let seconds_of_day = local.rem_euclid(86_400);
    let hours = format!("{:02}", seconds_of_day / 3_600);
    let minutes = format!("{:02}", seconds_of_day % 3_600 / 60);
    let month_index = usize::try_from(month - 1).unwrap_or(0);
    let month_name = words.months.get(month_index).map_or("", String::as_str);
    let day = if day == 1 {
        words.first_day.clone()
    } else {
        day.to_string()
    };

    bundle::format_message(
        &words.pattern,
        &[&day, month_name, &year.to_string(), &hours, &minutes],
    )
}

/// The `format_datetime` filter, reading the words of the language given as `locale` (the
/// default locale's when it is missing or unknown) and the optional `timezone` argument.
pub(crate) fn filter(
    words: Arc<DateWordsByLocale>,
) -> impl Fn(&Value, &HashMap<String, Value>) -> tera::Result<Value> + Send + Sync {
    move |value, arguments| {
        let Some(unix_seconds) = value.as_i64() else {
            return Err(tera::Error::msg(
                "format_datetime expects a Unix time in whole seconds",
            ));
        };
        let zone = match arguments.get("timezone") {
            None => TimeZone::EuropeParis,
            Some(name) => name.as_str().and_then(TimeZone::parse).ok_or_else(|| {
                tera::Error::msg("format_datetime knows the time zones UTC and Europe/Paris")
            })?,
        };
        let locale = arguments
            .get("locale")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_LOCALE);
        let Some(language_words) = words.get(locale).or_else(|| words.get(DEFAULT_LOCALE)) else {
            return Err(tera::Error::msg(
                "format_datetime has no words for any locale",
            ));
        };
        Ok(Value::String(format_datetime(
            language_words,
            zone,
            unix_seconds,
        )))
    }
}

/// The day of the week of a day count, 0 for Sunday.
fn weekday(days: i64) -> i64 {
    // 1970-01-01 was a Thursday.
    (days + 4).rem_euclid(7)
}

/// The day count of the last Sunday of a month that has 31 days (March and October).
fn last_sunday(year: i64, month: i64) -> i64 {
    let last_day = days_from_civil(year, month, 31);
    last_day - weekday(last_day)
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar.
///
/// Counts in 400-year eras (146 097 days each) of years starting in March, so that the leap
/// day ends a year and the month lengths follow a fixed pattern.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month 1–12, day 1–31) of a day count since 1970-01-01; the inverse of
/// [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(months: &str, first_day: &str, pattern: &str) -> DateWords {
        let mut messages = Messages::new();
        messages.insert(MONTHS_KEY.to_owned(), months.to_owned());
        messages.insert(FIRST_DAY_KEY.to_owned(), first_day.to_owned());
        messages.insert(FORMAT_KEY.to_owned(), pattern.to_owned());
        date_words(&messages).expect("valid words")
    }

    fn french() -> DateWords {
        words(
            "janvier, février, mars, avril, mai, juin, juillet, août, septembre, octobre, \
             novembre, décembre",
            "1er",
            "{0} {1} {2} à {3}:{4}",
        )
    }

    #[test]
    fn civil_dates_round_trip() {
        fn check(year: i64, month: i64, day: i64, expected_days: i64) {
            assert_eq!(days_from_civil(year, month, day), expected_days);
            assert_eq!(civil_from_days(expected_days), (year, month, day));
        }

        check(1970, 1, 1, 0);
        check(1969, 12, 31, -1);
        check(2000, 2, 29, 11_016);
        check(2000, 3, 1, 11_017);
        check(2026, 3, 27, 20_539);
        check(2100, 3, 1, 47_541);
    }

    #[test]
    fn paris_time_follows_the_european_summer_rule() {
        fn check(unix_seconds: i64, expected: &str) {
            assert_eq!(
                format_datetime(&french(), TimeZone::EuropeParis, unix_seconds),
                expected,
                "{unix_seconds}"
            );
        }

        // 2026-03-27 15:26 UTC, two days before the change: UTC+1, as in the guide.
        check(1_774_625_160, "27 mars 2026 à 16:26");
        // 2026-03-29 00:59:59 UTC, then 01:00 UTC: the clocks jump from 01:59 to 03:00.
        check(1_774_745_999, "29 mars 2026 à 01:59");
        check(1_774_746_000, "29 mars 2026 à 03:00");
        // 2026-10-25 00:59:59 UTC, then 01:00 UTC: back from 02:59 to 02:00.
        check(1_792_889_999, "25 octobre 2026 à 02:59");
        check(1_792_890_000, "25 octobre 2026 à 02:00");
        // New Year in Paris while it is still 23:30 on 31 December in UTC.
        check(1_798_759_800, "1er janvier 2027 à 00:30");
    }

    #[test]
    fn utc_is_shown_as_is() {
        let english = words(
            "January, February, March, April, May, June, July, August, September, October, \
             November, December",
            "1",
            "{0} {1} {2} at {3}:{4}",
        );

        assert_eq!(
            format_datetime(&english, TimeZone::Utc, 1_774_625_160),
            "27 March 2026 at 15:26"
        );
        assert_eq!(
            format_datetime(&english, TimeZone::Utc, 0),
            "1 January 1970 at 00:00"
        );
    }

    #[test]
    fn month_names_must_be_twelve() {
        let mut messages = Messages::new();
        messages.insert(MONTHS_KEY.to_owned(), "a, b, c".to_owned());
        messages.insert(FIRST_DAY_KEY.to_owned(), "1".to_owned());
        messages.insert(FORMAT_KEY.to_owned(), "{0}".to_owned());

        let err = date_words(&messages).expect_err("three months refused");
        assert!(err.contains("twelve"), "{err}");
        messages.remove(FORMAT_KEY);
        assert!(date_words(&messages).is_err());
    }
}
