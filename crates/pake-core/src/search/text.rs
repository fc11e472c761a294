//! Tokens for ranking and summaries: lower-cased words of letters and digits, stop words out.

/// Words too common to say anything about a text.
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "been", "being", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
    "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "itself", "just", "may", "me", "more", "most", "my", "no", "nor", "not",
    "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours", "out", "over",
    "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs",
    "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "two",
    "under", "until", "up", "us", "using", "very", "via", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would",
    "you", "your", "yours", "based", "study", "paper", "results", "show", "new",
];

/// Whether `word` (lower case) is a stop word.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// The tokens of `text`: lower-cased runs of letters and digits, at least two characters, no
/// stop words.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .filter(|w| !is_stop_word(w))
        .collect()
}

/// Sentences of `text`: split after `.`, `!` or `?` followed by whitespace and an upper-case
/// letter or digit (so "e.g. the" and "10.5 mm" stay whole).
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], '.' | '!' | '?')
            && chars.get(i + 1).is_some_and(|c| c.is_whitespace())
        {
            let mut j = i + 1;
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            if chars
                .get(j)
                .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
            {
                let s: String = chars[start..=i].iter().collect();
                let s = s.trim();
                if !s.is_empty() {
                    out.push(s.to_owned());
                }
                start = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let rest: String = chars[start.min(chars.len())..].iter().collect();
    let rest = rest.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_drop_stop_words_and_short_words() {
        assert_eq!(
            tokens("The CRISPR-Cas9 system, in a nutshell: 3 x"),
            vec!["crispr", "cas9", "system", "nutshell"]
        );
    }

    #[test]
    fn sentences_split_at_real_ends() {
        assert_eq!(
            sentences("We use e.g. lasers. Results hold at 10.5 mm! Does it? yes"),
            vec![
                "We use e.g. lasers.",
                "Results hold at 10.5 mm!",
                "Does it? yes"
            ]
        );
    }
}
