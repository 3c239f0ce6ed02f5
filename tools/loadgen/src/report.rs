//! What a run measured: requests per second, latency percentiles and the
//! count of each status.

use std::{collections::BTreeMap, time::Duration};

use serde_json::json;

/// Everything one connection saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies_us: Vec<u32>,
    pub statuses: BTreeMap<u16, u64>,
    pub errors: u64,
    /// Indexes (into the plan's event ids) of the requests answered `202`.
    pub accepted_events: Vec<u32>,
}

impl Tally {
    pub fn merge(mut self, other: Self) -> Self {
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.errors += other.errors;
        self.accepted_events.extend(other.accepted_events);
        self
    }
}

#[derive(Debug)]
pub struct Report {
    pub requests: u64,
    pub elapsed: Duration,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub statuses: BTreeMap<u16, u64>,
    pub errors: u64,
    /// Requests sent again because the prepared pool ran out.
    pub wrapped: u64,
}

impl Report {
    pub fn new(tally: &mut Tally, elapsed: Duration, wrapped: u64) -> Self {
        tally.latencies_us.sort_unstable();
        let lat = &tally.latencies_us;
        let pct = |p: f64| {
            if lat.is_empty() {
                return 0.0;
            }
            let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
            f64::from(lat[i]) / 1000.0
        };
        Self {
            requests: lat.len() as u64,
            elapsed,
            p50_ms: pct(0.50),
            p90_ms: pct(0.90),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
            statuses: tally.statuses.clone(),
            errors: tally.errors,
            wrapped,
        }
    }

    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let statuses: serde_json::Map<_, _> = self
            .statuses
            .iter()
            .map(|(status, n)| (status.to_string(), json!(n)))
            .collect();
        json!({
            "requests": self.requests,
            "seconds": self.elapsed.as_secs_f64(),
            "rps": self.rate(),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "statuses": statuses,
            "errors": self.errors,
            "wrapped": self.wrapped,
        })
    }

    pub fn text(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect();
        format!(
            "{} requests in {:.2} s: {:.0} requests/s\nlatency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms\nstatuses {}; connection errors {}{}",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            statuses.join(", "),
            self.errors,
            if self.wrapped > 0 {
                format!(
                    "\nWARNING: the prepared pool ran out; {} requests were sent again (as duplicates): raise --pool",
                    self.wrapped
                )
            } else {
                String::new()
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut tally = Tally {
            latencies_us: (1..=100).rev().map(|ms| ms * 1000).collect(),
            ..Tally::default()
        };
        let report = Report::new(&mut tally, Duration::from_secs(2), 0);
        assert_eq!(report.p50_ms, 50.0);
        assert_eq!(report.p99_ms, 99.0);
        assert_eq!(report.max_ms, 100.0);
        assert_eq!(report.rate(), 50.0);
    }
}
