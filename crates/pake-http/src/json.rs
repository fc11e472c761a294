//! The JSON body extractor every write endpoint uses: actix's (size limit → 413, content type →
//! 415, syntax → 400, all problem+json through [`crate::json_config`]), then the domain's text
//! rule over every string and object key ([`pake_domain::text`]) — a NUL or another control
//! character anywhere is 400 `validation_failed` naming the field — then the typed body.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::JsonPayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError, json_error};

/// A JSON body of type `T` whose text passed the domain's rule.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The path of the first string or key holding a forbidden character (`settings.a\u0000`,
/// `sources[2]`), if any.
fn forbidden_path(value: &Value, path: &mut String) -> bool {
    match value {
        Value::String(s) => pake_domain::text::has_forbidden(s),
        Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
            let len = path.len();
            let _ = write!(path, "[{i}]");
            let found = forbidden_path(v, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(k, v)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            // A key with a control character is named without it.
            path.extend(k.chars().map(|c| {
                if pake_domain::text::is_forbidden(c) {
                    '?'
                } else {
                    c
                }
            }));
            let found = pake_domain::text::has_forbidden(k) || forbidden_path(v, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

/// Checks `value` against the text rule, then reads it as `T`.
///
/// # Errors
/// 400 `validation_failed` naming the field; 400 `malformed_json` when it is not a `T`.
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    let mut path = String::new();
    if forbidden_path(&value, &mut path) {
        let field = if path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        return Err(ApiError::validation(vec![FieldError {
            field,
            code: "invalid_characters".into(),
            message: "contains a NUL or another control character".into(),
        }]));
    }
    serde_json::from_value(value).map_err(|e| json_error(JsonPayloadError::Deserialize(e)))
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            Ok(Self(parse(value)?))
        })
    }
}

/// An optional JSON body: none at all (`Content-Length: 0`, or neither a length nor chunked
/// encoding) is `None`; a body that is present must be valid, exactly as for [`Json`] (never silently
/// treated as absent).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let headers = req.headers();
        let length = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let empty = length == Some(0)
            || (headers.get(CONTENT_LENGTH).is_none() && headers.get(TRANSFER_ENCODING).is_none());
        if empty {
            return Box::pin(async { Ok(Self(None)) });
        }
        let body = Json::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(Some(body.await?.into_inner()))) })
    }
}
