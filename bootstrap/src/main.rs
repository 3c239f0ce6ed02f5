//! `hookd`: see `hookd --help`.
#![forbid(unsafe_code)]

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = bootstrap::cli::Cli::parse();
    match bootstrap::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hookd: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
