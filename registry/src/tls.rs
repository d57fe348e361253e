//! HTTPS with rustls: the certificate chain and key from PEM files, re-read on SIGHUP, and a
//! listener that completes TLS handshakes off the accept loop (a slow or silent client cannot
//! hold up the others; each handshake has [`HANDSHAKE_TIMEOUT`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// Longest a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("could not read {what} from {path}: {message}")]
    Pem {
        /// "the certificate chain" or "the private key".
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
    /// rustls refused the key or the configuration.
    #[error("the TLS certificate and key cannot be used: {0}")]
    Rustls(String),
}

/// The certificate in force, swapped on reload.
#[derive(Debug)]
pub struct CertificateStore {
    cert: PathBuf,
    key: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let pem_error = |what, path: &Path, message: String| TlsError::Pem {
        what,
        path: path.display().to_string(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error("the certificate chain", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_error("the certificate chain", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_error(
            "the certificate chain",
            cert,
            "no CERTIFICATE block".into(),
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| pem_error("the private key", key, e.to_string()))?;
    let signing = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(private)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| TlsError::Rustls(format!("the key does not match the certificate: {e}")))?;
    Ok(certified)
}

impl CertificateStore {
    /// Load the chain and key (PEM).
    pub fn load(cert: &Path, key: &Path) -> Result<CertificateStore, TlsError> {
        Ok(CertificateStore {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: ArcSwap::from_pointee(load(cert, key)?),
        })
    }

    /// Re-read the files; on error the certificate in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        self.current.store(Arc::new(load(&self.cert, &self.key)?));
        Ok(())
    }

    /// Reload and log the outcome.
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(()) => tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded"),
            Err(e) => tracing::error!(
                error = %e,
                "the TLS certificate was not reloaded; the previous one stays in force"
            ),
        }
    }

    /// A rustls server configuration answering with the certificate in force (HTTP/2 and
    /// HTTP/1.1 by ALPN). With `client_ca` (PEM), every client must present a certificate
    /// that CA issued (mTLS).
    pub fn server_config(
        self: &Arc<Self>,
        client_ca: Option<&Path>,
    ) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let pem_error = |message: String| TlsError::Pem {
                    what: "the client CA",
                    path: ca.display().to_string(),
                    message,
                };
                let mut roots = rustls::RootCertStore::empty();
                for cert in
                    CertificateDer::pem_file_iter(ca).map_err(|e| pem_error(e.to_string()))?
                {
                    roots
                        .add(cert.map_err(|e| pem_error(e.to_string()))?)
                        .map_err(|e| pem_error(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(pem_error("no CERTIFICATE block".into()));
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for CertificateStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A listener yielding connections whose TLS handshake completed.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Serve TLS on `listener` with `config`.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let tls = tokio_rustls::TlsAcceptor::from(config);
        let acceptor = tokio::spawn(async move {
            loop {
                let (stream, remote) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // As axum does: out of descriptors and the like pass; wait a little.
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, remote)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            accepted: rx,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The acceptor task only ends when aborted, with this listener.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Who is connected, as the middleware sees it (`ConnectInfo<RemoteAddr>`), over TCP or TLS.
#[derive(Debug, Clone)]
pub struct RemoteAddr {
    /// The client's address.
    pub addr: SocketAddr,
    /// The subject CN of the client's certificate (mTLS), which names its user.
    pub client_cn: Option<String>,
}

impl std::fmt::Display for RemoteAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.addr.fmt(f)
    }
}

/// The first subject common name of a DER certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// Who is connected over plain TCP (for [`crate::server::serve`]); turns Nagle off.
pub fn tcp_remote(stream: &TcpStream, addr: SocketAddr) -> RemoteAddr {
    let _ = stream.set_nodelay(true);
    RemoteAddr {
        addr,
        client_cn: None,
    }
}

/// Who is connected over TLS: the address and the CN of a client certificate (mTLS).
pub fn tls_remote(stream: &TlsStream<TcpStream>, addr: SocketAddr) -> RemoteAddr {
    let (tcp, connection) = stream.get_ref();
    let _ = tcp.set_nodelay(true);
    let client_cn = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| common_name(cert.as_ref()));
    RemoteAddr { addr, client_cn }
}
