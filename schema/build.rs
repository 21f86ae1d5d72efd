//! Compiles `capnp/kestrel.capnp` and `capnp/control.capnp` with the system `capnp` tool (Debian's
//! `capnproto` package) into Rust.

fn main() {
    println!("cargo:rerun-if-changed=capnp/kestrel.capnp");
    println!("cargo:rerun-if-changed=capnp/control.capnp");
    println!("cargo:rerun-if-changed=capnp/include/capnp/stream.capnp");
    if let Err(e) = capnpc::CompilerCommand::new()
        .src_prefix("capnp")
        // For `/capnp/stream.capnp` (see that file).
        .import_path("capnp/include")
        .file("capnp/kestrel.capnp")
        .file("capnp/control.capnp")
        .run()
    {
        panic!(
            "compiling capnp/*.capnp failed: {e}\n\
             (is the `capnp` tool installed? `apt-get install capnproto`)"
        );
    }
}
