// QuicCrypto: see ../shared/DESIGN.md. Filled by the issue that owns this module.
