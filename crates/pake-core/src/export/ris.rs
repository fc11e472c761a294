//! RIS: `TY` … `ER` records, one tag per line, one `AU` per author (`Family, Given`).

use std::fmt::Write as _;

use super::kind::{Kind, split_name};
use crate::search::SearchResult;

/// The file.
pub(crate) fn write(results: &[SearchResult]) -> String {
    let mut out = String::new();
    for r in results {
        record(&mut out, r);
    }
    out
}

/// A value on one line: line breaks and other controls become spaces.
fn line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn record(out: &mut String, r: &SearchResult) {
    let kind = Kind::of(r);
    let ty = match kind {
        Kind::Article => "JOUR",
        Kind::Conference => "CPAPER",
        Kind::Preprint => "UNPB",
        Kind::Book => "BOOK",
        Kind::Chapter => "CHAP",
        Kind::Thesis => "THES",
        Kind::Dataset => "DATA",
        Kind::Web => "ELEC",
        Kind::Other => "GEN",
    };
    let mut tag = |t: &str, value: &str| {
        let v = line(value);
        if !v.is_empty() {
            let _ = writeln!(out, "{t}  - {v}");
        }
    };
    tag("TY", ty);
    tag("TI", &r.title);
    for a in &r.authors {
        let (family, given) = split_name(a);
        if given.is_empty() {
            tag("AU", &family);
        } else {
            tag("AU", &format!("{family}, {given}"));
        }
    }
    if let Some(d) = r.published {
        tag("PY", &d.year().to_string());
        tag(
            "DA",
            &format!("{:04}/{:02}/{:02}", d.year(), u8::from(d.month()), d.day()),
        );
    }
    if let Some(v) = &r.venue {
        tag(if kind == Kind::Article { "JO" } else { "T2" }, v);
    }
    if let Some(doi) = &r.doi {
        tag("DO", doi);
    }
    if let Some(pmid) = &r.pmid {
        tag("AN", &format!("PMID:{pmid}"));
    }
    if let Some(id) = &r.arxiv_id {
        tag("M1", &format!("arXiv:{id}"));
    }
    tag("UR", &r.url);
    if let Some(pdf) = &r.pdf_url {
        tag("L1", pdf);
    }
    if let Some(a) = &r.abstract_text {
        tag("AB", a);
    }
    out.push_str("ER  - \n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_one_author_tag_each_and_end() {
        let mut r = SearchResult::empty();
        r.title = "Line\nbreak".into();
        r.authors = vec!["Ada Lovelace".into(), "Smith JA".into()];
        r.publication_type = Some("journal_article".into());
        r.venue = Some("Nature".into());
        r.published = time::Date::from_calendar_date(2020, time::Month::May, 4).ok();
        let out = write(&[r]);
        assert!(out.starts_with("TY  - JOUR\nTI  - Line break\n"), "{out}");
        assert!(out.contains("AU  - Lovelace, Ada\nAU  - Smith, JA\n"));
        assert!(out.contains("PY  - 2020\nDA  - 2020/05/04\nJO  - Nature\n"));
        assert!(out.ends_with("ER  - \n\n"));
    }
}
