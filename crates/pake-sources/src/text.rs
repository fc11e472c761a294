//! Small text normalisations shared by the adapters.

/// Collapses every run of whitespace to one space and trims.
pub(crate) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A DOI, bare and lower-cased: URL and `doi:` prefixes removed; `None` when it does not look
/// like one (`10.` prefix and a `/`).
pub(crate) fn normalise_doi(raw: &str) -> Option<String> {
    let mut doi = raw.trim();
    for prefix in [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
        "DOI:",
    ] {
        if let Some(rest) = doi.strip_prefix(prefix) {
            doi = rest.trim();
        }
    }
    (doi.starts_with("10.") && doi.contains('/')).then(|| doi.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dois_are_bare_and_lower_case() {
        assert_eq!(
            normalise_doi("https://doi.org/10.1109/ICSTW.2022.00035").as_deref(),
            Some("10.1109/icstw.2022.00035")
        );
        assert_eq!(
            normalise_doi("doi: 10.1056/NEJMoa2001017").as_deref(),
            Some("10.1056/nejmoa2001017")
        );
        assert_eq!(normalise_doi(""), None);
        assert_eq!(normalise_doi("S0140-6736(20)30183-5"), None);
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse("  Deep\n  learning \t now "), "Deep learning now");
    }
}
