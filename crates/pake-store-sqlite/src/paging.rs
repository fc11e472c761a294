//! The one listing block every repository shares: count what the filter matches, then load one
//! page of it in a stable order.

use diesel::dsl::{AsSelect, CountStar, Limit, Offset, Order, Select, count_star};
use diesel::prelude::*;
use diesel::query_builder::QueryId;
use diesel::query_dsl::LoadQuery;
use diesel::query_dsl::methods::{LimitDsl, OffsetDsl, OrderDsl, SelectDsl};
use diesel::sqlite::{Sqlite, SqliteConnection};
use pake_domain::{Page, PageRequest};
use pake_ports::RepoError;

use crate::convert::{TxError, count};

/// Page `page` of what `query` (the filtered query, built afresh for each use) matches, ordered
/// by `order`, each row read as `R` and turned into the domain by `into_domain`, with how many
/// rows it matches in all.
pub(crate) fn load_page<'q, R, D, Q, O>(
    c: &mut SqliteConnection,
    query: impl Fn() -> Q,
    order: O,
    page: PageRequest,
    into_domain: impl Fn(R) -> Result<D, RepoError>,
) -> Result<Page<D>, TxError>
where
    Q: SelectDsl<CountStar> + OrderDsl<O>,
    Select<Q, CountStar>: LoadQuery<'q, SqliteConnection, i64>,
    Order<Q, O>: LimitDsl,
    Limit<Order<Q, O>>: OffsetDsl,
    Offset<Limit<Order<Q, O>>>: SelectDsl<AsSelect<R, Sqlite>>,
    Select<Offset<Limit<Order<Q, O>>>, AsSelect<R, Sqlite>>: LoadQuery<'q, SqliteConnection, R>,
    O: Expression,
    R: Selectable<Sqlite>,
    R::SelectExpression: QueryId,
{
    let total: i64 = query().select(count_star()).get_result(c)?;
    let rows = query()
        .order(order)
        .limit(i64::from(page.limit()))
        .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .select(R::as_select())
        .load(c)?;
    let items = rows
        .into_iter()
        .map(into_domain)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total: count(total),
    })
}
