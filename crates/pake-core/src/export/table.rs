//! CSV (RFC 4180, through the `csv` crate): a header row, one row per result; a cell a
//! spreadsheet would run as a formula (`= + - @`, tab, carriage return first) is written as text.

use crate::search::SearchResult;

const HEADER: [&str; 17] = [
    "title",
    "authors",
    "year",
    "published",
    "venue",
    "publication_type",
    "doi",
    "arxiv_id",
    "pmid",
    "pmcid",
    "url",
    "pdf_url",
    "open_access",
    "citation_count",
    "retracted",
    "sources",
    "abstract",
];

/// A cell as a spreadsheet shows it: text starting like a formula gets a leading `'`.
fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// The file.
pub(crate) fn write(results: &[SearchResult]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(HEADER)?;
    for r in results {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let row = [
            r.title.clone(),
            r.authors.join("; "),
            r.published
                .map(|d| d.year().to_string())
                .unwrap_or_default(),
            r.published.map(|d| d.to_string()).unwrap_or_default(),
            opt(&r.venue),
            opt(&r.publication_type),
            opt(&r.doi),
            opt(&r.arxiv_id),
            opt(&r.pmid),
            opt(&r.pmcid),
            r.url.clone(),
            opt(&r.pdf_url),
            r.open_access
                .as_ref()
                .map(|o| o.is_oa.to_string())
                .unwrap_or_default(),
            r.citation_count.map(|n| n.to_string()).unwrap_or_default(),
            r.retracted.to_string(),
            r.sources
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            opt(&r.abstract_text),
        ];
        w.write_record(row.iter().map(|c| cell(c)))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_text_and_quotes_are_doubled() {
        let mut r = SearchResult::empty();
        r.title = "=HYPERLINK(\"http://x\")".into();
        r.authors = vec!["@me".into()];
        let out = String::from_utf8(write(&[r]).unwrap()).unwrap();
        let mut lines = out.split("\r\n");
        assert!(lines.next().unwrap().starts_with("title,authors,year"));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("\"'=HYPERLINK(\"\"http://x\"\")\",'@me,"),
            "{row}"
        );
    }
}
