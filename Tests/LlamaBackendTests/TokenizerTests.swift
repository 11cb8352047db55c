import Foundation
import LlamaBackend
import Testing
import _LongctxTestSupport

/// Exact token counts: the vocabulary loaded through the C API agrees with
/// llama.cpp's own `llama-tokenize` tool on the same text.
@Suite struct TokenizerTests {
  static func referenceTokens(model: String, file: URL) throws -> [Int32] {
    guard let prefix = ProcessInfo.processInfo.environment["LONGCTX_LLAMA_PREFIX"] else {
      throw SetupPaths.Missing(description: "LONGCTX_LLAMA_PREFIX is unset; run through scripts/test.sh")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: prefix + "/bin/llama-tokenize")
    p.arguments = ["-m", model, "-f", file.path, "--ids", "--no-bos", "--log-disable"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let line = out.split(separator: "\n").last { $0.hasPrefix("[") } ?? "[]"
    return line.dropFirst().dropLast().split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
  }

  @Test(arguments: ["logs/app.log", "repo/src/manifests/writer.py", "pdf-sources/memo.ms", "unicode"])
  func countsMatchLlamaTokenize(sample: String) throws {
    let model = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let file: URL
    if sample == "unicode" {
      file = try tmp.write("u.txt", "Grüße — 日本語のテキスト, emoji 🚚 and tabs\tand  double  spaces\n")
    } else {
      file = RepositoryPaths.samples.appendingPathComponent(sample)
    }
    let text = try String(contentsOf: file, encoding: .utf8)
    let vocab = try LlamaModel(path: model, vocabOnly: true)
    let ours = vocab.tokenize(text, addSpecial: false)
    let reference = try Self.referenceTokens(model: model, file: file)
    #expect(!reference.isEmpty)
    #expect(ours == reference)
    #expect(try LlamaTokenCounter(model: vocab, vocabularyID: "t").count(text) == reference.count)
  }

  @Test func missingModelIsAClearError() {
    #expect(throws: LlamaBackendError.modelMissing(path: "/nope.gguf")) { try LlamaModel(path: "/nope.gguf", vocabOnly: true) }
  }
}
