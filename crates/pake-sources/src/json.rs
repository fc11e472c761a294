//! Reading the JSON answers of the scholarly APIs: typed getters that treat a missing or
//! mistyped field as absent, markup stripped from abstracts, and the JSON-or-not rule for error
//! bodies (decide on the status first, parse only what is JSON).

use serde_json::Value;

use crate::http::Body;
use crate::text::collapse;
use pake_ports::SourceError;

/// The value at `path` (object keys), if every step exists.
pub(crate) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The text at `path`, whitespace collapsed; `None` when absent, not a string, or blank.
pub(crate) fn text(value: &Value, path: &[&str]) -> Option<String> {
    at(value, path)
        .and_then(Value::as_str)
        .map(collapse)
        .filter(|t| !t.is_empty())
}

/// The array at `path`, or an empty one.
pub(crate) fn array<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A count at `path` given as a number or a numeric string.
pub(crate) fn count(value: &Value, path: &[&str]) -> Option<u32> {
    let v = at(value, path)?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// A `YYYY-MM-DD` date (a bare `YYYY` or `YYYY-MM` is its first day).
pub(crate) fn date(text: &str) -> Option<time::Date> {
    let mut parts = text.trim().get(..10.min(text.trim().len()))?.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u8 = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// A date from `[year, month?, day?]` parts (Crossref `date-parts`).
pub(crate) fn date_parts(parts: &[Value]) -> Option<time::Date> {
    let n = |i: usize, default: u64| parts.get(i).map_or(Some(default), Value::as_u64);
    let year = i32::try_from(parts.first()?.as_u64()?).ok()?;
    let month = time::Month::try_from(u8::try_from(n(1, 1)?).ok()?).ok()?;
    time::Date::from_calendar_date(year, month, u8::try_from(n(2, 1)?).ok()?).ok()
}

/// Text without its markup (JATS, HTML): tags dropped (block tags become spaces), the common
/// entities decoded, whitespace collapsed.
pub(crate) fn strip_markup(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let text = collapse(&decoded);
    // a space the dropped tags left before punctuation
    text.replace(" .", ".").replace(" ,", ",")
}

/// The body as JSON, when it is JSON.
pub(crate) fn parse(body: &Body) -> Option<Value> {
    serde_json::from_slice(&body.bytes).ok()
}

/// The error of a non-200 answer: 429 throttling (with `Retry-After`), else the status with the
/// upstream's message (the JSON `message`/`error` fields when the body is JSON, else the text).
pub(crate) fn error(body: &Body) -> SourceError {
    if body.status == 429 {
        return SourceError::RateLimited {
            retry_after: body.retry_after(),
        };
    }
    let message = parse(body)
        .and_then(|v| {
            let m = v.get("message");
            m.and_then(Value::as_str)
                .map(str::to_owned)
                // Crossref: a list of {type, value, message}
                .or_else(|| {
                    m.and_then(Value::as_array)
                        .and_then(|l| l.first())
                        .and_then(|e| e.get("message"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .or_else(|| v.get("error").and_then(Value::as_str).map(str::to_owned))
        })
        .map_or_else(|| body.message(), |m| m.chars().take(200).collect());
    SourceError::Upstream {
        status: body.status,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_stripped_and_entities_decoded() {
        assert_eq!(
            strip_markup(
                "<jats:title>Abstract</jats:title><jats:p>Fish &amp; chips <i>x</i>.</jats:p>"
            ),
            "Abstract Fish & chips x."
        );
        assert_eq!(
            strip_markup("<h4>Objective</h4>To test 3 &lt; 4."),
            "Objective To test 3 < 4."
        );
    }

    #[test]
    fn dates_may_be_partial() {
        assert_eq!(
            date("2024-05-08"),
            Some(time::macros::date!(2024 - 05 - 08))
        );
        assert_eq!(date("2024"), Some(time::macros::date!(2024 - 01 - 01)));
        assert_eq!(date("2024-13-01"), None);
        assert_eq!(date(""), None);
        let parts = serde_json::json!([2024, 5]);
        assert_eq!(
            date_parts(parts.as_array().unwrap()),
            Some(time::macros::date!(2024 - 05 - 01))
        );
    }
}
