//! Renders any frame as one JSON object, for `output --raw` and debugging:
//! `capture | enrich | output --raw | jq`.
//!
//! The walk is generic (Cap'n Proto's dynamic reflection), so fields added to
//! the schema appear without touching this file. Two things are kestrel's own:
//! an event's positional parameters are named from [`crate::table`], and
//! byte strings are shown as text when they are UTF-8 (lossily otherwise),
//! since they are mostly paths and names. Unset pointer fields are left out.

use capnp::dynamic_value;
use serde_json::{Map, Value};

use crate::kestrel_capnp::frame;
use crate::table;

/// Most values one frame may render to. A list of zero-sized elements (void,
/// or structs with no fields) takes no words on the wire, so the reader's
/// traversal limit does not see it: a 4 MiB frame could claim billions of
/// elements and make the walk allocate without bound. The largest real
/// frames (snapshot events of processes with many descriptors) render to
/// some hundred thousand values.
pub const MAX_JSON_VALUES: usize = 1 << 20;

/// The JSON form of a frame; an error for a frame that would render to more
/// than [`MAX_JSON_VALUES`] values.
pub fn frame_to_json(f: frame::Reader<'_>) -> capnp::Result<Value> {
    let mut budget = MAX_JSON_VALUES;
    let mut v = walk(f.into(), &mut budget)?;
    // Name event parameters after the event table.
    if let Ok(frame::Event(Ok(ev))) = f.which() {
        if let (Ok(kind), Some(Value::Object(obj))) = (ev.get_kind(), v.get_mut("event")) {
            let info = table::info(kind);
            obj.insert("type".into(), Value::String(info.name.into()));
            if let Some(Value::Array(params)) = obj.remove("params") {
                let mut named = Map::new();
                for (i, p) in params.into_iter().enumerate() {
                    let name = info
                        .params
                        .get(i)
                        .map(|p| p.name.to_string())
                        .unwrap_or_else(|| format!("arg{i}"));
                    // A param is a one-member union object: unwrap it.
                    let val = match p {
                        Value::Object(m) if m.len() == 1 => {
                            m.into_iter().next().map(|(_, v)| v).unwrap_or(Value::Null)
                        }
                        other => other,
                    };
                    named.insert(name, val);
                }
                obj.insert("params".into(), Value::Object(named));
            }
        }
    }
    Ok(v)
}

fn walk(v: dynamic_value::Reader<'_>, budget: &mut usize) -> capnp::Result<Value> {
    use dynamic_value::Reader as R;
    *budget = budget.checked_sub(1).ok_or_else(|| {
        capnp::Error::failed(format!(
            "the frame renders to more than {MAX_JSON_VALUES} values"
        ))
    })?;
    Ok(match v {
        R::Void => Value::Null,
        R::Bool(b) => Value::Bool(b),
        R::Int8(n) => n.into(),
        R::Int16(n) => n.into(),
        R::Int32(n) => n.into(),
        R::Int64(n) => n.into(),
        R::UInt8(n) => n.into(),
        R::UInt16(n) => n.into(),
        R::UInt32(n) => n.into(),
        R::UInt64(n) => n.into(),
        R::Float32(n) => serde_json::Number::from_f64(n as f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        R::Float64(n) => serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        R::Enum(e) => match e.get_enumerant()? {
            Some(en) => Value::String(en.get_proto().get_name()?.to_str()?.to_string()),
            None => e.get_value().into(),
        },
        R::Text(t) => Value::String(String::from_utf8_lossy(t.as_bytes()).into_owned()),
        R::Data(d) => bytes_value(d),
        R::List(l) => {
            // Reserve no more than the budget allows: the claimed length
            // is the frame's word, not a measure of its size.
            let mut out = Vec::with_capacity((l.len() as usize).min(*budget));
            for item in l.iter() {
                out.push(walk(item?, budget)?);
            }
            Value::Array(out)
        }
        R::Struct(s) => {
            let mut m = Map::new();
            let schema = s.get_schema();
            let active = s.which()?;
            for field in schema.get_fields()? {
                let proto = field.get_proto();
                let in_union =
                    proto.get_discriminant_value() != capnp::schema_capnp::field::NO_DISCRIMINANT;
                if in_union {
                    match &active {
                        Some(a) if a.get_index() == field.get_index() => {}
                        _ => continue,
                    }
                } else if !s.has(field)? && is_pointer(&field)? {
                    continue;
                }
                let name = proto.get_name()?.to_str()?.to_string();
                m.insert(name, walk(s.get(field)?, budget)?);
            }
            Value::Object(m)
        }
        R::AnyPointer(_) | R::Capability(_) => Value::Null,
    })
}

fn is_pointer(field: &capnp::schema::Field) -> capnp::Result<bool> {
    use capnp::introspect::TypeVariant;
    Ok(matches!(
        field.get_type().which(),
        TypeVariant::Text
            | TypeVariant::Data
            | TypeVariant::List(_)
            | TypeVariant::Struct(_)
            | TypeVariant::AnyPointer
            | TypeVariant::Capability
    ))
}

fn bytes_value(d: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(d).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose stats counters list claims `n` zero-sized elements: a
    /// list of void, which a reader takes for a list of empty structs (the
    /// encoding's upgrade rule), costs no words.
    fn zero_size_list_frame(n: u32) -> Vec<u8> {
        // Root pointer: struct Frame, 1 data word (union tag), 1 pointer.
        // Frame.data: discriminant 3 (stats). Frame.ptr0: struct Stats.
        let words: [u64; 8] = [
            // Root: a struct at offset 0 with 1 data word and 1 pointer.
            1 << 32 | 1 << 48,
            // The union's discriminant: stats.
            3,
            // Stats: 2 data words and 3 pointers, right after.
            2 << 32 | 3 << 48,
            0,
            0,
            // hostname: null.
            0,
            // counters: a list of void (element size 0) of n elements.
            1 | u64::from(n) << 35,
            // instance: null.
            0,
        ];
        let mut out = Vec::new();
        out.extend_from_slice(&0u32.to_le_bytes()); // one segment
        out.extend_from_slice(&(words.len() as u32).to_le_bytes());
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    #[test]
    fn a_list_of_zero_sized_elements_cannot_expand_without_bound() {
        let bytes = zero_size_list_frame(2 << 20);
        let mut r = crate::FrameReader::new(&bytes[..]);
        let f = r.next().expect("frames").expect("one frame");
        let root = f.root().expect("root");
        let err = frame_to_json(root).expect_err("over the budget");
        assert!(err.to_string().contains("values"), "{err}");
        // A short such list renders.
        let bytes = zero_size_list_frame(3);
        let mut r = crate::FrameReader::new(&bytes[..]);
        let f = r.next().expect("frames").expect("one frame");
        let v = frame_to_json(f.root().expect("root")).expect("renders");
        assert_eq!(v["stats"]["counters"].as_array().map(Vec::len), Some(3));
    }
}
