//! `hookd healthcheck`: one `GET /healthz` of the local instance, for
//! container health checks, so that the runtime image needs no curl. Exits 0
//! on `200 OK`, non-zero on anything else (refused, timed out, another status).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::Path,
    time::Duration,
};

use anyhow::Context as _;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Healthcheck {
    /// The URL to check. Default: http://127.0.0.1:<server.bind port>/healthz,
    /// from the same configuration `hookd serve` reads.
    #[arg(long)]
    pub url: Option<String>,
    /// Give up after this long (connect and answer together).
    #[arg(long, default_value = "2s")]
    pub timeout: humantime::Duration,
}

/// # Errors
/// The configuration does not load, or the check fails.
pub async fn run(args: &Healthcheck, config: Option<&Path>) -> anyhow::Result<()> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => local_url(Settings::load(config)?.server.bind),
    };
    check(&url, args.timeout.into()).await
}

/// `http://<bind>/healthz`, through the loopback address when the server
/// binds every interface (`0.0.0.0` or `::`).
pub(crate) fn local_url(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/healthz", SocketAddr::new(ip, bind.port()))
}

async fn check(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        // A health check asks this one address, never where it redirects.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    anyhow::ensure!(status == reqwest::StatusCode::OK, "GET {url}: {status}");
    println!("ok");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::local_url;

    #[test]
    fn an_unspecified_bind_address_is_checked_through_loopback() {
        assert_eq!(
            local_url("0.0.0.0:8000".parse().unwrap()),
            "http://127.0.0.1:8000/healthz"
        );
        assert_eq!(
            local_url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000/healthz"
        );
        assert_eq!(
            local_url("10.1.2.3:8000".parse().unwrap()),
            "http://10.1.2.3:8000/healthz"
        );
    }
}
