//! The configuration loader: a random TOML file through `Settings::load`
//! (defaults, the file, validation) and, when it loads, the sources built
//! from it (`sources::from_settings`: schemes, secrets, envelopes). Any
//! input may be refused with an error; none may panic.
#![no_main]

use std::io::Write as _;

use bootstrap::{Settings, sources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The loader reads a path, as hookd does with `--config`.
    let mut file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("a temporary file");
    file.write_all(data).expect("written");
    file.flush().expect("flushed");
    if let Ok(settings) = Settings::load(Some(file.path())) {
        let _ = sources::from_settings(&settings);
        // A loaded configuration keeps its own rules.
        settings
            .validate()
            .expect("loaded settings that do not validate");
    }
});
