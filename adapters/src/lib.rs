//! hookd's adapters: the HTTP API (axum), the store (SeaORM), the JWT
//! verifier, the worker loop and the event handlers.
#![forbid(unsafe_code)]

pub mod auth;
pub mod handlers;
pub mod http;
pub mod observability;
pub mod retention;
pub mod store;
pub mod tls;
pub mod worker;
