//! Continuing a search page by page: the state its history entry keeps (the input, where each
//! source's next page starts, the keys of what earlier pages returned) and the cursor naming a
//! page of it. The cursor is opaque but not secret: it names a search and a page count, and is
//! honoured only for the tenant and user whose history holds that search, at that count.

use std::collections::BTreeMap;

use pake_domain::SearchId;
use pake_domain::search::SourceId;
use serde::{Deserialize, Serialize};

use super::SearchInput;
use crate::util::hex;

/// The most pages a search is continued to.
pub(crate) const MAX_PAGES: u32 = 20;
/// The most result keys remembered across pages (older ones beyond are dropped).
const MAX_SEEN: usize = 8_000;
/// The longest upstream page token kept (longer, or with other than printable ASCII: the end).
const MAX_TOKEN: usize = 1_024;

/// What a search keeps to be continued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Paging {
    /// The search as asked.
    pub(crate) input: SearchInput,
    /// Whether it was a quick search.
    pub(crate) quick: bool,
    /// The sources with more to give and where each continues (`None`: from its start, for a
    /// source that failed before answering a page).
    pub(crate) next: BTreeMap<SourceId, Option<String>>,
    /// Hashed merge keys of the results returned so far.
    pub(crate) seen: Vec<u64>,
}

impl Paging {
    /// Adds the keys of a page's results, keeping the newest `MAX_SEEN`.
    pub(crate) fn remember(&mut self, keys: impl IntoIterator<Item = u64>) {
        self.seen.extend(keys);
        if self.seen.len() > MAX_SEEN {
            let drop = self.seen.len() - MAX_SEEN;
            self.seen.drain(..drop);
        }
    }

    /// Whether a page after `pages` can be fetched.
    pub(crate) fn has_more(&self, pages: u32) -> bool {
        !self.next.is_empty() && pages < MAX_PAGES
    }
}

/// An upstream's page token as kept: printable ASCII of bounded length, else none.
pub(crate) fn clean_token(token: Option<String>) -> Option<String> {
    token.filter(|t| {
        !t.is_empty() && t.len() <= MAX_TOKEN && t.bytes().all(|b| b.is_ascii_graphic())
    })
}

/// The cursor of page `pages + 1` of search `id`.
pub(crate) fn cursor(id: SearchId, pages: u32) -> String {
    hex(format!("{id}:{pages}").as_bytes())
}

/// The search and page count a cursor names; `None` for anything else.
pub(crate) fn parse_cursor(text: &str) -> Option<(SearchId, u32)> {
    let text = text.trim();
    if text.len() > 200 || text.len() % 2 == 1 {
        return None;
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let decoded = String::from_utf8(bytes).ok()?;
    let (id, pages) = decoded.split_once(':')?;
    Some((SearchId::parse(id).ok()?, pages.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let id = SearchId::new();
        assert_eq!(parse_cursor(&cursor(id, 3)), Some((id, 3)));
        for bad in ["", "zz", "abc", &"0".repeat(400), &hex(b"not-a-uuid:1")] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
        assert_eq!(
            clean_token(Some("AoIIP4Zaw==".into())).as_deref(),
            Some("AoIIP4Zaw==")
        );
        assert_eq!(clean_token(Some("a\0b".into())), None);
        assert_eq!(clean_token(Some("x".repeat(2000))), None);
    }
}
