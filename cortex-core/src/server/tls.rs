//! TLS with rustls (ring provider) and ALPN, so browsers and clients negotiate HTTP/2 or 1.1.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::TlsConfig;

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

/// What went wrong reading a PEM file, in words.
fn describe(error: &pem::Error) -> String {
    match error {
        pem::Error::Io(e) => e.to_string(),
        pem::Error::NoItemsFound => "no PEM section of the expected kind in it".to_string(),
        // Never the offending line: a key file's lines are secret.
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".to_string(),
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64".to_string(),
        _ => "it is not valid PEM".to_string(),
    }
}

impl TlsConfig {
    /// A TLS acceptor for this certificate and key, offering `h2` (when `http2`) and `http/1.1`
    /// by ALPN. Errors name the file and the `[server]` key it came from.
    pub(crate) fn acceptor(&self, http2: bool) -> std::io::Result<TlsAcceptor> {
        let certs = read_certs(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| {
            invalid(format!(
                "cannot read the TLS private key {} (`server.tls.key`): {}; hint: point it at a PEM file with a `-----BEGIN PRIVATE KEY-----` (or RSA/EC) section",
                self.key.display(),
                describe(&e)
            ))
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                invalid(format!(
                    "the TLS certificate {} and key {} cannot be used together: {e}; hint: check that the key belongs to the certificate",
                    self.cert.display(),
                    self.key.display()
                ))
            })?;
        config.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read_certs(path: &Path) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let bad = |problem: String| {
        invalid(format!(
            "cannot read the TLS certificate {} (`server.tls.cert`): {problem}; hint: point it at a PEM file with `-----BEGIN CERTIFICATE-----` sections, leaf first",
            path.display()
        ))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(describe(&e)))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(describe(&e)))?;
    if certs.is_empty() {
        return Err(bad("it holds no certificate".into()));
    }
    Ok(certs)
}
