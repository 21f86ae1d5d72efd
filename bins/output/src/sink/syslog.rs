//! The syslog sink: RFC 5424 messages to the local syslog socket
//! (`/dev/log`, datagrams), or to a UDP or TCP address (TCP with RFC 6587
//! octet counting, so a message may hold any byte).
//!
//! The message is `<PRI>1 TIMESTAMP HOSTNAME kestrel PROCID alert - MSG`,
//! where PRI is the facility times 8 plus the alert's priority (Falco's
//! priorities are syslog's severities) and MSG the alert in the sink's
//! format.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::{DeliveryError, Sink};
use crate::alert::Alert;
use crate::format::{self, Format};

/// Longest message sent in one datagram; longer ones are cut. 8 KiB passes
/// through /dev/log and loopback UDP everywhere we run.
pub const MAX_DATAGRAM_BYTES: usize = 8 << 10;

/// Default local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// RFC 5424 APP-NAME.
const APP_NAME: &str = "kestrel";

/// RFC 5424 MSGID of alert messages.
const MSG_ID: &str = "alert";

/// RFC 5424 limits HOSTNAME to 255 printable ASCII characters.
const MAX_HOSTNAME: usize = 255;

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(PathBuf),
    Udp(String),
    Tcp(String),
}

impl FromStr for Target {
    type Err = String;

    /// `/dev/log` or any absolute path (a datagram socket), `unix:PATH`,
    /// `udp:HOST:PORT`, `tcp:HOST:PORT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(Target::Unix(p.into()));
        }
        if s.starts_with('/') {
            return Ok(Target::Unix(s.into()));
        }
        if let Some(a) = s.strip_prefix("udp:") {
            return Ok(Target::Udp(a.into()));
        }
        if let Some(a) = s.strip_prefix("tcp:") {
            return Ok(Target::Tcp(a.into()));
        }
        Err(format!(
            "bad syslog target {s:?} (expected /dev/log, unix:PATH, udp:HOST:PORT or tcp:HOST:PORT)"
        ))
    }
}

/// Syslog facilities by name (RFC 5424 numbering).
pub fn facility(name: &str) -> Result<u8, String> {
    let n = match name.to_ascii_lowercase().as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return Err(format!("unknown syslog facility {name:?}")),
    };
    Ok(n)
}

enum Conn {
    Unix(UnixDatagram),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

pub struct SyslogSink {
    target: Target,
    facility: u8,
    format: Format,
    timeout: Duration,
    conn: Option<Conn>,
}

impl SyslogSink {
    pub fn new(target: Target, facility: u8, format: Format, timeout: Duration) -> Self {
        SyslogSink {
            target,
            facility,
            format,
            timeout,
            conn: None,
        }
    }

    fn connect(&self) -> std::io::Result<Conn> {
        Ok(match &self.target {
            Target::Unix(p) => {
                let s = UnixDatagram::unbound()?;
                s.connect(p)?;
                s.set_write_timeout(Some(self.timeout))?;
                Conn::Unix(s)
            }
            Target::Udp(a) => {
                let addr = resolve(a)?;
                let bind = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(addr)?;
                Conn::Udp(s)
            }
            Target::Tcp(a) => {
                let addr = resolve(a)?;
                let s = TcpStream::connect_timeout(&addr, self.timeout)?;
                s.set_write_timeout(Some(self.timeout))?;
                s.set_nodelay(true)?;
                Conn::Tcp(s)
            }
        })
    }

