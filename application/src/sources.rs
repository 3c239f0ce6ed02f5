//! What is configured per source and how much each secret is used, so an
//! operator can see when an old secret stops verifying anything and retire it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::Source;

use crate::ports::{Clock, QueryError, SecretUsage};

/// One source, without its secrets' values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    pub name: String,
    pub scheme: &'static str,
    /// Stored events whose id was later replayed with another body.
    pub conflicts: u64,
    /// The configured secrets in order, then labels found only in stored events.
    pub secrets: Vec<SecretReport>,
}

/// One secret label's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReport {
    /// `None` for events stored before labels were recorded.
    pub label: Option<String>,
    /// Whether the label is still in the configuration.
    pub configured: bool,
    pub not_after: Option<DateTime<Utc>>,
    pub expired: bool,
    pub events: u64,
    pub last_received_at: Option<DateTime<Utc>>,
}

pub struct SourceOverview {
    sources: Vec<Source>,
    usage: Arc<dyn SecretUsage>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SourceOverview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceOverview").finish_non_exhaustive()
    }
}

impl SourceOverview {
    pub fn new(
        sources: impl IntoIterator<Item = Source>,
        usage: Arc<dyn SecretUsage>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut sources: Vec<Source> = sources.into_iter().collect();
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            sources,
            usage,
            clock,
        }
    }

    /// Every configured source with its secrets' labels and use.
    ///
    /// # Errors
    /// [`QueryError`] from the store.
    #[tracing::instrument(skip(self))]
    pub async fn report(&self) -> Result<Vec<SourceReport>, QueryError> {
        let usage = self.usage.usage().await?;
        let now = self.clock.now();
        Ok(self
            .sources
            .iter()
            .map(|source| {
                let name = source.name.as_str();
                let used: Vec<_> = usage.iter().filter(|u| u.source == name).collect();
                let use_of =
                    |label: Option<&str>| used.iter().find(|u| u.label.as_deref() == label);
                let mut secrets: Vec<SecretReport> = source
                    .secrets
                    .iter()
                    .map(|secret| {
                        let found = use_of(Some(secret.label()));
                        SecretReport {
                            label: Some(secret.label().to_owned()),
                            configured: true,
                            not_after: secret.not_after(),
                            expired: !secret.is_valid_at(now),
                            events: found.map_or(0, |u| u.events),
                            last_received_at: found.map(|u| u.last_received_at),
                        }
                    })
                    .collect();
                let retired = used.iter().filter(|u| {
                    u.label
                        .as_deref()
                        .is_none_or(|label| source.secrets.iter().all(|s| s.label() != label))
                });
                secrets.extend(retired.map(|u| SecretReport {
                    label: u.label.clone(),
                    configured: false,
                    not_after: None,
                    expired: false,
                    events: u.events,
                    last_received_at: Some(u.last_received_at),
                }));
                SourceReport {
                    name: name.to_owned(),
                    scheme: source.scheme.name(),
                    conflicts: used.iter().map(|u| u.conflicts).sum(),
                    secrets,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use domain::{SignatureScheme, SigningSecret, SourceName};

    use super::*;
    use crate::ports::{MockClock, MockSecretUsage, SecretUse};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[tokio::test]
    async fn each_label_is_reported_with_its_use_and_retired_labels_are_listed() {
        let source = Source::new(
            SourceName::parse("stripe").unwrap(),
            SignatureScheme::Github,
            vec![
                SigningSecret::new("a", "old").with_not_after(at(100)),
                SigningSecret::new("b", "new"),
            ],
        );
        let mut usage = MockSecretUsage::new();
        usage.expect_usage().returning(|| {
            Ok(vec![
                SecretUse {
                    source: "stripe".into(),
                    label: Some("old".into()),
                    events: 3,
                    conflicts: 1,
                    last_received_at: at(50),
                },
                SecretUse {
                    source: "stripe".into(),
                    label: Some("gone".into()),
                    events: 2,
                    conflicts: 0,
                    last_received_at: at(10),
                },
                SecretUse {
                    source: "other".into(),
                    label: Some("new".into()),
                    events: 9,
                    conflicts: 0,
                    last_received_at: at(10),
                },
            ])
        });
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(200));
        let overview = SourceOverview::new([source], Arc::new(usage), Arc::new(clock));

        let report = overview.report().await.unwrap();
        assert_eq!(report.len(), 1);
        let stripe = &report[0];
        assert_eq!((stripe.scheme, stripe.conflicts), ("github", 1));
        let summary: Vec<_> = stripe
            .secrets
            .iter()
            .map(|s| (s.label.as_deref(), s.configured, s.expired, s.events))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("old"), true, true, 3),
                (Some("new"), true, false, 0),
                (Some("gone"), false, false, 2),
            ]
        );
    }
}
