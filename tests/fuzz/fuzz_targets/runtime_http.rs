//! enrich's HTTP client for the runtimes' APIs (`enrich::runtime::http`:
//! status line, headers, Content-Length and chunked bodies) on an arbitrary
//! answer, served over a real Unix socket by a thread of this process; a
//! body that comes through goes to the inspect parser.
#![no_main]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use enrich::runtime::{http, inspect};
use libfuzzer_sys::fuzz_target;

/// Bounds each read of the client: the server always closes after its
/// answer, so this only matters if it did not.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The socket's path and the channel that hands the server its next answer.
struct Server {
    path: PathBuf,
    answers: Mutex<SyncSender<Vec<u8>>>,
}

fn server() -> Server {
    // The client may hang up in the middle of an answer it refuses: the
    // server's write must fail, not kill the process.
    // SAFETY: setting a signal's disposition to ignore, before any thread
    // of ours writes to a socket.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let dir = std::env::temp_dir().join(format!("kestrel-fuzz-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("socket directory");
    let path = dir.join("api.sock");
    let listener = UnixListener::bind(&path).expect("bind the socket");
    let (tx, rx) = sync_channel::<Vec<u8>>(1);
    std::thread::spawn(move || {
        for answer in rx {
            let Ok((conn, _)) = listener.accept() else {
                continue;
            };
            // Read the request whole before answering, so that the client's
            // write never meets a closed socket.
            let mut r = BufReader::new(&conn);
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = (&conn).write_all(&answer);
        }
    });
    Server {
        path,
        answers: Mutex::new(tx),
    }
}

fuzz_target!(|data: &[u8]| {
    static SERVER: OnceLock<Server> = OnceLock::new();
    let s = SERVER.get_or_init(server);
    s.answers
        .lock()
        .expect("one caller at a time")
        .send(data.to_vec())
        .expect("the server thread runs");
    let Ok(resp) = http::get(&s.path, "/containers/x/json", Some(READ_TIMEOUT)) else {
        return;
    };
    if let Ok(body) = resp.body() {
        assert!(body.len() <= data.len(), "a body is part of the answer");
        let _ = inspect::parse(&body, "docker");
    }
});
