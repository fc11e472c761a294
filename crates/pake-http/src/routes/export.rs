//! What the three export routes share: `?format=` and the file response.

use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use pake_core::export::{Export, Format};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// `?format=bibtex|ris|csljson|csv`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `bibtex`, `ris`, `csljson` or `csv`.
    #[param(inline, value_type = String, pattern = "^(bibtex|ris|csljson|csv)$")]
    pub format: String,
}

impl ExportQuery {
    /// The format asked for.
    ///
    /// # Errors
    /// 400 naming `format` for any other value.
    pub fn format(&self) -> Result<Format, ApiError> {
        Ok(Format::parse(&self.format)?)
    }
}

/// The file, with its media type and `Content-Disposition: attachment; filename=…`.
pub fn file(export: Export) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, export.format.content_type()))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export.filename),
        ))
        .insert_header(("X-Export-Records", export.records.to_string()))
        .body(export.body)
}
