//! The HTTP webhook sink: each alert POSTed as Falco's JSON object (the body
//! falcosidekick and Falco's http_output use), with configured headers,
//! TLS through rustls, and a timeout per request. Retries and backoff are
//! the worker's ([`super::run`]); this file classifies answers: 2xx is
//! delivered, 3xx and 4xx other than 408 and 429 are refusals that retrying
//! cannot fix, anything else is retried.

use std::sync::Arc;
use std::time::Duration;

use super::{DeliveryError, Sink};
use crate::alert::Alert;
use crate::format;

/// User-Agent of webhook requests.
const USER_AGENT: &str = concat!("kestrel-output/", env!("CARGO_PKG_VERSION"));

/// Most bytes of an error response body quoted in a log line.
const MAX_ERROR_BODY: usize = 200;

/// Options of one webhook.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Whole-request timeout: connect, send, and read the answer.
    pub timeout: Duration,
    /// PEM file of CA certificates to trust instead of the built-in roots.
    pub ca_file: Option<std::path::PathBuf>,
}

pub struct HttpSink {
    agent: ureq::Agent,
    opts: HttpOptions,
    body: Vec<u8>,
}

impl HttpSink {
    pub fn new(opts: HttpOptions) -> anyhow::Result<Self> {
        let mut b = ureq::AgentBuilder::new()
            .timeout(opts.timeout)
            .timeout_connect(opts.timeout)
            .user_agent(USER_AGENT)
            .redirects(0);
        if let Some(ca) = &opts.ca_file {
            b = b.tls_config(Arc::new(tls_config(ca)?));
        }
        Ok(HttpSink {
            agent: b.build(),
            opts,
            body: Vec::with_capacity(1024),
        })
    }
}

/// A rustls client configuration trusting only the certificates of `ca`.
fn tls_config(ca: &std::path::Path) -> anyhow::Result<rustls::ClientConfig> {
    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .with_context(|| format!("cannot read CA file {}", ca.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("bad certificate in {}", ca.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("unusable certificate in {}", ca.display()))?;
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "no certificate in CA file {}",
        ca.display()
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS configuration")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Sink for HttpSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        self.body.clear();
        format::json_into(&mut self.body, alert)?;
        let mut req = self
            .agent
            .post(&self.opts.url)
            .set("Content-Type", "application/json");
        for (k, v) in &self.opts.headers {
            req = req.set(k, v);
        }
        match req.send_bytes(&self.body) {
            Ok(resp) if (200..300).contains(&resp.status()) => Ok(()),
            // Redirects are not followed (a webhook that moved should be
            // reconfigured, not chased with alert bodies).
            Ok(resp) => Err(DeliveryError::Refused(format!(
                "HTTP {} from {} (redirects are not followed)",
                resp.status(),
                self.opts.url
            ))),
            Err(ureq::Error::Status(code, resp)) => {
                let mut body = resp.into_string().unwrap_or_default();
                body.truncate(body.floor_char_boundary(MAX_ERROR_BODY));
                let why = format!("HTTP {code} from {}: {}", self.opts.url, body.trim());
                if (400..500).contains(&code) && code != 408 && code != 429 {
                    Err(DeliveryError::Refused(why))
                } else {
                    Err(DeliveryError::Retry(why))
                }
            }
            Err(ureq::Error::Transport(t)) => {
                Err(DeliveryError::Retry(format!("{}: {t}", self.opts.url)))
            }
        }
    }
}
