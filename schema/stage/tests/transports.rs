//! Transport edge cases that need no second process: endpoint spellings
//! round-trip through `Display`, `listen:` replaces a stale socket but never
//! another file, and `fd:`/`systemd` refuse what they were not given.

use std::os::unix::fs::PermissionsExt;

use stage::transport::{listen, open_input, TransportError};
use stage::Endpoint;

#[test]
fn display_parses_back() {
    for spec in [
        "-",
        "unix:/run/k.sock",
        "listen:/run/k.sock:mode=660",
        "fd:9",
        "systemd",
    ] {
        let ep: Endpoint = spec.parse().expect("valid spelling");
        let again: Endpoint = ep.to_string().parse().expect("display parses");
        assert_eq!(ep, again, "{spec}");
    }
}

#[test]
fn listen_replaces_a_stale_socket_but_not_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("k.sock");
    drop(listen(&sock, 0o600).expect("first bind"));
    // The socket file is left behind by the dropped listener: replaced.
    let l = listen(&sock, 0o640).expect("rebind over a stale socket");
    let mode = std::fs::metadata(&sock).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    drop(l);

    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, b"precious").expect("write");
    match listen(&file, 0o600) {
        Err(TransportError::Listen { .. }) => {}
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    assert_eq!(std::fs::read(&file).expect("still there"), b"precious");
}

#[test]
fn closed_fd_is_refused() {
    match open_input(&Endpoint::Fd(999)) {
        Err(TransportError::BadFd { fd: 999 }) => {}
        other => panic!("expected BadFd, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn systemd_without_activation_is_refused() {
    // The test harness is not socket-activated.
    std::env::remove_var("LISTEN_PID");
    match open_input(&Endpoint::Systemd) {
        Err(TransportError::Systemd(msg)) => assert!(msg.contains("LISTEN_PID"), "{msg}"),
        other => panic!("expected a systemd error, got {:?}", other.map(|_| ())),
    }
}
