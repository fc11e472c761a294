//! Identifiers: UUIDv7 newtypes, one per kind of object, so a user id can never be passed where a
//! tenant id is expected. UUIDv7 ids sort by creation time and reveal no volume (unlike sequences).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Reason, ValidationError};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7).
            #[expect(clippy::new_without_default, reason = "a fresh random id is not a default")]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (for example one read back from a store).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the hyphenated or simple textual form.
            ///
            /// # Errors
            /// [`Reason::InvalidFormat`] when the text is not a UUID.
            pub fn parse(text: &str) -> Result<Self, ValidationError> {
                Uuid::parse_str(text.trim())
                    .map(Self)
                    .map_err(|_| ValidationError::new($field, Reason::InvalidFormat))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// Identifies a tenant (an organisation).
    TenantId,
    "tenant_id"
);
id_type!(
    /// Identifies a user inside its tenant.
    UserId,
    "user_id"
);
id_type!(
    /// Identifies a login session (and its refresh-token family).
    SessionId,
    "session_id"
);
id_type!(
    /// Identifies an audit event.
    AuditEventId,
    "audit_event_id"
);
id_type!(
    /// Identifies one executed search in the history.
    SearchId,
    "search_id"
);
id_type!(
    /// Identifies a saved search.
    SavedSearchId,
    "saved_search_id"
);
id_type!(
    /// Identifies a collection (a shared reading list).
    CollectionId,
    "collection_id"
);
id_type!(
    /// Identifies an item of a collection.
    CollectionItemId,
    "item_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_time_ordered() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a <= b, "UUIDv7 ids sort by creation time");
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string()), Ok(id));
        let err = UserId::parse("not-a-uuid").unwrap_err();
        assert_eq!(err.field, "user_id");
        assert_eq!(err.reason, Reason::InvalidFormat);
    }
}
