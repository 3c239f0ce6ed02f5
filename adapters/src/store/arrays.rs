//! PostgreSQL array parameters, one per column, for `UNNEST`-based statements
//! whose text stays the same whatever the batch size.

use sea_orm::sea_query::{ArrayType, Value};

/// One array parameter: `f` applied to every row.
pub(crate) fn column<R, T>(rows: &[R], f: impl Fn(&R) -> T) -> Value
where
    Vec<T>: Into<Value>,
{
    rows.iter().map(f).collect::<Vec<_>>().into()
}

/// A `text[]` of optional values: arrays here cannot carry NULL elements, so
/// an absent value is `''`, turned back into NULL by `NULLIF(x, '')` in SQL.
pub(crate) fn optional_text<R>(rows: &[R], f: impl Fn(&R) -> Option<&str>) -> Value {
    column(rows, |row| f(row).unwrap_or_default().to_owned())
}

/// A `bytea[]` (`Vec<u8>` converts to a single `bytea`, not an array).
pub(crate) fn bytes<R>(rows: &[R], f: impl Fn(&R) -> Vec<u8>) -> Value {
    Value::Array(
        ArrayType::Bytes,
        Some(Box::new(
            rows.iter().map(|row| Value::Bytes(Some(f(row)))).collect(),
        )),
    )
}
