//! Pagination shared by every list operation.

use crate::{Reason, ValidationError};

/// Which slice of a list to return. Built through [`PageRequest::new`], so the limit is always within
/// `1..=MAX_LIMIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

impl PageRequest {
    /// The default page size when a client gives none.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page a client may ask for.
    pub const MAX_LIMIT: u32 = 100;

    /// A validated page request; `None` means the default.
    ///
    /// # Errors
    /// [`Reason::OutOfRange`] on `limit` outside `1..=100`.
    pub fn new(limit: Option<u32>, offset: Option<u64>) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                Reason::OutOfRange {
                    min: 1,
                    max: i64::from(Self::MAX_LIMIT),
                },
            ));
        }
        Ok(Self {
            limit,
            offset: offset.unwrap_or(0),
        })
    }

    /// The first page with the default size.
    pub const fn first() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }

    /// How many items at most.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// How many items to skip.
    pub const fn offset(&self) -> u64 {
        self.offset
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first()
    }
}

/// One page of a list, with the total number of items matching the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all, over every page.
    pub total: u64,
}

impl<T> Page<T> {
    /// Maps the items, keeping the total.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
        let p = PageRequest::new(Some(100), Some(7)).unwrap();
        assert_eq!((p.limit(), p.offset()), (100, 7));
        assert_eq!(PageRequest::new(None, None).unwrap(), PageRequest::first());
    }
}
