//! The HTTP sink over TLS (rustls): a real HTTPS receiver on loopback with
//! a certificate made for the test, trusted through `--http-ca-file`; and
//! refused (the alerts stay spooled) when it is not trusted.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{run_output, stderr, Stream, TestAlert};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Serves HTTPS on 127.0.0.1 for the first `conns` connections, recording
/// POST bodies.
fn https_receiver(conns: usize) -> (u16, String, Arc<Mutex<Vec<String>>>) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    let cert = CertificateDer::from(ck.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let got = bodies.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().take(conns) {
            let Ok(tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
            // Keep-alive: requests until the client goes away.
            loop {
                let mut line = String::new();
                if tls.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    if tls.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; len];
                if tls.read_exact(&mut body).is_err() {
                    break;
                }
                got.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let s = tls.get_mut();
                if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .is_err()
                    || s.flush().is_err()
                {
                    break;
                }
            }
        }
    });
    (port, cert_pem, bodies)
}

fn input() -> Vec<u8> {
    Stream::new()
        .alert(&TestAlert::new("R", "n=0"))
        .alert(&TestAlert::new("R", "n=1"))
        .bytes()
}

#[test]
fn https_with_a_trusted_ca_delivers() {
    let (port, ca, bodies) = https_receiver(4);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let url = format!("https://127.0.0.1:{port}/");
    let spool = dir.path().join("spool");
    let out = run_output(
        &[
            "--http",
            &url,
            "--http-ca-file",
            ca_file.to_str().unwrap(),
            "--spool-dir",
            spool.to_str().unwrap(),
        ],
        &input(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&got[1]).unwrap();
    assert_eq!(v["output"], "22:13:20.123456789: Warning n=1");
}

#[test]
fn https_with_an_unknown_certificate_is_not_trusted() {
    let (port, _ca, bodies) = https_receiver(16);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{port}/");
    let out = run_output(
        &[
            "--http",
            &url,
            "--spool-dir",
            dir.path().to_str().unwrap(),
            "--drain-timeout",
            "0.5",
        ],
        &input(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(bodies.lock().unwrap().is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("certificate") || err.contains("Certificate"),
        "{err}"
    );
    assert!(err.contains("2 alerts not yet delivered"), "{err}");
}

#[test]
fn a_ca_file_without_certificates_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("empty.pem");
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let out = run_output(
        &[
            "--http",
            "https://127.0.0.1:1/",
            "--http-ca-file",
            ca_file.to_str().unwrap(),
            "--spool-dir",
            dir.path().to_str().unwrap(),
        ],
        &input(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no certificate in CA file"),
        "{}",
        stderr(&out)
    );
}
