//! `SigningKeyStore` on PostgreSQL: the platform table `signing_keys`, read and written only on
//! the platform path.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pake_ports::{RepoError, SigningKeyStore, StoredSigningKey};
use time::OffsetDateTime;

use crate::schema::signing_keys;
use crate::{PgStore, platform_tx};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys, check_for_backend(diesel::pg::Pg))]
struct KeyRow {
    kid: String,
    public_key: Vec<u8>,
    sealed_key: Vec<u8>,
    created_at: OffsetDateTime,
    activates_at: OffsetDateTime,
}

impl From<&StoredSigningKey> for KeyRow {
    fn from(k: &StoredSigningKey) -> Self {
        Self {
            kid: k.kid.clone(),
            public_key: k.public_key.clone(),
            sealed_key: k.sealed_key.clone(),
            created_at: k.created_at,
            activates_at: k.activates_at,
        }
    }
}

#[async_trait]
impl SigningKeyStore for PgStore {
    async fn list_signing_keys(&self) -> Result<Vec<StoredSigningKey>, RepoError> {
        platform_tx!(self, |c| {
            let rows: Vec<KeyRow> = signing_keys::table
                .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
                .select(KeyRow::as_select())
                .load(c)
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| StoredSigningKey {
                    kid: r.kid,
                    public_key: r.public_key,
                    sealed_key: r.sealed_key,
                    created_at: r.created_at,
                    activates_at: r.activates_at,
                })
                .collect())
        })
    }

    async fn add_first_signing_key(&self, key: &StoredSigningKey) -> Result<bool, RepoError> {
        let row = KeyRow::from(key);
        platform_tx!(self, |c| {
            // One replica at a time past this point, until the transaction ends.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('pake.signing_keys'))")
                .execute(c)
                .await?;
            let n: i64 = signing_keys::table.count().get_result(c).await?;
            if n > 0 {
                return Ok(false);
            }
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(true)
        })
    }

    async fn add_signing_key(&self, key: &StoredSigningKey) -> Result<(), RepoError> {
        let row = KeyRow::from(key);
        platform_tx!(self, |c| {
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
    }
}
