//! Export of kept results (a history entry, a saved search's last run, a collection) to the
//! formats reference managers read: BibTeX, RIS, CSL-JSON, CSV. Plan feature `export`; every
//! export is audited (`results_exported`) and counted (usage metric `exports`).

mod bibtex;
mod csl;
mod kind;
mod ris;
mod table;

use std::sync::Arc;

use pake_domain::audit::AuditKind;
use pake_domain::usage::UsageMetric;
use pake_domain::{CollectionId, Permission, Reason, SavedSearchId, SearchId, ValidationError};
use pake_ports::UsageRepository;

use crate::audit::{AuditService, Entry};
use crate::caller::{Caller, RequestMeta};
use crate::collections::CollectionService;
use crate::search::{SearchResult, SearchService};
use crate::{Access, CoreError, Environment};

/// An entry's results, unless the plan's retention swept them.
fn kept(entry: crate::search::Entry) -> Result<Vec<SearchResult>, CoreError> {
    if entry.kept {
        Ok(entry.results)
    } else {
        Err(CoreError::InvalidState(
            "the results of this search are no longer kept (the plan's retention)",
        ))
    }
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// BibTeX (`.bib`).
    Bibtex,
    /// RIS (`.ris`).
    Ris,
    /// CSL-JSON (`.json`).
    CslJson,
    /// CSV (`.csv`).
    Csv,
}

impl Format {
    /// Every format.
    pub const ALL: [Self; 4] = [Self::Bibtex, Self::Ris, Self::CslJson, Self::Csv];

    /// Its name in `?format=`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bibtex => "bibtex",
            Self::Ris => "ris",
            Self::CslJson => "csljson",
            Self::Csv => "csv",
        }
    }

    /// Parses `?format=`.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] on `format`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or(ValidationError::new("format", Reason::UnknownValue))
    }

    /// Its media type.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Bibtex => "application/x-bibtex; charset=utf-8",
            Self::Ris => "application/x-research-info-systems; charset=utf-8",
            Self::CslJson => "application/vnd.citationstyles.csl+json",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// Its file extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Bibtex => "bib",
            Self::Ris => "ris",
            Self::CslJson => "json",
            Self::Csv => "csv",
        }
    }
}

/// An export, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Its format.
    pub format: Format,
    /// A file name for `Content-Disposition` (ASCII: letters, digits, `-`, `.`).
    pub filename: String,
    /// The file.
    pub body: Vec<u8>,
    /// Records in it.
    pub records: usize,
}

/// `results` in `format`.
///
/// # Errors
/// [`CoreError::Internal`] when the CSV writer fails (it writes to memory).
pub fn render(format: Format, results: &[SearchResult]) -> Result<Vec<u8>, CoreError> {
    Ok(match format {
        Format::Bibtex => bibtex::write(results).into_bytes(),
        Format::Ris => ris::write(results).into_bytes(),
        Format::CslJson => csl::write(results).into_bytes(),
        Format::Csv => table::write(results).map_err(|e| CoreError::Internal(e.into()))?,
    })
}

/// Export use cases.
#[derive(Clone)]
pub struct ExportService {
    usage: Arc<dyn UsageRepository>,
    env: Environment,
    access: Access,
    search: SearchService,
    collections: CollectionService,
    audit: AuditService,
}

impl ExportService {
    pub(crate) fn new(
        usage: Arc<dyn UsageRepository>,
        env: Environment,
        access: Access,
        search: SearchService,
        collections: CollectionService,
        audit: AuditService,
    ) -> Self {
        Self {
            usage,
            env,
            access,
            search,
            collections,
            audit,
        }
    }

    /// A history entry's kept results.
    ///
    /// # Errors
    /// [`CoreError::FeatureNotInPlan`] without `export`, [`CoreError::NotFound`] as
    /// [`SearchService::entry`], [`CoreError::InvalidState`] once the results were swept.
    pub async fn history(
        &self,
        caller: &Caller,
        id: SearchId,
        format: Format,
        meta: &RequestMeta,
    ) -> Result<Export, CoreError> {
        self.access.authorize(caller, Permission::ExportResults)?;
        let entry = self.search.entry(caller, id).await?;
        let results = kept(entry)?;
        self.finish(caller, format, "search", &id.to_string(), &results, meta)
            .await
    }

    /// A saved search's last run.
    ///
    /// # Errors
    /// As [`ExportService::history`]; [`CoreError::NotFound`] when it never ran.
    pub async fn saved(
        &self,
        caller: &Caller,
        id: SavedSearchId,
        format: Format,
        meta: &RequestMeta,
    ) -> Result<Export, CoreError> {
        self.access.authorize(caller, Permission::ExportResults)?;
        let entry = self.search.latest_run(caller, id).await?;
        let results = kept(entry)?;
        self.finish(caller, format, "saved", &id.to_string(), &results, meta)
            .await
    }

    /// A collection's items.
    ///
    /// # Errors
    /// As [`ExportService::history`], for the collection.
    pub async fn collection(
        &self,
        caller: &Caller,
        id: CollectionId,
        format: Format,
        meta: &RequestMeta,
    ) -> Result<Export, CoreError> {
        self.access.authorize(caller, Permission::ExportResults)?;
        let (_, items) = self.collections.all_items(caller, id).await?;
        let results: Vec<SearchResult> = items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i.record).ok())
            .collect();
        self.finish(
            caller,
            format,
            "collection",
            &id.to_string(),
            &results,
            meta,
        )
        .await
    }

    async fn finish(
        &self,
        caller: &Caller,
        format: Format,
        what: &str,
        id: &str,
        results: &[SearchResult],
        meta: &RequestMeta,
    ) -> Result<Export, CoreError> {
        let body = render(format, results)?;
        let short: String = id
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(12)
            .collect();
        let filename = format!("pake-{what}-{short}.{}", format.extension());
        self.audit
            .record(
                Entry::new(caller.tenant_id, AuditKind::ResultsExported, meta)
                    .by(caller)
                    .on(id)
                    .with(serde_json::json!({
                        "of": what,
                        "format": format.as_str(),
                        "records": results.len(),
                    })),
            )
            .await;
        let today = self.env.clock.now().date();
        if let Err(e) = self
            .usage
            .increment(caller.tenant_id, today, UsageMetric::Exports, 1)
            .await
        {
            tracing::warn!(error = %e, "export not counted");
        }
        Ok(Export {
            format,
            filename,
            body,
            records: results.len(),
        })
    }
}
