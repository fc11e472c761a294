//! What kind of work a result is, in the terms each format needs.

use crate::search::SearchResult;

/// The kind of a work, from its publication type (the common vocabulary) and ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A journal article.
    Article,
    /// A paper in conference proceedings.
    Conference,
    /// A preprint (arXiv, bioRxiv, posted content).
    Preprint,
    /// A book.
    Book,
    /// A chapter of a book.
    Chapter,
    /// A thesis.
    Thesis,
    /// A dataset.
    Dataset,
    /// A web page.
    Web,
    /// Anything else.
    Other,
}

impl Kind {
    pub(crate) fn of(r: &SearchResult) -> Self {
        let t = r.publication_type.as_deref().unwrap_or("");
        let has = |w: &str| t.split('_').any(|p| p == w);
        if has("chapter") {
            Self::Chapter
        } else if has("book") || has("monograph") {
            Self::Book
        } else if has("proceedings") || has("conference") {
            Self::Conference
        } else if has("thesis") || has("dissertation") {
            Self::Thesis
        } else if has("dataset") {
            Self::Dataset
        } else if has("preprint") || t == "posted_content" {
            Self::Preprint
        } else if has("article") || has("review") || has("journal") || has("letter") {
            Self::Article
        } else if r.arxiv_id.is_some()
            && r.doi.as_deref().is_none_or(|d| d.starts_with("10.48550/"))
        {
            Self::Preprint
        } else if r.venue.is_some() && (r.doi.is_some() || r.pmid.is_some()) {
            Self::Article
        } else if r.doi.is_none() && r.pmid.is_none() && r.arxiv_id.is_none() {
            Self::Web
        } else {
            Self::Other
        }
    }
}

/// A person's name split into family and given parts: `Family, Given`; `Family INITIALS`
/// (PubMed's style: `Smith JA`); otherwise the last word is the family name (`Ada Lovelace`).
pub(crate) fn split_name(name: &str) -> (String, String) {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((family, given)) = name.split_once(',') {
        return (family.trim().to_owned(), given.trim().to_owned());
    }
    let words: Vec<&str> = name.split(' ').collect();
    match words.as_slice() {
        [] => (String::new(), String::new()),
        [one] => ((*one).to_owned(), String::new()),
        [init @ .., last] => {
            let initials = last.chars().count() <= 3 && last.chars().all(char::is_uppercase);
            if initials {
                (init.join(" "), (*last).to_owned())
            } else {
                ((*last).to_owned(), init.join(" "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_in_every_style() {
        let s = |n: &str| split_name(n);
        assert_eq!(s("Ada Lovelace"), ("Lovelace".into(), "Ada".into()));
        assert_eq!(s("Smith JA"), ("Smith".into(), "JA".into()));
        assert_eq!(s("Curie, Marie"), ("Curie".into(), "Marie".into()));
        assert_eq!(s("Plato"), ("Plato".into(), String::new()));
        assert_eq!(
            s("  José  María   Olazábal "),
            ("Olazábal".into(), "José María".into())
        );
    }

    #[test]
    fn kinds_follow_the_publication_type_then_the_ids() {
        let mut r = SearchResult::empty();
        r.arxiv_id = Some("2401.00001".into());
        assert_eq!(Kind::of(&r), Kind::Preprint);
        r.publication_type = Some("journal_article".into());
        assert_eq!(Kind::of(&r), Kind::Article);
        r.publication_type = Some("proceedings_article".into());
        assert_eq!(Kind::of(&r), Kind::Conference);
        r.publication_type = Some("book_chapter".into());
        assert_eq!(Kind::of(&r), Kind::Chapter);
        let web = SearchResult::empty();
        assert_eq!(Kind::of(&web), Kind::Web);
    }
}
