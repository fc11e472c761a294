//! CSL-JSON: the citation processors' input (Zotero, Pandoc, citeproc): `author[{family,
//! given}]`, `issued.date-parts`, `DOI`, `PMID`, `URL`, `container-title`.

use serde_json::{Map, Value, json};

use super::kind::{Kind, split_name};
use crate::search::SearchResult;

/// The file: a JSON array of items, `id`s unique (`item-1`, `item-2`, …).
pub(crate) fn write(results: &[SearchResult]) -> String {
    let items: Vec<Value> = results
        .iter()
        .enumerate()
        .map(|(i, r)| item(i + 1, r))
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
}

fn item(n: usize, r: &SearchResult) -> Value {
    let kind = Kind::of(r);
    let ty = match kind {
        Kind::Article => "article-journal",
        Kind::Conference => "paper-conference",
        Kind::Preprint => "article",
        Kind::Book => "book",
        Kind::Chapter => "chapter",
        Kind::Thesis => "thesis",
        Kind::Dataset => "dataset",
        Kind::Web => "webpage",
        Kind::Other => "document",
    };
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("item-{n}")));
    m.insert("type".into(), json!(ty));
    m.insert("title".into(), json!(r.title));
    let authors: Vec<Value> = r
        .authors
        .iter()
        .map(|a| {
            let (family, given) = split_name(a);
            if given.is_empty() {
                json!({ "family": family })
            } else {
                json!({ "family": family, "given": given })
            }
        })
        .collect();
    if !authors.is_empty() {
        m.insert("author".into(), Value::Array(authors));
    }
    if let Some(d) = r.published {
        m.insert(
            "issued".into(),
            json!({ "date-parts": [[d.year(), u8::from(d.month()), d.day()]] }),
        );
    }
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty()) {
            m.insert(k.into(), json!(v));
        }
    };
    put("container-title", &r.venue);
    put("DOI", &r.doi);
    put("PMID", &r.pmid);
    put("PMCID", &r.pmcid);
    put("abstract", &r.abstract_text);
    if let Some(id) = &r.arxiv_id {
        m.insert("number".into(), json!(format!("arXiv:{id}")));
        if kind == Kind::Preprint {
            m.insert("publisher".into(), json!("arXiv"));
        }
    }
    if !r.url.is_empty() {
        m.insert("URL".into(), json!(r.url));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_name_authors_dates_and_ids() {
        let mut r = SearchResult::empty();
        r.title = "T".into();
        r.authors = vec!["Marie Curie".into(), "Plato".into()];
        r.published = time::Date::from_calendar_date(1903, time::Month::June, 25).ok();
        r.doi = Some("10.1/x".into());
        r.pmid = Some("123".into());
        r.venue = Some("Comptes rendus".into());
        r.url = "https://example.org".into();
        let v: Value = serde_json::from_str(&write(&[r])).unwrap();
        let i = &v[0];
        assert_eq!(i["id"], "item-1");
        assert_eq!(i["author"][0], json!({"family": "Curie", "given": "Marie"}));
        assert_eq!(i["author"][1], json!({"family": "Plato"}));
        assert_eq!(i["issued"]["date-parts"], json!([[1903, 6, 25]]));
        assert_eq!(i["DOI"], "10.1/x");
        assert_eq!(i["PMID"], "123");
        assert_eq!(i["container-title"], "Comptes rendus");
        assert_eq!(i["URL"], "https://example.org");
    }
}
