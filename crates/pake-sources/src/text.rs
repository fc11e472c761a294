//! Small text normalisations shared by the adapters (the DOI rule is the domain's: the merge
//! keys DOIs by it too).

/// Collapses every run of whitespace to one space and trims.
pub(crate) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) use pake_domain::search::normalise_doi;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse("  Deep\n  learning \t now "), "Deep learning now");
    }
}