    /// The RFC 5424 message for `a`. The body is the alert's text line or
    /// JSON object, escaped as on a terminal, so one alert stays one log
    /// line whatever its event data held.
    pub fn message(&self, a: &Alert) -> Result<String, render::RenderError> {
        let pri = self.facility as u32 * 8 + a.priority.severity() as u32;
        let host = hostname_field(&a.hostname);
        let body = format::render(a, self.format, false)?;
        Ok(format!(
            "<{pri}>1 {} {host} {APP_NAME} {} {MSG_ID} - {body}",
            render::rfc3339_micros(a.time_ns),
            std::process::id()
        ))
    }
}

fn resolve(a: &str) -> std::io::Result<std::net::SocketAddr> {
    a.to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{a} resolves to no address")))
}

/// HOSTNAME field: printable ASCII without spaces, or "-".
fn hostname_field(h: &str) -> String {
    let s: String = h
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(MAX_HOSTNAME)
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

impl Sink for SyslogSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        let msg = self.message(alert)?;
        if self.conn.is_none() {
            let c = self.connect().map_err(|e| {
                DeliveryError::Retry(format!("cannot connect to syslog {:?}: {e}", self.target))
            })?;
            self.conn = Some(c);
        }
        let bytes = msg.as_bytes();
        let dgram = &bytes[..bytes.len().min(MAX_DATAGRAM_BYTES)];
        let res = match &mut self.conn {
            Some(Conn::Unix(s)) => s.send(dgram).map(|_| ()),
            Some(Conn::Udp(s)) => s.send(dgram).map(|_| ()),
            Some(Conn::Tcp(s)) => {
                let framed = format!("{} {msg}", bytes.len());
                s.write_all(framed.as_bytes())
            }
            None => Ok(()),
        };
        res.map_err(|e| {
            self.conn = None;
            DeliveryError::Retry(format!("syslog {:?}: {e}", self.target))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Priority;

    #[test]
    fn message_is_rfc5424() {
        let s = SyslogSink::new(
            Target::Udp("127.0.0.1:1".into()),
            1,
            Format::Text,
            Duration::from_secs(1),
        );
        let a = Alert {
            time_ns: 1_700_000_000_123_456_789,
            rule: "r".into(),
            priority: Priority::Critical,
            source: "syscall".into(),
            tags: vec![],
            output: "bad\nthing".into(),
            fields: vec![],
            hostname: "web 1".into(),
            eval_ts_ns: 0,
        };
        let m = s.message(&a).unwrap();
        let expected = format!(
            "<10>1 2023-11-14T22:13:20.123456Z web1 kestrel {} alert - 22:13:20.123456789: Critical bad\\nthing",
            std::process::id()
        );
        assert_eq!(m, expected);
        assert_eq!("tcp:h:1".parse::<Target>(), Ok(Target::Tcp("h:1".into())));
        assert_eq!(
            "/dev/log".parse::<Target>(),
            Ok(Target::Unix("/dev/log".into()))
        );
        assert!("h:1".parse::<Target>().is_err());
        assert_eq!(facility("local0"), Ok(16));
    }

    /// A process name with a screen clear, CR and LF starting a forged
    /// line, a right-to-left override, NEL and a backslash: one message,
    /// nothing raw, in text and JSON bodies alike.
    #[test]
    fn hostile_event_data_stays_one_inert_message() {
        let evil =
            "ev\x1b[2Jil\rx\n00:00:00.000000000: Emergency forged\u{202e}txt.exe\u{85}c:\\tmp";
        let a = Alert {
            time_ns: 1_700_000_000_123_456_789,
            rule: "r".into(),
            priority: Priority::Warning,
            source: "syscall".into(),
            tags: vec![],
            output: format!("proc={evil} file=/tmp/{evil}"),
            fields: vec![crate::alert::Field::text("proc.name", evil)],
            hostname: "h".into(),
            eval_ts_ns: 0,
        };
        for format in [Format::Text, Format::Json] {
            let s = SyslogSink::new(
                Target::Udp("127.0.0.1:1".into()),
                1,
                format,
                Duration::from_secs(1),
            );
            let m = s.message(&a).unwrap();
            assert_eq!(m.lines().count(), 1, "{m:?}");
            assert!(!m.chars().any(render::needs_escape), "{m:?}");
            assert!(m.contains("\\u{202e}txt.exe"), "{m:?}");
        }
    }
}
