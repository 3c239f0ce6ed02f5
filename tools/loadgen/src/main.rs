//! `loadgen`: a load generator for hookd that stands in for wrk.
//!
//! Every request is built and signed before the clock starts (a Stripe-like
//! ~1 KiB JSON event; a mix of unique, duplicate and bad-signature
//! requests), then C keep-alive connections send them, one in flight each,
//! for D seconds or N requests. It prints requests/s, latency percentiles
//! and status counts, and with `--verify-db` checks through the database
//! that every `202` is stored exactly once. `--serve-fixed` runs the
//! calibration server instead (a fixed `202`). BENCHMARKS.md has the runs.

mod client;
mod fixed;
mod report;
mod requests;
mod verify;

use std::{
    net::{SocketAddr, ToSocketAddrs},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;

use crate::{
    client::Connection,
    report::{Report, Tally},
    requests::{Kind, Mix, Plan, Shape},
};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Load generator for hookd (pre-signed webhooks, wrk-like)"
)]
struct Args {
    /// Where to send: http://HOST:PORT/PATH (`/webhook` is the source `default`).
    #[arg(long, default_value = "http://127.0.0.1:8000/webhook")]
    url: String,
    /// Keep-alive connections, one request in flight on each.
    #[arg(short, long, default_value_t = 64)]
    connections: usize,
    /// How long to send (e.g. 10s); ignored when --requests is given.
    #[arg(short, long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Send exactly this many requests instead of running for --duration.
    #[arg(short = 'n', long)]
    requests: Option<usize>,
    /// Requests prepared for a --duration run (default: 30,000 per second of
    /// duration); if they run out, they are sent again and reported.
    #[arg(long)]
    pool: Option<usize>,
    /// Percentages, e.g. `unique=90,duplicate=5,bad=5` (unique takes the rest).
    #[arg(long, default_value = "unique=100")]
    mix: String,
    /// The source's HMAC secret (hookd's development default).
    #[arg(long, env = "LOADGEN_SECRET", default_value = "supersecret")]
    secret: String,
    #[arg(long, default_value = "x-signature")]
    signature_header: String,
    /// Size of each JSON body in bytes.
    #[arg(long, default_value_t = 1024)]
    body_bytes: usize,
    /// Runtime threads of the generator (wrk's -t).
    #[arg(short, long, default_value_t = 1)]
    threads: usize,
    /// Seed of the mix; the run id (event id prefix) defaults to the time.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    run_id: Option<String>,
    /// After the run, check every 202 in this database (PostgreSQL URL,
    /// `sqlite:` URL or SQLite file path); exit 1 on a violation.
    #[arg(long)]
    verify_db: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Run the fixed-response calibration server on this address instead.
    #[arg(long, value_name = "ADDR")]
    serve_fixed: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    if let Some(addr) = &args.serve_fixed {
        return runtime.block_on(fixed::serve(addr));
    }
    let code = runtime.block_on(run(args))?;
    std::process::exit(code);
}

struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

fn target(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("only http:// URLs are supported"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = host
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} does not resolve"))?;
    Ok(Target {
        addr,
        host: host.to_owned(),
        path: if path.is_empty() { "/" } else { path }.to_owned(),
    })
}

/// The source hookd files a path under.
fn source_of(path: &str) -> &str {
    path.strip_prefix("/webhooks/").unwrap_or("default")
}

async fn run(args: Args) -> anyhow::Result<i32> {
    let target = target(&args.url)?;
    let mix = Mix::parse(&args.mix)?;
    let run_id = args.run_id.clone().unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("{:x}", now.as_millis())
    });
    let shape = Shape {
        host: target.host.clone(),
        path: target.path.clone(),
        secret: args.secret.as_bytes().to_vec(),
        signature_header: args.signature_header.clone(),
        run_id: run_id.clone(),
        body_bytes: args.body_bytes,
    };
    let count = args.requests.unwrap_or_else(|| {
        args.pool
            .unwrap_or((args.duration.as_secs_f64() * 30_000.0) as usize)
    });
    let plan = Arc::new(requests::build(&shape, mix, count.max(1), args.seed));
    let deadline = args.requests.is_none().then_some(args.duration);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections.max(1) {
        let (plan, next, addr) = (plan.clone(), next.clone(), target.addr);
        tasks.spawn(lane(plan, next, addr, deadline, started));
    }
    let mut tally = Tally::default();
    while let Some(lane) = tasks.join_next().await {
        tally = tally.merge(lane?);
    }
    let elapsed = started.elapsed();
    // Only a timed run sends prepared requests again (a counted one stops,
    // though each connection takes one index past the end to notice).
    let wrapped = if deadline.is_some() {
        next.load(Ordering::Relaxed)
            .saturating_sub(plan.requests.len()) as u64
    } else {
        0
    };
    let report = Report::new(&mut tally, elapsed, wrapped);

    let mut code = 0;
    let verdict = match &args.verify_db {
        Some(url) => {
            let accepted: Vec<&str> = tally
                .accepted_events
                .iter()
                .map(|&i| plan.event_ids[i as usize].as_str())
                .collect();
            let verdict = verify::verify(url, source_of(&target.path), &run_id, &accepted).await?;
            if !verdict.ok() {
                code = 1;
            }
            Some(verdict)
        }
        None => None,
    };
    if args.json {
        let mut json = report.to_json();
        json["connections"] = args.connections.into();
        json["run_id"] = run_id.into();
        if let Some(verdict) = &verdict {
            json["verify_ok"] = verdict.ok().into();
            json["verify"] = verdict.text().into();
        }
        println!("{json}");
    } else {
        println!(
            "{} connections, {} thread(s), run {run_id}, {}-byte bodies, mix {}",
            args.connections, args.threads, args.body_bytes, args.mix
        );
        println!("{}", report.text());
        if let Some(verdict) = &verdict {
            println!("{}", verdict.text());
        }
    }
    Ok(code)
}

/// One connection: takes the next prepared request until the plan or the
/// time is used up. A fixed-count run (`deadline` = None) sends each once.
async fn lane(
    plan: Arc<Plan>,
    next: Arc<AtomicUsize>,
    addr: SocketAddr,
    deadline: Option<Duration>,
    started: Instant,
) -> Tally {
    let mut connection = Connection::new(addr);
    let mut tally = Tally::default();
    let total = plan.requests.len();
    loop {
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if deadline.is_none() && i >= total {
            break;
        }
        let request = &plan.requests[i % total];
        match connection.send(&request.bytes).await {
            Ok(answer) => {
                tally.latencies_us.push(answer.micros);
                *tally.statuses.entry(answer.status).or_default() += 1;
                if answer.status == 202 && request.kind != Kind::BadSignature {
                    tally.accepted_events.push(request.event);
                }
            }
            Err(_) => tally.errors += 1,
        }
    }
    tally
}
