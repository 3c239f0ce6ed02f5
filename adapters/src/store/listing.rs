//! The statement behind `GET /events`: one page of events, newest first.
//!
//! A page restricted to a source (or to a token's few sources) is read from
//! `events_page_by_source (source, status, id)`, one range per source and
//! status, each newest first and as long as the page, merged:
//! `SELECT * FROM (range) UNION ALL … ORDER BY id DESC LIMIT n`. Walking the
//! primary key back instead passes every newer event of other sources (1.1 s
//! for `?source=github` under 80,000 newer events of another source, on ten
//! million). The statuses are a fixed set and every event is in exactly one
//! range, so the merge shows each event once.

use application::ports::{Cursor, EventFilter};
use domain::EventStatus;
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Alias, Order, Query, SelectStatement, UnionType},
};

use super::{entity::events, query::SUMMARY_COLUMNS, time::to_micros};

/// The most ranges one page is read from (five statuses of four sources);
/// past that, one query over the primary key.
const MAX_RANGES: usize = 20;

/// The page of events matching `filter`, older than `after`, newest first.
pub(super) fn statement(
    filter: &EventFilter,
    after: Option<Cursor>,
    limit: u32,
) -> SelectStatement {
    match ranges(filter) {
        Some(ranges) if ranges.len() == 1 => range(filter, ranges[0], after, limit),
        Some(ranges) => merged(
            ranges
                .into_iter()
                .map(|one| range(filter, one, after, limit))
                .collect(),
            limit,
        ),
        None => plain(filter, after, limit),
    }
}

/// The `(source, status)` ranges that hold every event the page can show,
/// or `None` for the plain query.
fn ranges(filter: &EventFilter) -> Option<Vec<(&str, EventStatus)>> {
    // At most one event per (source, event id): the unique index finds it.
    if filter.event_id.is_some() {
        return None;
    }
    let mut sources: Vec<&str> = match (&filter.source, &filter.only_sources) {
        (Some(source), _) => vec![source.as_str()],
        (None, Some(only)) => only.iter().map(String::as_str).collect(),
        // Every source: the newest events are the page.
        (None, None) => return None,
    };
    // An event must be in one range only.
    sources.sort_unstable();
    sources.dedup();
    let statuses = filter
        .status
        .map_or_else(|| EventStatus::ALL.to_vec(), |status| vec![status]);
    let count = sources.len() * statuses.len();
    if count == 0 || count > MAX_RANGES {
        return None;
    }
    Some(
        sources
            .into_iter()
            .flat_map(|source| statuses.iter().map(move |status| (source, *status)))
            .collect(),
    )
}

/// One source's events in one status, newest first.
///
/// The status is written as a range (`status >= ? AND status <= ?`, the same
/// rows as `=`) and leads the order: with `status = ?` both databases may
/// walk the primary key instead, which they cost as if a source's events
/// were spread evenly over it; they are not when another source sent the
/// newest ones. Ordered by status first, only this index gives the order.
fn range(
    filter: &EventFilter,
    (source, status): (&str, EventStatus),
    after: Option<Cursor>,
    limit: u32,
) -> SelectStatement {
    let select = events::Entity::find()
        .select_only()
        .columns(SUMMARY_COLUMNS)
        .filter(events::Column::Source.eq(source))
        .filter(events::Column::Status.gte(status.as_str()))
        .filter(events::Column::Status.lte(status.as_str()))
        .order_by_desc(events::Column::Status)
        .order_by_desc(events::Column::Id)
        .limit(u64::from(limit));
    filtered(select, filter, after).into_query()
}

/// All the ranges' rows, newest first; each range gives at most `limit`.
fn merged(ranges: Vec<SelectStatement>, limit: u32) -> SelectStatement {
    let mut arms = ranges.into_iter().enumerate().map(|(n, range)| {
        Query::select()
            .columns(SUMMARY_COLUMNS)
            .from_subquery(range, Alias::new(format!("range{n}")))
            .to_owned()
    });
    let mut select = arms.next().unwrap_or_else(Query::select);
    for arm in arms {
        select.union(UnionType::All, arm);
    }
    select
        .order_by(events::Column::Id, Order::Desc)
        .limit(u64::from(limit))
        .to_owned()
}

