//! The `hookd` binary's library half: configuration, wiring, CLI.
//!
//! `main` and the integration tests share [`startup::build`].
#![forbid(unsafe_code)]

pub mod cli;
pub mod dev_secret;
pub mod serve;
pub mod settings;
pub mod sources;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::{Application, Overrides, build, build_with};

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
