//! `output --raw`: every frame of a stream, header included, as one JSON
//! object per line, so that any point of a pipeline can be inspected
//! (`capture | enrich | output --raw | jq`).
//!
//! It does not deliver alerts, rate-limit or spool anything: it is a
//! debugging view of the wire, rendered by [`schema::json::frame_to_json`].

use std::io::{BufWriter, Write};

use schema::{frame, FrameError, FrameReader};
use stage::transport::{self, Endpoint};

use stage::StageError;

/// Bytes of JSON buffered before a `write(2)`; flushed early whenever the
/// input has nothing more buffered, so an idle stream is not held back.
const RAW_WRITE_BUFFER_BYTES: usize = 256 << 10;

/// Renders the frames of `input` to stdout until the end of input.
pub fn run(input: &Endpoint) -> Result<(), StageError> {
    let stream = transport::open_input(input)
        .map_err(|e| StageError::stage(format!("cannot open --input: {e}")))?;
    let stdout = transport::open_output(&Endpoint::Stdio)
        .map_err(|e| StageError::stage(format!("cannot open stdout: {e}")))?;
    let mut out = BufWriter::with_capacity(RAW_WRITE_BUFFER_BYTES, stdout);
    let mut reader = FrameReader::new(stream);

    // The header is checked like every stage checks it, and printed like
    // every other frame (so fields added to it later show up too).
    {
        let Some(first) = next_header(&mut reader)? else {
            return Ok(());
        };
        write_line(&mut out, &first)?;
    }

    loop {
        let more = {
            let Some(frame) = reader.next()? else { break };
            let offset = frame.offset();
            let root = frame.root()?;
            let value =
                schema::json::frame_to_json(root).map_err(|e| FrameError::corrupt(offset, e))?;
            write_line(&mut out, &value)?;
            reader.has_buffered()
        };
        if !more {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_line(out: &mut impl Write, value: &serde_json::Value) -> Result<(), StageError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Reads the first frame, checks that it is a valid header the way
/// [`FrameReader::read_header`] does, and returns its JSON form. `None` is
/// an empty input.
///
/// `read_header` consumes the frame without handing it back, hence this
/// twin that keeps it for printing.
fn next_header<R: std::io::Read>(
    reader: &mut FrameReader<R>,
) -> Result<Option<serde_json::Value>, FrameError> {
    let no_header = |reason: String| FrameError::NoHeader { reason };
    let frame = match reader.next() {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e @ FrameError::Io { .. }) => return Err(e),
        Err(e) => return Err(no_header(e.to_string())),
    };
    let root = frame.root().map_err(|e| no_header(e.to_string()))?;
    match root.which() {
        Ok(frame::Header(h)) => {
            schema::header::check(h.map_err(|e| no_header(e.to_string()))?)?;
        }
        Ok(_) => return Err(no_header("it is some other kind of frame".into())),
        Err(e) => return Err(no_header(format!("unknown frame kind {}", e.0))),
    }
    schema::json::frame_to_json(root)
        .map(Some)
        .map_err(|e| FrameError::corrupt(0, e))
}
