# Cap'n Proto's standard `stream.capnp`, which Debian's `capnproto` package
# does not install: methods declared `-> stream` resolve their result type
# here. Only the IDs matter, and they must be these (capnpc-rust recognises
# StreamResult by its ID).
@0x86c366a91393f3f8;

struct StreamResult @0x995f9a3377c0b16e {
  # Empty: a streaming call's answer only says the stream may go on.
}
