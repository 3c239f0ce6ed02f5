//! Signing requests the way a sender does.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The default source's secret in development settings.
pub const SECRET: &str = "supersecret";

/// Hex HMAC-SHA256 of `body` with [`SECRET`], as `openssl dgst -hmac` prints it.
pub fn sign(body: &str) -> String {
    sign_with(SECRET.as_bytes(), body.as_bytes())
}

pub fn sign_with(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
