//! TLS with rustls (ring provider) and ALPN, so browsers and clients negotiate HTTP/2 or 1.1.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// Where the certificate chain and private key are (PEM files).
///
/// ```no_run
/// use cortex_core::server::{ServeOptions, TlsConfig};
/// let options = ServeOptions {
///     tls: Some(TlsConfig { cert: "certs/server.pem".into(), key: "certs/server.key".into() }),
///     ..ServeOptions::default()
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

impl TlsConfig {
    pub(crate) fn acceptor(&self, http2: bool) -> std::io::Result<TlsAcceptor> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| invalid(format!("TLS certificate {}: {e}", self.cert.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("TLS certificate {}: {e}", self.cert.display())))?;
        if certs.is_empty() {
            return Err(invalid(format!(
                "TLS certificate {}: no PEM certificate found; hint: the file must contain `-----BEGIN CERTIFICATE-----`",
                self.cert.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| invalid(format!("TLS private key {}: {e}", self.key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(format!("TLS certificate {} and key {} do not match: {e}", self.cert.display(), self.key.display())))?;
        config.alpn_protocols = if http2 { vec![b"h2".to_vec(), b"http/1.1".to_vec()] } else { vec![b"http/1.1".to_vec()] };
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
