//! Compiles `capnp/kestrel.capnp` with the system `capnp` tool (Debian's
//! `capnproto` package) into Rust.

fn main() {
    println!("cargo:rerun-if-changed=capnp/kestrel.capnp");
    if let Err(e) = capnpc::CompilerCommand::new()
        .src_prefix("capnp")
        .file("capnp/kestrel.capnp")
        .run()
    {
        panic!(
            "compiling capnp/kestrel.capnp failed: {e}\n\
             (is the `capnp` tool installed? `apt-get install capnproto`)"
        );
    }
}
