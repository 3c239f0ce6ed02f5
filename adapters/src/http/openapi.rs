//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated
//! from the handlers' `#[utoipa::path]` annotations.

use std::sync::OnceLock;

use axum::{http::header, response::IntoResponse};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    destinations, error, events, health, metrics, rejections, replay, sources, stats, webhook,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookd",
        description = "A secure webhook receiver. Every error body is `{\"code\", \"detail\"}`."
    ),
    paths(
        webhook::receive_default,
        webhook::receive_for_source,
        events::list,
        events::show,
        replay::one,
        replay::matching,
        rejections::list,
        sources::list,
        destinations::list,
        stats::show,
        health::healthz,
        health::readyz,
        metrics::render,
        document,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerSchemes)
)]
pub struct ApiDoc;

/// `bearer`: dashboard JWTs (scopes listed per operation); `metrics_token`:
/// the optional static token of `GET /metrics`.
struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |format: Option<&str>| {
            let mut http = HttpBuilder::new().scheme(HttpAuthScheme::Bearer);
            if let Some(format) = format {
                http = http.bearer_format(format);
            }
            SecurityScheme::Http(http.build())
        };
        components.add_security_scheme("bearer", bearer(Some("JWT")));
        components.add_security_scheme("metrics_token", bearer(None));
    }
}

/// The document, rendered once.
pub fn json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|err| format!(r#"{{"error":"{err}"}}"#))
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "probes",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ROUTES;

    /// Every route the router registers (listed in `ROUTES`) is documented.
    #[test]
    fn every_route_is_in_the_document() {
        let document: serde_json::Value = serde_json::from_str(json()).unwrap();
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
        for (method, path) in ROUTES {
            let operation = &document["paths"][path][method.to_lowercase()];
            assert!(operation.is_object(), "{method} {path} is not documented");
            assert!(operation["responses"].is_object(), "{method} {path}");
        }
        let documented: usize = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "the document has routes the router lacks"
        );
    }

    #[test]
    fn dashboard_routes_name_their_scope_and_errors_share_one_schema() {
        let document: serde_json::Value = serde_json::from_str(json()).unwrap();
        let list = &document["paths"]["/events"]["get"];
        assert_eq!(list["security"][0]["bearer"][0], "events:read");
        assert_eq!(
            list["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    }
}