/// The filter as it is, newest first along the primary key.
fn plain(filter: &EventFilter, after: Option<Cursor>, limit: u32) -> SelectStatement {
    let mut select = events::Entity::find()
        .select_only()
        .columns(SUMMARY_COLUMNS)
        // Keys are UUIDv7: newest first is key order, and the key is a
        // stable keyset cursor that new arrivals never shift.
        .order_by_desc(events::Column::Id)
        .limit(u64::from(limit));
    if let Some(status) = filter.status {
        select = select.filter(events::Column::Status.eq(status.as_str()));
    }
    if let Some(source) = &filter.source {
        select = select.filter(events::Column::Source.eq(source.as_str()));
    }
    filtered(select, filter, after).into_query()
}

/// The rest of the filter, and the cursor.
fn filtered(
    mut select: Select<events::Entity>,
    filter: &EventFilter,
    after: Option<Cursor>,
) -> Select<events::Entity> {
    if let Some(only) = &filter.only_sources {
        select = select.filter(events::Column::Source.is_in(only.iter().map(String::as_str)));
    }
    if let Some(event_type) = &filter.event_type {
        select = select.filter(events::Column::EventType.eq(event_type.as_str()));
    }
    if let Some(event_id) = &filter.event_id {
        select = select.filter(events::Column::EventId.eq(event_id.as_str()));
    }
    if let Some(at) = filter.received_after {
        select = select.filter(events::Column::ReceivedAt.gte(to_micros(at)));
    }
    if let Some(at) = filter.received_before {
        select = select.filter(events::Column::ReceivedAt.lt(to_micros(at)));
    }
    if let Some(Cursor(key)) = after {
        select = select.filter(events::Column::Id.lt(key.as_uuid()));
    }
    select
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(sources: &[&str]) -> EventFilter {
        EventFilter {
            only_sources: Some(sources.iter().map(|&s| s.to_owned()).collect()),
            ..EventFilter::default()
        }
    }

    #[test]
    fn a_source_alone_is_read_in_each_status() {
        let filter = EventFilter {
            source: Some("github".to_owned()),
            ..EventFilter::default()
        };
        let ranges = ranges(&filter).unwrap();
        assert_eq!(ranges.len(), EventStatus::ALL.len());
        assert!(ranges.iter().all(|(source, _)| *source == "github"));
    }

    #[test]
    fn a_source_and_a_status_are_one_range() {
        let filter = EventFilter {
            source: Some("github".to_owned()),
            status: Some(EventStatus::Dead),
            ..EventFilter::default()
        };
        assert_eq!(ranges(&filter), Some(vec![("github", EventStatus::Dead)]));
    }

    #[test]
    fn a_token_s_sources_are_each_read_once() {
        let filter = only(&["b", "a", "b"]);
        let ranges = ranges(&filter).unwrap();
        assert_eq!(ranges.len(), 2 * EventStatus::ALL.len());
        assert_eq!(
            ranges.iter().filter(|(source, _)| *source == "b").count(),
            5
        );
    }

    #[test]
    fn the_plain_query_serves_the_rest() {
        // Every source.
        assert_eq!(ranges(&EventFilter::default()), None);
        // One event id.
        let filter = EventFilter {
            source: Some("github".to_owned()),
            event_id: Some("evt_1".to_owned()),
            ..EventFilter::default()
        };
        assert_eq!(ranges(&filter), None);
        // Too many ranges, or none.
        assert_eq!(ranges(&only(&["a", "b", "c", "d", "e"])), None);
        assert_eq!(ranges(&only(&[])), None);
        let filter = EventFilter {
            status: Some(EventStatus::Pending),
            ..only(&["a", "b", "c", "d", "e"])
        };
        assert_eq!(ranges(&filter).map(|r| r.len()), Some(5));
    }
}
