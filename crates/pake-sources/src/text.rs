//! Small text normalisations shared by the adapters (the DOI rule is the domain's: the merge
//! keys DOIs by it too).

/// Collapses every run of whitespace to one space and trims.
pub(crate) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) use pake_domain::search::normalise_doi;

/// The user's words for an upstream query: letters, digits, quotes and the characters in `keep`
/// (anything else becomes a space), whitespace collapsed, and the quotes dropped when they do
/// not pair up.
pub(crate) fn query_words(text: &str, keep: &[char]) -> String {
    let words: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '"' || keep.contains(&c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words = collapse(&words);
    if words.matches('"').count() % 2 == 1 {
        words.replace('"', "")
    } else {
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse("  Deep\n  learning \t now "), "Deep learning now");
        assert_eq!(query_words("a (b) \"c d\" e*", &['*']), "a b \"c d\" e*");
        assert_eq!(
            query_words("x \"y", &[]),
            "x y",
            "an unpaired quote is dropped"
        );
    }
}
