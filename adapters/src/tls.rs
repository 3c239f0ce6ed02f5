//! TLS for outbound connections (forwarding, `hookd send`): rustls with the
//! `ring` provider, which must be installed before any HTTP client is built.

/// Installs the process-wide rustls crypto provider; later calls do nothing.
pub fn ensure_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
