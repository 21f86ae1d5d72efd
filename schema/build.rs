//! Compiles `capnp/kestrel.capnp` and `capnp/control.capnp` with the system `capnp` tool (Debian's
//! `capnproto` package) into Rust.

fn main() {
    println!("cargo:rerun-if-changed=capnp/kestrel.capnp");
    println!("cargo:rerun-if-changed=capnp/control.capnp");
    if let Err(e) = capnpc::CompilerCommand::new()
        .src_prefix("capnp")
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
