import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct RedactorTests {
  let here = Locator(path: "conf.py", lineStart: 1, lineEnd: 9)

  @Test func allRulesCompile() { #expect(Redactor.rules.count == 5) }

  @Test(arguments: [
    ("key = AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
    ("token: ghp_0123456789abcdefghijABCDEFGHIJ012345", "github-token"),
    ("SLACK=xoxb-1234567890-0987654321-AbCdEfGhIjKl", "slack-token"),
    (#"db_password = "t7#Qv9!pL2x@Wm""#, "secret-assignment"),
    ("api_key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "secret-assignment"),
  ])
  func redacts(text: String, kind: String) {
    var r = Redactor()
    let out = r.redact(text, locator: here)
    #expect(out.contains("[REDACTED:\(kind)]"), "\(out)")
    #expect(r.found.map(\.kind) == [kind])
    #expect(r.warnings == ["secret redacted (\(kind)) at conf.py#L1-L9"])
  }

  @Test(arguments: [
    #"password = "changeme""#,
    "password = os.environ['DB_PASSWORD']",
    "api_key = ${API_KEY}",
    "self.token = config.token_value",
    "the password is short",
    "tokenizer: exact",
  ])
  func keepsNonSecrets(text: String) {
    var r = Redactor()
    #expect(r.redact(text, locator: here) == text)
    #expect(r.found.isEmpty)
  }

  @Test func privateKeyBlock() {
    let text = """
      before
      -----BEGIN OPENSSH PRIVATE KEY-----
      b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
      -----END OPENSSH PRIVATE KEY-----
      after
      """
    var r = Redactor()
    #expect(r.redact(text, locator: here) == "before\n[REDACTED:private-key]\nafter")
  }

  @Test func disabledDoesNothing() {
    var r = Redactor(enabled: false)
    #expect(r.redact("AKIAIOSFODNN7EXAMPLE", locator: here) == "AKIAIOSFODNN7EXAMPLE")
  }

  @Test func ingestRecordsKindAndLocatorNeverTheSecret() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let secret = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
    try f.dir.write("src/deploy.py", "import os\n\nGITHUB_TOKEN = '\(secret)'\nprint('deploying')\n")
    try f.dir.write("src/service.log", "2026-03-09T02:54:06Z INFO login with AKIAIOSFODNN7EXAMPLE ok\n")
    let summary = try await f.ingest(["src"])
    let warnings = summary.exceptions.filter { $0.severity == "warning" }.map { "\($0.path): \($0.reason)" }
    #expect(warnings.sorted() == [
      "src/deploy.py: secret redacted (github-token) at src/deploy.py#L1-L4",
      "src/service.log: secret redacted (aws-access-key) at src/service.log#L1",
    ])
    let stored = try Corpus(workspace: f.workspace).exceptions()
    #expect(!stored.contains { $0.reason.contains(secret) })
    let py = try #require(summary.files.first { $0.displayPath == "src/deploy.py" })
    let text = try Corpus(workspace: f.workspace).sections(ofDocument: py.documentHash, displayPath: "src/deploy.py")
      .map(\.text).joined()
    #expect(!text.contains(secret))
    #expect(text.contains("GITHUB_TOKEN = '[REDACTED:github-token]'"))
  }
}
