// swift-tools-version:6.0
// swiftquic: a QUIC transport in Swift exporting the MsQuic 2.6 C API.
// See ../shared/DESIGN.md for the module map and the dependency rule
// QuicWire -> QuicCrypto -> QuicTLS -> QuicCore -> QuicPlatform -> SwiftQuic.
import PackageDescription

let root = Context.packageDirectory
// The commit being built, reported by QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH.
let gitCommit = Context.gitInformation?.currentCommit ?? "unknown"

// The public header is compiled with the preview features on, so Swift sees every
// declaration that MsQuic 2.6 ships (C programs choose for themselves).
let headerFlags: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-DQUIC_API_ENABLE_PREVIEW_FEATURES"]),
]

let package = Package(
    name: "swiftquic",
    products: [
        // libswiftquic.so: only MsQuicOpenVersion/MsQuicClose are exported, under the version
        // node `msquic` (cmake/msquic.map), as MsQuic's libmsquic.so.2 does. In release builds
        // the Swift runtime is linked in statically (see the SwiftQuic target).
        .library(name: "swiftquic", type: .dynamic, targets: ["SwiftQuic"]),
    ],
    targets: [
        // The one copy of the public header (include/msquic.h, include/msquic_posix.h),
        // imported by Swift through include/module.modulemap.
        .systemLibrary(name: "CMsQuic", path: "include"),
        // libcrypto (OpenSSL 3) for Swift, with a small C shim for its macros.
        .target(name: "CCrypto", linkerSettings: [.linkedLibrary("crypto")]),

        .target(name: "QuicWire"),
        .target(name: "QuicCrypto", dependencies: ["CCrypto", "QuicWire"]),
        .target(name: "QuicTLS", dependencies: ["CCrypto", "QuicWire", "QuicCrypto"]),
        .target(name: "QuicCore", dependencies: ["QuicWire", "QuicCrypto", "QuicTLS"],
                exclude: ["Connection/README.md", "Recovery/README.md"]),
        // Linux socket macros and GNU declarations for QuicPlatform (CMSG_*, mmsghdr, UDP_SEGMENT/GRO).
        .target(name: "CPlatform"),
        .target(name: "QuicPlatform", dependencies: ["CPlatform", "QuicCore"]),
        // qlog (JSON-SEQ) traces of connections, written when QLOGDIR names a folder.
        .target(name: "QuicQlog", dependencies: ["QuicWire", "QuicCore"]),
        // Build facts for the C ABI layer (the git commit), as a C function.
        .target(name: "CSwiftQuicVersion", cSettings: [.define("SWIFTQUIC_GIT_HASH", to: "\"\(gitCommit)\"")]),
        .target(
            name: "SwiftQuic",
            dependencies: ["CMsQuic", "CSwiftQuicVersion", "CCrypto", "QuicWire", "QuicCrypto", "QuicTLS", "QuicCore", "QuicPlatform", "QuicQlog"],
            swiftSettings: headerFlags,
            linkerSettings: [
                .unsafeFlags(["-Xlinker", "-soname=libswiftquic.so"]),
                // The export map shapes the shipped (release) library only. SwiftPM also applies a
                // target's linker flags to every executable that links it, and in a debug test
                // binary the map made the AddressSanitizer runtime's malloc/free local, so the
                // Swift runtime's allocations bypassed ASan's interceptors and XCTest aborted at
                // start-up with a bad-free (`swift test --sanitize=address`, Tests/SANITIZERS.md).
                .unsafeFlags(["-Xlinker", "--version-script=\(root)/cmake/msquic.map"], .when(configuration: .release)),
                // The shipped (release) library carries the Swift runtime inside it, so C programs
                // need only libc, libstdc++ and libcrypto. Debug builds (what `swift test` links,
                // and there is no static XCTest) keep the shared runtime. GNU ld (bfd), not gold:
                // gold leaves the cross-module metadata symbols that the export map makes local
                // in .dynsym (as GLOB_DAT targets); bfd resolves them to relative relocations.
                .unsafeFlags(["-static-stdlib", "-use-ld=bfd"], .when(configuration: .release)),
            ]
        ),

        // Packet protection throughput next to `openssl speed` (see BENCHMARKS.md).
        .executableTarget(name: "quic-bench", dependencies: ["QuicCrypto"], path: "Benchmarks/quic-bench"),
        // Loopback UDP throughput of QuicPlatform (sendmmsg/GSO, recvmmsg/GRO, worker).
        .executableTarget(name: "platform-bench", dependencies: ["QuicPlatform"], path: "Benchmarks/platform-bench"),

        .testTarget(name: "QuicWireTests", dependencies: ["QuicWire"]),
        .testTarget(name: "QuicCryptoTests", dependencies: ["QuicCrypto", "QuicWire", "CCrypto"]),
        .testTarget(name: "QuicTLSTests", dependencies: ["QuicTLS", "QuicCrypto", "CCrypto"]),
        .testTarget(name: "QuicCoreTests", dependencies: ["QuicCore", "QuicWire", "QuicCrypto", "QuicTLS", "QuicQlog"]),
        .testTarget(name: "QuicPlatformTests", dependencies: ["QuicPlatform"]),
        .testTarget(name: "SwiftQuicTests", dependencies: ["SwiftQuic", "CMsQuic"], swiftSettings: headerFlags),
    ]
)
