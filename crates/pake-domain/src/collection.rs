//! Collections: shared reading lists of papers kept from searches.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    CollectionId, CollectionItemId, DisplayName, Reason, TenantId, UserId, ValidationError,
};

/// Who may read a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Its owner (and the tenant's managers and admins).
    Private,
    /// Everyone in the tenant.
    Tenant,
}

impl Visibility {
    /// The snake_case name, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Tenant => "tenant",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "private" => Ok(Self::Private),
            "tenant" => Ok(Self::Tenant),
            _ => Err(ValidationError::new("visibility", Reason::UnknownValue)),
        }
    }
}

/// A collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its id.
    pub id: CollectionId,
    /// Who made it.
    pub owner_id: UserId,
    /// Its name.
    pub name: DisplayName,
    /// Optional description.
    pub description: Option<String>,
    /// Who may read it.
    pub visibility: Visibility,
    /// Items it holds (counted when read; ignored when written).
    pub item_count: u32,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A collection as a result names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionRef {
    /// Its id.
    pub id: CollectionId,
    /// Its name.
    pub name: String,
}

/// A paper kept in a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionItem {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its collection.
    pub collection_id: CollectionId,
    /// Its id.
    pub id: CollectionItemId,
    /// The paper's de-duplication keys (`doi:…`, `arxiv:…`, `pmid:…`, …): a paper is held once
    /// per collection, whichever of them it is added by. Read back in lexical order.
    pub keys: Vec<String>,
    /// The paper as a search returned it (the search service's JSON).
    pub record: serde_json::Value,
    /// Tags.
    pub tags: Vec<String>,
    /// A note.
    pub note: Option<String>,
    /// Who added it.
    pub added_by: UserId,
    /// When.
    pub added_at: OffsetDateTime,
    /// Last change of its tags or note.
    pub updated_at: OffsetDateTime,
}

/// Which collections to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionFilter {
    /// Only those this user may read: their own and the tenant-visible ones (`None`: every one).
    pub reader: Option<UserId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_round_trips() {
        for v in [Visibility::Private, Visibility::Tenant] {
            assert_eq!(Visibility::parse(v.as_str()), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert!(Visibility::parse("public").is_err());
    }
}
