//! One analysis pass per search: the query and every result are tokenised once, into a per-search
//! vocabulary of term ids, with each text's sentence spans; ranking (BM25), the summaries, the
//! digest and the key topics all read this instead of tokenising again.
//!
//! A token is a lower-cased run of letters and digits of at least two characters that is not a
//! stop word. A result's text is `"<title>. <abstract or snippet>"`.

use std::ops::Range;

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::rank::SearchResult;

/// A term of the per-search vocabulary.
pub(crate) type TermId = u32;

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

/// Sentences a result contributes at most (to its summary; the digest takes fewer), so a
/// hostile or huge abstract costs no more than a long one.
pub(crate) const MAX_SENTENCES: usize = 32;

struct Term {
    text: Box<str>,
    /// A stop word: never a token.
    stop: bool,
    /// Only ASCII digits: never a topic.
    digits: bool,
}

/// Words seen in one search, each with an id (in order of first appearance).
#[derive(Default)]
pub(crate) struct Vocabulary {
    /// Words from third-party text: a fast hasher, randomly seeded (no crafted collisions).
    ids: HashMap<Box<str>, TermId, RandomState>,
    terms: Vec<Term>,
    lower: String,
}

impl Vocabulary {
    /// The id of `word` (as written), lower-cased.
    fn intern(&mut self, word: &str) -> TermId {
        self.lower.clear();
        if word.is_ascii() {
            self.lower
                .extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            self.lower.push_str(&word.to_lowercase());
        }
        if let Some(&id) = self.ids.get(self.lower.as_str()) {
            return id;
        }
        let id = TermId::try_from(self.terms.len()).unwrap_or(TermId::MAX);
        let text: Box<str> = self.lower.as_str().into();
        self.terms.push(Term {
            stop: is_stop_word(&text),
            digits: text.chars().all(|c| c.is_ascii_digit()),
            text: text.clone(),
        });
        self.ids.insert(text, id);
        id
    }

    /// The lower-cased word of `id`.
    pub(crate) fn text(&self, id: TermId) -> &str {
        &self.terms[id as usize].text
    }

    /// Whether `id` is only ASCII digits.
    pub(crate) fn is_digits(&self, id: TermId) -> bool {
        self.terms[id as usize].digits
    }

    /// Appends the tokens of `text` to `ids`, and their byte offsets (plus `base`) to `offsets`.
    fn tokenise(&mut self, text: &str, base: usize, ids: &mut Vec<TermId>, offsets: &mut Vec<u32>) {
        let mut start = None;
        let mut chars = 0usize;
        let mut flush = |this: &mut Self, from: usize, to: usize, chars: usize| {
            if chars >= 2 {
                let id = this.intern(&text[from..to]);
                if !this.terms[id as usize].stop {
                    ids.push(id);
                    offsets.push(u32::try_from(base + from).unwrap_or(u32::MAX));
                }
            }
        };
        for (i, c) in text.char_indices() {
            if c.is_alphanumeric() {
                if start.is_none() {
                    start = Some(i);
                    chars = 0;
                }
                chars += 1;
            } else if let Some(from) = start.take() {
                flush(self, from, i, chars);
            }
        }
        if let Some(from) = start {
            flush(self, from, text.len(), chars);
        }
    }

    /// The tokens of `text`.
    pub(crate) fn tokens(&mut self, text: &str) -> Vec<TermId> {
        let (mut ids, mut offsets) = (Vec::new(), Vec::new());
        self.tokenise(text, 0, &mut ids, &mut offsets);
        ids
    }
}

/// Byte spans of the sentences of `text`: split after `.`, `!` or `?` followed by whitespace and
/// an upper-case letter or digit (so "e.g. the" and "10.5 mm" stay whole), each span trimmed,
/// empty ones dropped.
pub(crate) fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut push = |from: usize, to: usize| {
        let s = &text[from..to];
        let trimmed = s.trim();
        if !trimmed.is_empty() {
            let at = from + (s.len() - s.trim_start().len());
            out.push(at..at + trimmed.len());
        }
    };
    let mut start = 0;
    let mut i = 0;
    // the punctuation is ASCII, so stepping by bytes never lands inside a character that matters
    while i < bytes.len() {
        if matches!(bytes[i], b'.' | b'!' | b'?') {
            let rest = &text[i + 1..];
            if rest.chars().next().is_some_and(char::is_whitespace) {
                let next = rest.char_indices().find(|(_, c)| !c.is_whitespace());
                if let Some((k, c)) = next
                    && (c.is_uppercase() || c.is_ascii_digit())
                {
                    push(start, i + 1);
                    start = i + 1 + k;
                    i = start;
                    continue;
                }
            }
        }
        i += 1;
    }
    push(start.min(text.len()), text.len());
    out
}

/// One sentence: its bytes in the text and its distinct terms, sorted.
pub(crate) struct Sentence {
    pub(crate) span: Range<usize>,
    pub(crate) terms: Vec<TermId>,
}

/// A result as analysed.
pub(crate) struct Doc {
    /// `"<title>. <body>"`.
    pub(crate) text: String,
    /// Where the body starts in `text`.
    body_start: usize,
    /// Every token of `text`, title first.
    pub(crate) tokens: Vec<TermId>,
    /// Each token's byte offset in `text`.
    offsets: Vec<u32>,
    /// How many of `tokens` are the title's.
    pub(crate) title_tokens: usize,
    /// The sentences of `text` (at most [`MAX_SENTENCES`]), when a digest was asked and the body
    /// has none (then: the title).
    pub(crate) sentences: Vec<Sentence>,
    /// The sentences of the body alone (at most [`MAX_SENTENCES`]), when summaries were asked.
    pub(crate) body_sentences: Vec<Sentence>,
}

