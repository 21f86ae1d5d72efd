//! The Docker API's container inspect document (`GET /containers/ID/json`,
//! also served by podman's compatible API) turned into [`ContainerMeta`]:
//! name, image and its repository/tag/id/digest, labels, privileged, mounts,
//! start time, host namespaces and command line.
//!
//! Every field is optional: a runtime that leaves one out (or sends one of
//! an unexpected type) yields empty values, not an error.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::tables::containers::{ContainerMeta, MountInfo};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Inspect {
    id: String,
    name: String,
    image: String,
    path: String,
    args: Value,
    config: Config,
    host_config: HostConfig,
    mounts: Value,
    state: State,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Config {
    image: String,
    labels: Value,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HostConfig {
    privileged: bool,
    network_mode: String,
    pid_mode: String,
    ipc_mode: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct State {
    started_at: String,
}

/// Parses an inspect document; `runtime` names who answered.
pub fn parse(body: &[u8], runtime: &str) -> Result<ContainerMeta, String> {
    let i: Inspect = serde_json::from_slice(body).map_err(|e| format!("inspect document: {e}"))?;
    if i.id.is_empty() {
        return Err("inspect document has no Id".into());
    }
    let image = i.config.image.clone();
    let (repo, tag, digest) = split_image(&image);
    let labels: BTreeMap<String, String> = match &i.config.labels {
        Value::Object(m) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let mounts = match &i.mounts {
        Value::Array(a) => a.iter().map(mount).collect(),
        _ => Vec::new(),
    };
    let mut cmdline = i.path.clone();
    if let Value::Array(args) = &i.args {
        for a in args.iter().filter_map(Value::as_str) {
            cmdline.push(' ');
            cmdline.push_str(a);
        }
    }
    let mut meta = ContainerMeta {
        name: i.name.trim_start_matches('/').to_string(),
        image: image.clone(),
        image_repository: repo,
        image_tag: tag,
        image_id: image_id(&i.image),
        image_digest: digest,
        runtime: runtime.to_string(),
        privileged: i.host_config.privileged,
        labels: labels.into_iter().collect(),
        mounts,
        start_ts_ns: parse_rfc3339(&i.state.started_at).unwrap_or(0),
        host_network: i.host_config.network_mode == "host",
        host_pid: i.host_config.pid_mode == "host",
        host_ipc: i.host_config.ipc_mode == "host",
        cmdline,
        ..ContainerMeta::default()
    };
    meta.limit();
    Ok(meta)
}

fn mount(v: &Value) -> MountInfo {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    MountInfo {
        source: s("Source"),
        dest: s("Destination"),
        mode: s("Mode"),
        rw: v.get("RW").and_then(Value::as_bool).unwrap_or(false),
        propagation: s("Propagation"),
    }
}

/// `repo[:tag][@digest]` split; a `:` before the last `/` is a registry
/// port, not a tag.
pub fn split_image(image: &str) -> (String, String, String) {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, d.to_string()),
        None => (image, String::new()),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (
            name[..slash + i].to_string(),
            name[slash + i + 1..].to_string(),
            digest,
        ),
        None => (name.to_string(), String::new(), digest),
    }
}

/// The 12-hex image id from `sha256:<64hex>`.
fn image_id(image: &str) -> String {
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    hex.get(..12).unwrap_or(hex).to_string()
}

/// `2024-05-06T07:08:09.123456789Z` (or with a `+HH:MM` offset) as ns
/// since the epoch; None for anything else, including Docker's zero time
/// and times that do not fit in u64 nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos())
        .ok()
        .filter(|&ns| ns > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_of_range_or_signed_are_refused_not_overflowed() {
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59Z"), None);
        assert_eq!(parse_rfc3339("+999-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01T-1:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00+0\u{53d}00"), None);
        assert_eq!(
            parse_rfc3339("2024-05-06T07:08:09.5Z"),
            Some(1_714_979_289_500_000_000)
        );
    }

    #[test]
    fn parses_a_docker_inspect_document() {
        let body = br#"{"Id":"abc123","Name":"/web","Image":"sha256:0123456789abcdef0123","Path":"sleep","Args":["30"],
            "Config":{"Image":"localhost:5000/team/web:1.2@sha256:feed","Labels":{"io.kubernetes.pod.name":"p1","n":"1"}},
            "HostConfig":{"Privileged":true,"NetworkMode":"host","PidMode":"","IpcMode":"private"},
            "Mounts":[{"Source":"/etc","Destination":"/host/etc","Mode":"ro","RW":false,"Propagation":"rprivate"}],
            "State":{"StartedAt":"2024-05-06T07:08:09.123456789Z"}}"#;
        let m = parse(body, "docker").unwrap();
        assert_eq!(m.name, "web");
        assert_eq!(m.image_repository, "localhost:5000/team/web");
        assert_eq!(m.image_tag, "1.2");
        assert_eq!(m.image_digest, "sha256:feed");
        assert_eq!(m.image_id, "0123456789ab");
        assert!(m.privileged && m.host_network && !m.host_pid);
        assert_eq!(m.label("io.kubernetes.pod.name"), Some("p1"));
        assert_eq!(m.mounts[0].dest, "/host/etc");
        assert_eq!(m.cmdline, "sleep 30");
        assert_eq!(m.start_ts_ns, 1_714_979_289_123_456_789);
    }

    #[test]
    fn odd_documents_do_not_fail_wholesale() {
        assert!(parse(b"not json", "docker").is_err());
        assert!(parse(b"{}", "docker").is_err());
        let m = parse(
            br#"{"Id":"x","Config":{"Labels":null},"Mounts":"odd"}"#,
            "podman",
        )
        .unwrap();
        assert!(m.labels.is_empty() && m.mounts.is_empty());
    }

    #[test]
    fn times_with_offsets() {
        assert_eq!(
            parse_rfc3339("1970-01-02T00:00:00Z"),
            Some(86_400_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("1970-01-02T01:00:00+01:00"),
            Some(86_400_000_000_000)
        );
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(
            split_image("busybox"),
            ("busybox".into(), "".into(), "".into())
        );
    }
}
