// swift-tools-version: 6.0
// Fuzz harnesses that need the main package's dependencies (Yams, Workspace):
// built by scripts/fuzz.sh with
//   swift build -c release --package-path fuzz --scratch-path .build-fuzz/spm \
//     -Xswiftc -sanitize=fuzzer -Xswiftc -enable-testing
// (every module instrumented; -enable-testing for @testable imports of internal API).
// The other harnesses are compiled directly with swiftc (see scripts/fuzz.sh).
import PackageDescription

let harness: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
let fuzzer: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer"])]

let package = Package(
  name: "longctx-fuzz",
  platforms: [.macOS(.v14)],
  dependencies: [.package(name: "longctx", path: "..")],
  targets: [
    .executableTarget(
      name: "fuzz-jobfile", dependencies: [.product(name: "Pipeline", package: "longctx")],
      path: "jobfile", exclude: ["corpus"], sources: ["main.swift"], swiftSettings: harness, linkerSettings: fuzzer),
    .executableTarget(
      name: "fuzz-logscan", dependencies: [.product(name: "Ingest", package: "longctx")],
      path: "logscan", exclude: ["corpus"], sources: ["main.swift"], swiftSettings: harness, linkerSettings: fuzzer),
  ]
)