impl Doc {
    /// The body: the abstract or snippet.
    pub(crate) fn body(&self) -> &str {
        &self.text[self.body_start..]
    }

    /// The sorted distinct terms of the tokens inside `span` of `text`.
    fn terms_in(&self, span: &Range<usize>) -> Vec<TermId> {
        let lo = self.offsets.partition_point(|&o| (o as usize) < span.start);
        let hi = self.offsets.partition_point(|&o| (o as usize) < span.end);
        let mut terms = self.tokens[lo..hi].to_vec();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    fn sentences_of(&self, spans: Vec<Range<usize>>) -> Vec<Sentence> {
        spans
            .into_iter()
            .take(MAX_SENTENCES)
            .map(|span| Sentence {
                terms: self.terms_in(&span),
                span,
            })
            .collect()
    }
}

/// What the analysis pass computes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Needs {
    /// Sentences (for the summaries and the digest): each result's body's, and its whole
    /// text's where the body has none (then: its title).
    pub(crate) sentences: bool,
}

/// The analysis of one search: its vocabulary, the query's terms and every result's.
pub(crate) struct Analysis {
    pub(crate) vocab: Vocabulary,
    /// The query's tokens, in order.
    pub(crate) query: Vec<TermId>,
    /// The query's distinct terms, sorted.
    pub(crate) query_set: Vec<TermId>,
    /// One per result, in the results' order.
    pub(crate) docs: Vec<Doc>,
}

/// The abstract (or the snippet) a result is read by.
pub(crate) fn body_of(r: &SearchResult) -> &str {
    r.abstract_text
        .as_deref()
        .or(r.snippet.as_deref())
        .unwrap_or("")
}

impl Analysis {
    /// Tokenises `query` and every result once.
    pub(crate) fn new(query: &str, results: &[SearchResult], needs: Needs) -> Self {
        let mut vocab = Vocabulary::default();
        let query = vocab.tokens(query);
        let mut query_set = query.clone();
        query_set.sort_unstable();
        query_set.dedup();
        let docs = results
            .iter()
            .map(|r| {
                let body = body_of(r);
                let mut text = String::with_capacity(r.title.len() + 2 + body.len());
                text.push_str(&r.title);
                text.push_str(". ");
                let body_start = text.len();
                text.push_str(body);
                let (mut tokens, mut offsets) = (Vec::new(), Vec::new());
                vocab.tokenise(&r.title, 0, &mut tokens, &mut offsets);
                let title_tokens = tokens.len();
                vocab.tokenise(body, body_start, &mut tokens, &mut offsets);
                let mut doc = Doc {
                    text,
                    body_start,
                    tokens,
                    offsets,
                    title_tokens,
                    sentences: Vec::new(),
                    body_sentences: Vec::new(),
                };
                if needs.sentences {
                    let spans = sentence_spans(doc.body())
                        .into_iter()
                        .map(|s| s.start + body_start..s.end + body_start)
                        .collect();
                    doc.body_sentences = doc.sentences_of(spans);
                    // the whole text's sentences stand in for a body that has none (its title)
                    if doc.body_sentences.is_empty() {
                        doc.sentences = doc.sentences_of(sentence_spans(&doc.text));
                    }
                }
                doc
            })
            .collect();
        Self {
            vocab,
            query,
            query_set,
            docs,
        }
    }

    /// Puts the docs in `order` (indices into the current order).
    pub(crate) fn reorder(&mut self, order: &[usize]) {
        let mut old: Vec<Option<Doc>> = std::mem::take(&mut self.docs)
            .into_iter()
            .map(Some)
            .collect();
        self.docs = order.iter().filter_map(|&i| old[i].take()).collect();
    }
}

/// How many terms two sorted, distinct term lists share.
pub(crate) fn shared(left: &[TermId], right: &[TermId]) -> usize {
    let (mut l, mut r, mut common) = (0, 0, 0);
    while l < left.len() && r < right.len() {
        match left[l].cmp(&right[r]) {
            std::cmp::Ordering::Less => l += 1,
            std::cmp::Ordering::Greater => r += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                l += 1;
                r += 1;
            }
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &Vocabulary, ids: &[TermId]) -> Vec<String> {
        ids.iter().map(|&i| v.text(i).to_owned()).collect()
    }

    #[test]
    fn tokens_drop_stop_words_and_short_words() {
        let mut v = Vocabulary::default();
        let ids = v.tokens("The CRISPR-Cas9 system, in a nutshell: 3 x Ünïcode");
        assert_eq!(
            words(&v, &ids),
            vec!["crispr", "cas9", "system", "nutshell", "ünïcode"]
        );
        assert_eq!(v.tokens("crispr"), ids[..1], "one id per word");
    }

    #[test]
    fn sentences_split_at_real_ends() {
        let text = "We use e.g. lasers. Results hold at 10.5 mm! Does it? yes";
        let got: Vec<&str> = sentence_spans(text).into_iter().map(|s| &text[s]).collect();
        assert_eq!(
            got,
            vec![
                "We use e.g. lasers.",
                "Results hold at 10.5 mm!",
                "Does it? yes"
            ]
        );
        assert!(sentence_spans("  \n ").is_empty());
    }
}
