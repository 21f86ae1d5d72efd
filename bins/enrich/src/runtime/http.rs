//! A minimal HTTP/1.1 client over Unix sockets, enough for the Docker API
//! (and podman's compatible one): one GET per connection, bodies by
//! Content-Length, chunked encoding or connection close, every size bounded
//! by a named limit.
//!
//! It is not a general HTTP client: no TLS, no redirects, no keep-alive.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::limits::{MAX_HTTP_BODY_BYTES, MAX_HTTP_HEADER_BYTES};

/// What can go wrong talking to a runtime socket.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {path}: {source}")]
    Connect { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("bad HTTP response: {0}")]
    Protocol(String),
    #[error("response body over {MAX_HTTP_BODY_BYTES} bytes")]
    TooLarge,
}

/// An open response: status, then the body to read.
pub struct Response {
    pub status: u16,
    reader: BufReader<UnixStream>,
    chunked: bool,
    length: Option<usize>,
    /// Bytes left in the current chunk.
    chunk_left: usize,
    done: bool,
}

/// Sends `GET path` to the API on socket `sock`; `timeout` bounds each read
/// (None: wait forever, for event streams).
pub fn get(sock: &Path, path: &str, timeout: Option<Duration>) -> Result<Response, HttpError> {
    let mut s = UnixStream::connect(sock).map_err(|source| HttpError::Connect {
        path: sock.to_path_buf(),
        source,
    })?;
    s.set_read_timeout(timeout)?;
    s.set_write_timeout(Some(timeout.unwrap_or(Duration::from_secs(5))))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kestrel-enrich\r\nConnection: close\r\n\r\n")?;
    let mut reader = BufReader::new(s);
    let mut header_bytes = 0usize;
    let mut line = String::new();
    let mut read_line =
        |reader: &mut BufReader<UnixStream>, line: &mut String| -> Result<(), HttpError> {
            line.clear();
            let n = reader
                .by_ref()
                .take(MAX_HTTP_HEADER_BYTES as u64)
                .read_line(line)?;
            header_bytes += n;
            if n == 0 || header_bytes > MAX_HTTP_HEADER_BYTES {
                return Err(HttpError::Protocol(
                    "headers ended early or are too long".into(),
                ));
            }
            Ok(())
        };
    read_line(&mut reader, &mut line)?;
    let status = line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| HttpError::Protocol(format!("status line {:?}", line.trim_end())))?;
    let mut chunked = false;
    let mut length = None;
    loop {
        read_line(&mut reader, &mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((k, v)) = l.split_once(':') else {
            return Err(HttpError::Protocol(format!("header line {l:?}")));
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if k.eq_ignore_ascii_case("content-length") {
            length = Some(
                v.parse::<usize>()
                    .map_err(|_| HttpError::Protocol(format!("content-length {v:?}")))?,
            );
        }
    }
    Ok(Response {
        status,
        reader,
        chunked,
        length,
        chunk_left: 0,
        done: false,
    })
}

impl Response {
    /// Reads some body bytes into `buf`; 0 at the end of the body.
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, HttpError> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if !self.chunked {
            let want = match self.length {
                Some(0) => {
                    self.done = true;
                    return Ok(0);
                }
                Some(left) => buf.len().min(left),
                None => buf.len(),
            };
            let n = self.reader.read(&mut buf[..want])?;
            if n == 0 {
                self.done = true;
                if self.length.is_some() {
                    return Err(HttpError::Protocol("body ended early".into()));
                }
            }
            if let Some(left) = &mut self.length {
                *left -= n;
            }
            return Ok(n);
        }
        if self.chunk_left == 0 {
            let mut line = String::new();
            self.reader.by_ref().take(1024).read_line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| HttpError::Protocol(format!("chunk size {:?}", line.trim())))?;
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.chunk_left = size;
        }
        let want = buf.len().min(self.chunk_left);
        let n = self.reader.read(&mut buf[..want])?;
        if n == 0 {
            return Err(HttpError::Protocol("chunk ended early".into()));
        }
        self.chunk_left -= n;
        if self.chunk_left == 0 {
            let mut crlf = String::new();
            self.reader.by_ref().take(2).read_line(&mut crlf)?;
        }
        Ok(n)
    }

    /// Reads the whole body, bounded by [`MAX_HTTP_BODY_BYTES`].
    pub fn body(mut self) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        let mut buf = [0u8; 16 << 10];
        loop {
            let n = self.read_some(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            if out.len() + n > MAX_HTTP_BODY_BYTES {
                return Err(HttpError::TooLarge);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn serve(reply: &'static [u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let l = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                // Read the whole request first: closing with unread bytes
                // would reset the connection under the client's read.
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.ends_with(b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(reply);
            }
        });
        (dir, path)
    }

    #[test]
    fn content_length_and_chunked_bodies() {
        let (_d, p) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let r = get(&p, "/x", Some(Duration::from_secs(2))).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body().unwrap(), b"hello");
        let (_d, p) = serve(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
        let r = get(&p, "/x", Some(Duration::from_secs(2))).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.body().unwrap(), b"abcde");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let (_d, p) = serve(b"\x00\x01garbage\r\n\r\n");
        assert!(matches!(
            get(&p, "/x", Some(Duration::from_secs(2))),
            Err(HttpError::Protocol(_))
        ));
        let (_d, p) = serve(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        let r = get(&p, "/x", Some(Duration::from_secs(2))).unwrap();
        assert!(r.body().is_err());
        let missing = Path::new("/nonexistent/enrich-test.sock");
        assert!(matches!(
            get(missing, "/", None),
            Err(HttpError::Connect { .. })
        ));
    }
}
