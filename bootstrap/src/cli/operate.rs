//! `hookd events …` and `hookd stats`: the dashboard API from a terminal,
//! against a running instance, as readable tables or `--json`.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::Value;

/// Where the instance is and how to authenticate.
#[derive(Debug, Args)]
pub struct Remote {
    /// The instance's base URL (http:// only).
    #[arg(
        long,
        env = "HOOKD_URL",
        default_value = "http://localhost:8000",
        global = true
    )]
    url: String,
    /// A dashboard token (see `hookd token`).
    #[arg(long, env = "HOOKD_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one event with its payload and attempts.
    Show { id: String },
    /// Re-queue one event, or every event matching --status/--source.
    Replay {
        /// The event's id; without it, --status or --source selects events.
        #[arg(required_unless_present_any = ["status", "source"])]
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        status: Option<String>,
        #[arg(long, conflicts_with = "id")]
        source: Option<String>,
    },
}

/// # Errors
/// When the instance cannot be reached or answers with an error.
pub async fn events(remote: &Remote, command: EventsCommand) -> anyhow::Result<String> {
    match command {
        EventsCommand::List {
            status,
            source,
            limit,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(status.map(|s| ("status", s)));
            query.extend(source.map(|s| ("source", s)));
            let page = call(remote, reqwest::Method::GET, "/events", &query, None).await?;
            Ok(render(remote, &page, event_table))
        }
        EventsCommand::Show { id } => {
            let event = call(
                remote,
                reqwest::Method::GET,
                &format!("/events/{id}"),
                &[],
                None,
            )
            .await?;
            Ok(render(remote, &event, event_detail))
        }
        EventsCommand::Replay { id: Some(id), .. } => {
            let path = format!("/events/{id}/replay");
            let answer = call(remote, reqwest::Method::POST, &path, &[], None).await?;
            Ok(render(remote, &answer, |_| format!("re-queued {id}")))
        }
        EventsCommand::Replay { status, source, .. } => {
            let filter = serde_json::json!({ "status": status, "source": source });
            let answer = call(
                remote,
                reqwest::Method::POST,
                "/events/replay",
                &[],
                Some(filter),
            )
            .await?;
            Ok(render(remote, &answer, |v| {
                format!("re-queued {}", v["requeued"])
            }))
        }
    }
}

/// # Errors
/// When the instance cannot be reached or answers with an error.
pub async fn stats(remote: &Remote) -> anyhow::Result<String> {
    let stats = call(remote, reqwest::Method::GET, "/stats", &[], None).await?;
    Ok(render(remote, &stats, stats_table))
}

async fn call(
    remote: &Remote,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, String)],
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let base = format!("{}{path}", remote.url.trim_end_matches('/'));
    let mut url = reqwest::Url::parse(&base).with_context(|| format!("--url: {base}"))?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (key, value) in query {
            pairs.append_pair(key, value);
        }
    }
    let token = remote
        .token
        .as_deref()
        .context("a dashboard token is required: --token or HOOKD_TOKEN")?;
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {base}"))?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status.is_success(),
        "{status}: {} ({})",
        value["code"].as_str().unwrap_or("?"),
        value["detail"].as_str().unwrap_or("no detail")
    );
    Ok(value)
}

fn render(remote: &Remote, value: &Value, table: impl Fn(&Value) -> String) -> String {
    if remote.json {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        table(value)
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Left-aligned columns, as wide as their widest cell.
fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    std::iter::once(line(header.to_vec()))
        .chain(
            rows.iter()
                .map(|row| line(row.iter().map(String::as_str).collect())),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn event_table(page: &Value) -> String {
    let fields = [
        "id",
        "source",
        "event_id",
        "type",
        "status",
        "attempts",
        "received_at",
    ];
    let rows: Vec<Vec<String>> = page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| fields.iter().map(|f| text(&item[f])).collect())
                .collect()
        })
        .unwrap_or_default();
    let mut out = columns(
        &fields.map(str::to_uppercase).each_ref().map(String::as_str),
        &rows,
    );
    if let Some(cursor) = page["next_cursor"].as_str() {
        out.push_str(&format!("\nmore: --cursor {cursor} (use --json to page)"));
    }
    out
}

fn event_detail(event: &Value) -> String {
    let fields = [
        "id",
        "source",
        "event_id",
        "type",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "last_error",
        "secret_label",
        "conflict",
        "content_type",
        "payload_sha256",
    ];
    let mut lines: Vec<String> = fields
        .iter()
        .map(|f| format!("{f:<15}{}", text(&event[f])))
        .collect();
    let payload = event.get("payload").or_else(|| event.get("payload_base64"));
    lines.push(format!(
        "{:<15}{}",
        "payload",
        payload.map_or("-".to_owned(), text)
    ));
    let history: Vec<Vec<String>> = event["history"]
        .as_array()
        .map(|attempts| {
            attempts
                .iter()
                .map(|a| {
                    ["attempt", "outcome", "started_at", "worker", "error"]
                        .iter()
                        .map(|f| text(&a[f]))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    if !history.is_empty() {
        lines.push(String::new());
        lines.push(columns(
            &["ATTEMPT", "OUTCOME", "STARTED_AT", "WORKER", "ERROR"],
            &history,
        ));
    }
    lines.join("\n")
}

fn stats_table(stats: &Value) -> String {
    let counts = |key: &str| -> Vec<Vec<String>> {
        stats[key]
            .as_object()
            .map(|map| map.iter().map(|(k, v)| vec![k.clone(), text(v)]).collect())
            .unwrap_or_default()
    };
    let last_hour: u64 = stats["per_minute"]
        .as_array()
        .map(|minutes| minutes.iter().filter_map(|m| m["events"].as_u64()).sum())
        .unwrap_or(0);
    [
        format!("queue depth         {}", text(&stats["queue_depth"])),
        format!(
            "oldest pending age  {} s",
            text(&stats["oldest_pending_age_seconds"])
        ),
        format!("dead                {}", text(&stats["dead"])),
        format!("last hour           {last_hour} events"),
        String::new(),
        columns(&["STATUS", "EVENTS"], &counts("by_status")),
        String::new(),
        columns(&["SOURCE", "EVENTS"], &counts("by_source")),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_show_nulls_as_dashes() {
        let page = serde_json::json!({"items": [
            {"id": "a", "source": "default", "event_id": "evt_1", "type": null,
             "status": "pending", "attempts": 0, "received_at": "t"}],
            "next_cursor": null});
        let table = event_table(&page);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID  SOURCE   EVENT_ID  TYPE  STATUS"));
        assert!(lines[1].starts_with("a   default  evt_1     -     pending"));
    }
}
