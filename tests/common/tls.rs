//! rustls' crypto provider for the tests' own reqwest clients.

/// Installs ring as rustls' process-wide crypto provider, unless one is
/// installed already: reqwest is built without a default (aws-lc would need
/// cmake). (The library does the same for its own clients.)
pub fn install_crypto_provider() {
    // Deprecated from rustls 0.23.48 (no post-quantum key exchange in ring);
    // ring is kept for its build cost (no cmake).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}
