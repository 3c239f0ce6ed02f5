//! `ApiJson` and `ApiQuery`: axum's `Json` and `Query` whose rejections are
//! [`ApiError`], so a bad body or query gets the one error shape without
//! any handler mapping rejections itself.

use axum::extract::{FromRequest, FromRequestParts};

use super::error::ApiError;

/// A JSON request body; refusals as [`ApiError`] (400, 413, 415, 422).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string; refusals as [`ApiError::InvalidQuery`] (400).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
