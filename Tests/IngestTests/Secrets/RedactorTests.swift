import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct RedactorTests {
  let here = Locator(path: "conf.py", lineStart: 1, lineEnd: 9)

  @Test func allRulesCompile() {
    #expect(Redactor.rules.count == 11)
    #expect(Redactor.rules.filter { $0.regex == nil }.map(\.kind) == ["secret-assignment"])
    #expect(Redactor.rules[Redactor.assignmentRule].kind == "secret-assignment")
  }

  @Test(arguments: [
    ("key = AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
    ("token: ghp_0123456789abcdefghijABCDEFGHIJ012345", "github-token"),
    ("SLACK=xoxb-1234567890-0987654321-AbCdEfGhIjKl", "slack-token"),
    (#"db_password = "t7#Qv9!pL2x@Wm""#, "secret-assignment"),
    ("api_key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "secret-assignment"),
    // The formats gitleaks and secretlint test for (their fixtures' shapes; the values are made up).
    ("GOOGLE_API_KEY=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "google-api-key"),
    ("stripe: sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"),
    ("rk_live_51H8abcdefghijklmnopqrstu was rotated", "stripe-key"),
    ("CI_TOKEN glpat-xYz12AbCdEfGhIjKlMnO used", "gitlab-token"),
    ("//registry.npmjs.org/:_authToken npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm-token"),
    (
      "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "jwt"
    ),
    ("password: pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAxMjM0NTY3ODkw", "pypi-token"),
    (#"{"client_secret": "Zx9-Q4r_Lm2vTt8wBk"}"#, "secret-assignment"),
    ("export DB_PASSWD=Hk82!mZq0pW", "secret-assignment"),
    ("PGPASSWORD := s3cr3tPa55", "secret-assignment"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8mL2kTr0", "secret-assignment"),
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
    // Real log lines: an Android object dump, sshd, macOS XPC activity names, Java object references.
    "03-17 16:13:38.811  1702  2395 D WindowManager: wtoken = AppWindowToken{9f4ef63 token=Token{a64f992 ActivityRecord{5e1b0ce u0 com.tencent.qt.qtl/.activity.info.NewsDetailXmlActivity t761}}}",
    "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
    "Dec 10 07:02:47 LabSZ sshd[24203]: Failed password for root from 112.95.230.3 port 45378 ssh2",
    "Jul  1 09:01:05 calvisitor-10-105-160-95 com.apple.xpc.launchd[1] (com.apple.xpc.launchd.domain): token: com.apple.xpc.activity/4505: ok",
    "mToken=android.os.BinderProxy@4fd6a2c state=3",
    "if (token == previousToken) return",
    "GET /reset-password/3f2a9c0e1b7d4f6a8e5c2b1d0f9a8e7c HTTP/1.1",
    "token=https://example.org/callback?x=1",
    // Swift from swift-nio 2.101.3: argument labels and names, not secrets.
    "source.enqueueCallback(callbackToken: callbackToken, onProduceMore: onProduceMore)",
    "context.leavePipeline(removalToken: removalToken!)",
    "``enqueueCallback(callbackToken:onProduceMore:)``",
    // GRDB.swift 7.10.0.
    "func tokenize(tokenization: FTS5Tokenization, tokenCallback: FTS5WrapperTokenCallback)",
    "xTokenize(pCtx, tokenization:pText:nText:tokenCallback:)",
    "init(callbackToken: Source.WriteResult.CallbackToken?)",
    "tokenCallback: @escaping TokenCallback",
  ])
  func keepsNonSecrets(text: String) {
    var r = Redactor()
    #expect(r.redact(text, locator: here) == text)
    #expect(r.found.isEmpty)
  }

  /// The sshd lines that the old regular expression was slow on stay as they are
  /// (their speed is in the ingest benchmark, `bench/ingest.sh`).
  @Test func manyFailedPasswordLinesStayFaithful() {
    let line =
      "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2\n"
    let text = String(repeating: line, count: 20_000)  // 2.2 MB
    var r = Redactor()
    #expect(r.redact(text, locator: here) == text)
    #expect(r.found.isEmpty)
  }

  /// No redaction on the real logs of the shared corpus (none of them holds a secret).
  @Test func noFalsePositivesOnTheSharedCorpusLogs() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("skipped: ../shared/corpus is absent")
      return
    }
    let logs = RepositoryPaths.files(under: corpus.appendingPathComponent("logs"), suffixes: [".log", ".0", ".3"])
    #expect(logs.count >= 10)
    for url in logs {
      let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
      var r = Redactor()
      _ = r.redact(text, locator: here)
      #expect(r.found.isEmpty, "\(url.lastPathComponent): \(r.found.map(\.kind))")
    }
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
    let warnings = summary.exceptions.filter { $0.severity == .warning }.map { "\($0.path): \($0.reason)" }
    #expect(
      warnings.sorted() == [
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
