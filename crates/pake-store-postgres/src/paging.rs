//! The one listing block every repository shares: count what the filter matches, then load one
//! page of it in a stable order.

use std::future::Future;
use std::pin::Pin;

use diesel::dsl::{AsSelect, CountStar, Limit, Offset, Order, Select, count_star};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryId;
use diesel::query_dsl::methods::{LimitDsl, OffsetDsl, OrderDsl, SelectDsl};
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pake_domain::{Page, PageRequest};
use pake_ports::RepoError;

use crate::convert::{TxError, count};

/// Page `page` of what `query` (the filtered query, built afresh for each use) matches, ordered
/// by `order`, each row read as `R` and turned into the domain by `into_domain`, with how many
/// rows it matches in all.
///
/// The future is boxed: held inside a transaction's `Send` future, an unboxed one makes rustc
/// prove diesel's query bounds for every lifetime of the boxed query ("implementation of
/// `SelectDsl` is not general enough"); a `dyn Future + Send` is checked here, once.
pub(crate) fn load_page<'c, R, D, Q, O>(
    c: &'c mut AsyncPgConnection,
    query: impl Fn() -> Q + Send + 'c,
    order: O,
    page: PageRequest,
    into_domain: impl Fn(R) -> Result<D, RepoError> + Send + 'c,
) -> Pin<Box<dyn Future<Output = Result<Page<D>, TxError>> + Send + 'c>>
where
    Q: SelectDsl<CountStar> + OrderDsl<O> + Send,
    Select<Q, CountStar>: LoadQuery<'static, AsyncPgConnection, i64> + 'static,
    Order<Q, O>: LimitDsl,
    Limit<Order<Q, O>>: OffsetDsl,
    Offset<Limit<Order<Q, O>>>: SelectDsl<AsSelect<R, Pg>>,
    Select<Offset<Limit<Order<Q, O>>>, AsSelect<R, Pg>>:
        LoadQuery<'static, AsyncPgConnection, R> + 'static,
    O: Expression + Send + 'c,
    D: Send + 'c,
    R: Selectable<Pg> + Send,
    R::SelectExpression: QueryId,
{
    Box::pin(async move {
        let total: i64 = query().select(count_star()).get_result(c).await?;
        let rows: Vec<R> = query()
            .order(order)
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .select(R::as_select())
            .load(c)
            .await?;
        let items = rows
            .into_iter()
            .map(into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: count(total),
        })
    })
}
