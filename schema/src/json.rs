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

/// The JSON form of a frame.
pub fn frame_to_json(f: frame::Reader<'_>) -> capnp::Result<Value> {
    let mut v = walk(f.into())?;
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

fn walk(v: dynamic_value::Reader<'_>) -> capnp::Result<Value> {
    use dynamic_value::Reader as R;
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
            let mut out = Vec::with_capacity(l.len() as usize);
            for item in l.iter() {
                out.push(walk(item?)?);
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
                m.insert(name, walk(s.get(field)?)?);
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
