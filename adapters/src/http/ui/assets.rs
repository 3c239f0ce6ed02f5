//! The dashboard's files, embedded at compile time, and the version (a hash
//! of their contents) that names the directory they are served from.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One embedded file under `adapters/ui/`.
#[derive(Debug)]
pub(super) struct Asset {
    /// Relative to `adapters/ui/`, as in the page's URLs.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! embed {
    ($($path:literal => $content_type:expr),* $(,)?) => {
        [$(Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/", $path)),
        }),*]
    };
}

/// Every file the page loads (a test checks that none under `ui/` is missing).
static ASSETS: [Asset; 14] = embed!(
    "app.css" => "text/css; charset=utf-8",
    "icon.svg" => "image/svg+xml",
    "js/main.js" => JS,
    "js/api.js" => JS,
    "js/dom.js" => JS,
    "js/format.js" => JS,
    "js/chart.js" => JS,
    "js/confirm.js" => JS,
    "js/views/signin.js" => JS,
    "js/views/overview.js" => JS,
    "js/views/events.js" => JS,
    "js/views/event.js" => JS,
    "js/views/rejections.js" => JS,
    "js/views/sources.js" => JS,
);

const INDEX_HTML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/index.html"));
/// Where `index.html` names the assets' directory.
const ASSETS_PLACEHOLDER: &str = "{{assets}}";

pub(super) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The first 16 hex digits of a SHA-256 over every asset's path and bytes:
/// it changes whenever any file does, so assets can be cached forever.
pub(super) fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hasher = Sha256::new();
        for asset in &ASSETS {
            hasher.update(asset.path.as_bytes());
            hasher.update([0]);
            hasher.update((asset.body.len() as u64).to_be_bytes());
            hasher.update(asset.body);
        }
        hasher.finalize()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    })
}

/// `index.html` pointing at this build's assets.
pub(super) fn index_html() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| {
        INDEX_HTML.replace(ASSETS_PLACEHOLDER, &format!("/ui/assets/{}", version()))
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn files_under(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, found);
            } else {
                let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui");
                let relative = path.strip_prefix(&root).unwrap();
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_under_ui_is_embedded() {
        let mut found = Vec::new();
        files_under(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui"),
            &mut found,
        );
        found.retain(|path| path != "index.html");
        found.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        embedded.sort();
        assert_eq!(found, embedded);
    }

    #[test]
    fn the_page_names_this_builds_assets_and_nothing_inline() {
        let page = index_html();
        assert!(!page.contains(ASSETS_PLACEHOLDER));
        assert!(page.contains(&format!("/ui/assets/{}/js/main.js", version())));
        assert!(
            !page.contains("<style"),
            "inline styles are refused by the CSP"
        );
        assert!(
            !page.contains("style="),
            "inline styles are refused by the CSP"
        );
        assert_eq!(version().len(), 16);
        assert!(find("js/main.js").is_some());
        assert!(find("../Cargo.toml").is_none());
    }

    /// The page's scripts build the DOM from API data with text nodes only.
    #[test]
    fn no_script_writes_html() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let source = std::str::from_utf8(asset.body).unwrap();
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!source.contains(sink), "{} uses {sink}", asset.path);
            }
        }
    }
}
