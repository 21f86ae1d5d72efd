//! Compiles the vendored CRI protocol (`proto/cri-api/api.proto`) into the
//! gRPC client and server enrich's CRI module uses. Needs `protoc`
//! (Debian's `protobuf-compiler`; `pipelines/deps.sh` installs it), or
//! `PROTOC` naming one.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/cri-api/api.proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // A fake runtime in the tests implements only the calls enrich
        // makes; the others answer Unimplemented, as an older runtime's do.
        .generate_default_stubs(true)
        .compile_protos(&["proto/cri-api/api.proto"], &["proto/cri-api"])
        .map_err(|e| {
            format!(
                "compiling proto/cri-api/api.proto: {e} (is protoc installed? \
                 apt-get install protobuf-compiler, or pipelines/deps.sh)"
            )
        })?;
    Ok(())
}
