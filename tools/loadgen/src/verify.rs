//! `--verify-db`: after the run, every event id answered `202` must be
//! stored exactly once, and no event id may have been answered `202` twice.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

/// What the database holds of this run's events, against the `202`s.
#[derive(Debug, Default)]
pub struct Verdict {
    pub accepted: usize,
    /// Answered `202` but not stored.
    pub missing: Vec<String>,
    /// Stored more than once.
    pub stored_twice: Vec<String>,
    /// Answered `202` more than once.
    pub accepted_twice: Vec<String>,
    /// Stored without a `202` (e.g. the answer was lost to a timeout): not a
    /// violation, but worth knowing.
    pub stored_without_202: usize,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.stored_twice.is_empty() && self.accepted_twice.is_empty()
    }

    pub fn text(&self) -> String {
        let sample = |ids: &[String]| ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        format!(
            "verify-db: {} accepted; {} missing [{}]; {} stored twice [{}]; {} accepted twice [{}]; {} stored without a 202 => {}",
            self.accepted,
            self.missing.len(),
            sample(&self.missing),
            self.stored_twice.len(),
            sample(&self.stored_twice),
            self.accepted_twice.len(),
            sample(&self.accepted_twice),
            self.stored_without_202,
            if self.ok() { "OK" } else { "FAILED" }
        )
    }
}

/// `url`: a PostgreSQL URL, a `sqlite:` URL, or a path to a SQLite file.
pub async fn verify(
    url: &str,
    source: &str,
    run_id: &str,
    accepted: &[&str],
) -> anyhow::Result<Verdict> {
    let url = if url.contains("://") || url.starts_with("sqlite:") {
        url.to_owned()
    } else {
        format!("sqlite://{url}?mode=ro")
    };
    let db = Database::connect(&url).await?;
    let backend = db.get_database_backend();
    let prefix = format!("evt_{run_id}_");
    let statement = match backend {
        DbBackend::Postgres => Statement::from_sql_and_values(
            backend,
            "SELECT event_id, COUNT(*) FROM events WHERE source = $1 AND starts_with(event_id, $2) GROUP BY event_id",
            [source.into(), prefix.into()],
        ),
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT event_id, COUNT(*) FROM events WHERE source = ? AND substr(event_id, 1, length(?)) = ? GROUP BY event_id",
            [source.into(), prefix.clone().into(), prefix.into()],
        ),
    };
    let rows = db.query_all_raw(statement).await?;
    let mut stored: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for row in rows {
        stored.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
    }
    let mut verdict = Verdict {
        accepted: accepted.len(),
        ..Verdict::default()
    };
    let mut times: HashMap<&str, u32> = HashMap::with_capacity(accepted.len());
    for id in accepted {
        *times.entry(id).or_default() += 1;
    }
    for (id, n) in &times {
        if *n > 1 {
            verdict.accepted_twice.push((*id).to_owned());
        }
        match stored.get(*id) {
            None => verdict.missing.push((*id).to_owned()),
            Some(1) => {}
            Some(_) => verdict.stored_twice.push((*id).to_owned()),
        }
    }
    verdict.stored_without_202 = stored
        .keys()
        .filter(|id| !times.contains_key(id.as_str()))
        .count();
    db.close().await?;
    Ok(verdict)
}
