//! The dashboard: a static page (HTML, CSS, ES modules) embedded in the
//! binary and served under `/ui/`. It talks to the public JSON API only, with
//! the bearer token the operator pastes in, so it needs no state of its own.
//!
//! Every response carries a strict Content-Security-Policy: scripts and
//! styles from this origin only (nothing inline), no framing. Assets live
//! under a content-hashed path and are cached for a year; the page itself
//! is `no-cache`, so a new binary's assets are picked up at once.

mod assets;

use axum::{
    Router,
    extract::Path,
    http::{HeaderName, HeaderValue, header},
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use super::error::ApiError;

/// The dashboard's routes as (method, path template), for the metrics'
/// `route` label. They are not part of the API, hence not in `ROUTES`.
pub const ROUTES: [(&str, &str); 8] = [
    ("GET", "/"),
    ("GET", "/ui"),
    ("GET", "/ui/"),
    ("GET", "/ui/events"),
    ("GET", "/ui/events/{id}"),
    ("GET", "/ui/rejections"),
    ("GET", "/ui/sources"),
    ("GET", "/ui/assets/{version}/{*file}"),
];

/// Nothing runs but this origin's files; no inline script or style, no
/// plugins, no framing, no `<base>` tricks, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The dashboard's routes, for any router state (its handlers need none).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(to_dashboard))
        .route("/ui", get(to_dashboard))
        // The page's own views: a reload or a shared link lands on the page,
        // which then reads the path and query itself.
        .route("/ui/", get(page))
        .route("/ui/events", get(page))
        .route("/ui/events/{id}", get(page))
        .route("/ui/rejections", get(page))
        .route("/ui/sources", get(page))
        .route("/ui/assets/{version}/{*file}", get(asset))
        .layer(middleware::map_response(security_headers))
}

async fn to_dashboard() -> Redirect {
    Redirect::temporary("/ui/")
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        assets::index_html(),
    )
        .into_response()
}

async fn asset(Path((version, file)): Path<(String, String)>) -> Result<Response, ApiError> {
    // An old page asking for another build's file gets 404, not this build's
    // file cached for a year under the old name.
    if version != assets::version() {
        return Err(ApiError::NotFound("no such dashboard asset"));
    }
    let asset = assets::find(&file).ok_or(ApiError::NotFound("no such dashboard asset"))?;
    Ok((
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        asset.body,
    )
        .into_response())
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // For browsers older than `frame-ancestors`.
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_nothing_inline_and_no_framing() {
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        HeaderValue::from_static(CONTENT_SECURITY_POLICY);
    }
}
