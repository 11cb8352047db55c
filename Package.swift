// swift-tools-version: 6.0
import PackageDescription

// llama.cpp is built by scripts/setup.sh into a cache prefix that is not on
// the default library path; bake that prefix into the executables' rpath so
// `.build/*/longctx` runs without LD_LIBRARY_PATH.
let llamaPrefix = Context.environment["LONGCTX_LLAMA_PREFIX"]
let rpath: [LinkerSetting] =
  llamaPrefix.map {
    [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", "\($0)/lib"])]
  } ?? []
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
  name: "longctx",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "longctx", targets: ["longctx"]),
    .library(name: "Ingest", targets: ["Ingest"]),
    .library(name: "Segmenter", targets: ["Segmenter"]),
    .library(name: "Inference", targets: ["Inference"]),
    .library(name: "Pipeline", targets: ["Pipeline"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    // The shared workspace on PostgreSQL (issue 30): task claims, leases and workers.
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
  ],
  targets: [
    // MARK: C libraries (pkg-config)
    // poppler-glib, Tesseract, libarchive, llama.cpp and libcurl are declared through scripts/pkgconfig's
    // `longctx-*` files: their headers, no -l flags. Nothing links them; longctx calls them through CLazyLoad's
    // trampolines, which load each on first use (issue 32), so a log-only run never maps or relocates them.
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CLzma", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
    // Debian's libbz2-dev has no pkg-config file; the header and library are on the default paths.
    .systemLibrary(name: "CBzip2", providers: [.apt(["libbz2-dev"])]),
    .systemLibrary(
      name: "CPoppler", pkgConfig: "longctx-poppler", providers: [.apt(["libpoppler-glib-dev"])]),
    // Tesseract's C API and leptonica (its image library): OCR of scanned pages and images.
    .systemLibrary(
      name: "CTesseract", pkgConfig: "longctx-tesseract", providers: [.apt(["libtesseract-dev", "libleptonica-dev"])]),
    .systemLibrary(name: "CLlama", pkgConfig: "longctx-llama"),
    .systemLibrary(name: "CCurl", pkgConfig: "longctx-curl", providers: [.apt(["libcurl4-openssl-dev"])]),
    // ZIP, 7z, TAR (plain and compressed) and the other archives libarchive reads.
    .systemLibrary(name: "CArchive", pkgConfig: "longctx-archive", providers: [.apt(["libarchive-dev"])]),

    // Trampolines into the C libraries above, which dlopen them on first use (scripts/lazy-libraries.sh).
    .target(name: "CLazyLoad", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
    // lcms2's sRGB curves sampled once per process, not once per PDF page (issue 32): registered with the lcms2
    // that poppler loads, found through dlopen.
    .target(
      name: "CToneCurves",
      linkerSettings: [
        .linkedLibrary("dl", .when(platforms: [.linux])), .linkedLibrary("m", .when(platforms: [.linux])),
      ]),

    // MARK: Libraries
    .target(
      name: "Storage",
      dependencies: [
        "CZstd",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Ingest",
      dependencies: [
        "Storage", "CLazyLoad", "CToneCurves", "CPoppler", "CTesseract", "CZlib", "CLzma", "CBzip2", "CArchive",
        .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
        // Encrypted Office files: SHA-1/SHA-2 key derivation, AES-CBC.
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ]),
    // The engine seam: requests, results, errors, token counting and the KV
    // checkpoint store. Backends depend on this and Workspace only.
    .target(
      name: "Inference",
      dependencies: ["Storage", .product(name: "Logging", package: "swift-log")]),
    .target(
      name: "Segmenter",
      dependencies: ["Storage", "Ingest", "Inference", .product(name: "GRDB", package: "GRDB.swift")]),
    .target(
      name: "Pipeline",
      dependencies: [
        "Storage", "Ingest", "Segmenter", "Inference", .product(name: "Yams", package: "Yams"),
        .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "LlamaBackend",
      dependencies: ["CLlama", "CLazyLoad", "Inference", "Storage", .product(name: "Logging", package: "swift-log")]),
    .target(
      name: "HTTPBackend",
      dependencies: ["CCurl", "CLazyLoad", "Inference", "Storage", .product(name: "Logging", package: "swift-log")]),
    // A job's shared state on PostgreSQL: the task queue workers claim from (leases, heartbeats, workers).
    .target(
      name: "SharedWorkspace",
      dependencies: [
        "Pipeline", "Inference", "Storage", "Ingest",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "LongctxCommands",
      dependencies: [
        "Ingest", "Segmenter", "Inference", "Pipeline", "LlamaBackend", "HTTPBackend", "Storage",
        "SharedWorkspace",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
      ]),
    .executableTarget(
      name: "longctx", dependencies: ["LongctxCommands", "Ingest", "Inference", "Storage"],
      linkerSettings: rpath),
    .executableTarget(
      name: "longctx-bench-kv", dependencies: ["LlamaBackend", "Inference", "Storage"],
      linkerSettings: rpath),
    .target(name: "_LongctxTestSupport", dependencies: ["Pipeline", "Inference", "Storage"]),
    .executableTarget(
      name: "longctx-bench",
      dependencies: [
        "Pipeline", "Segmenter", "Inference", "Storage", "Ingest", "LlamaBackend", "SharedWorkspace",
        "_LongctxTestSupport",
        .product(name: "Logging", package: "swift-log"),
      ], linkerSettings: rpath),

    // MARK: Tests (each declares every module it imports)
    .testTarget(name: "StorageTests", dependencies: ["Storage", grdb]),
    .testTarget(
      name: "SharedWorkspaceTests",
      dependencies: [
        "SharedWorkspace", "Pipeline", "Inference", "Storage", "_LongctxTestSupport", logging,
        .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
      ]),
    .testTarget(
      name: "IngestTests",
      dependencies: ["Ingest", "Storage", "_LongctxTestSupport", "CZlib", "CToneCurves", grdb, logging]),
    .testTarget(
      name: "SegmenterTests",
      dependencies: ["Segmenter", "Ingest", "Inference", "Pipeline", "Storage", "_LongctxTestSupport", logging]),
    .testTarget(name: "InferenceTests", dependencies: ["Inference", "Storage", "_LongctxTestSupport"]),
    .testTarget(
      name: "PipelineTests",
      dependencies: [
        "Pipeline", "Segmenter", "Ingest", "Inference", "Storage", "_LongctxTestSupport", grdb, logging,
      ]),
    .testTarget(
      name: "LlamaBackendTests",
      dependencies: ["LlamaBackend", "Inference", "Pipeline", "Segmenter", "Ingest", "Storage", "_LongctxTestSupport"],
      linkerSettings: rpath),
    .testTarget(
      name: "HTTPBackendTests",
      dependencies: [
        "HTTPBackend", "Inference", "Pipeline", "Segmenter", "Storage", "SharedWorkspace", "_LongctxTestSupport",
        logging,
      ]),
    .testTarget(
      name: "LongctxTests",
      dependencies: [
        "LongctxCommands", "HTTPBackend", "Inference", "Ingest", "LlamaBackend", "Pipeline", "Segmenter", "Storage",
        "SharedWorkspace", "_LongctxTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Crypto", package: "swift-crypto"), logging,
      ],
      linkerSettings: rpath),
  ]
)
