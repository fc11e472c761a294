//! Offset paging, for the sources that page by position (arXiv `start`, PubMed `retstart`,
//! Crossref `offset`, Semantic Scholar `offset`): the page token is the decimal offset.

use pake_ports::SourceRequest;

/// Where this page starts: the request's token, else 0.
pub(crate) fn offset(request: &SourceRequest) -> u32 {
    request
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// The next page's token after a page that started at `start`, asked `asked` records and got
/// `got`, of `total` when the upstream says: `None` at the end (a short page with no total, the
/// total reached) or where the next page would end past `limit`, the deepest the upstream
/// serves.
pub(crate) fn next_offset(
    start: u32,
    asked: u32,
    got: usize,
    total: Option<u64>,
    limit: u32,
) -> Option<String> {
    let next = start.checked_add(asked)?;
    let short = u32::try_from(got).is_ok_and(|g| g < asked);
    let end = match total {
        Some(total) => u64::from(next) >= total,
        None => short,
    };
    (got > 0 && !end && next.saturating_add(asked) <= limit).then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_at_the_total_a_short_page_or_the_limit() {
        assert_eq!(
            next_offset(0, 10, 10, Some(25), 1000).as_deref(),
            Some("10")
        );
        assert_eq!(next_offset(20, 10, 5, Some(25), 1000), None);
        assert_eq!(next_offset(0, 10, 10, None, 1000).as_deref(), Some("10"));
        assert_eq!(next_offset(0, 10, 7, None, 1000), None);
        assert_eq!(next_offset(0, 10, 0, Some(25), 1000), None);
        assert_eq!(
            next_offset(980, 10, 10, Some(5000), 1000).as_deref(),
            Some("990")
        );
        assert_eq!(next_offset(990, 10, 10, Some(5000), 1000), None);
    }
}
