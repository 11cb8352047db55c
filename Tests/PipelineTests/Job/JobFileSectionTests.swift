import Foundation
import Inference
import Testing

@testable import Pipeline

/// Each section of a job file is read by its own function (`JobFile.model`, `.plan`, …): every
/// one still names its problems with the key and the line, lists the allowed values of its
/// enumerations from the enumeration itself, and `model.base_url` is a list.
@Suite struct JobFileSectionTests {
  /// A valid job; the first line of every section is where a test adds or replaces a key.
  static let base = """
    name: j
    inputs: [a]
    model:
      context: 4096
    map:
      prompt: "{{window}}"
    reduce:
      prompt: "{{outputs}}"
    """

  static func problems(_ yaml: String) -> [String] {
    do {
      _ = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp")
      return []
    } catch PipelineError.jobInvalid(_, let problems) {
      return problems
    } catch {
      return ["\(error)"]
    }
  }

  static func spec(_ yaml: String) throws -> JobSpec {
    try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp")
  }

  /// One problem per section, each on the line the test put it on (line 9 is the first after the base).
  @Test(arguments: [
    ("generation:\n  max_tokens: 5000", "generation.max_tokens (line 10): must be between 1 and model.context - 1"),
    ("generation:\n  temperature: -1", "generation.temperature (line 10): must not be negative"),
    ("report:\n  formats: [md, docx]", "report.formats (line 10): 'docx' is not a report format (md, json, html, csv)"),
    ("report:\n  rolling_path: r.md", "report.rolling_path (line 10): is only used with 'incremental: true'"),
    ("plan:\n  max_windows: 0", "plan.max_windows (line 10): must be at least 1"),
    ("plan:\n  log_window: soon", "plan.log_window (line 10): must be a duration such as 15m, 1h or 1d, or off"),
    ("ingest:\n  redact: maybe", "ingest.redact (line 10): must be true or false, not 'maybe'"),
    (
      "production:\n  prefix: ACME\n  dedup: all",
      "production.dedup (line 11): must be global, custodial or none, not 'all'"
    ),
    ("production:\n  prefix: ACME1", "production.prefix (line 10): must not end in a digit"),
    ("production:\n  prefix: A-\n  digits: 20", "production.digits (line 11): must be between 1 and 15"),
    ("ocr:\n  mode: always", "ocr.mode (line 10): must be one of auto, force, off, not 'always'"),
    ("limits:\n  rpm: 3", "limits.rpm (line 10): unknown key"),
    ("budget:\n  tokens: 0", "budget.tokens (line 10): must be positive"),
    ("incremental: sometimes", "incremental (line 9): must be true or false, not 'sometimes'"),
  ])
  func aSectionsProblemNamesItsKeyAndLine(added: String, expected: String) {
    let found = Self.problems(Self.base + "\n" + added + "\n")
    #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
  }

  /// `model:` keys whose values are enumerations: the message lists every case, quoted.
  @Test(arguments: [
    ("engine: remote", "model.engine (line 5): must be 'llama' or 'openai', not 'remote'"),
    ("api: stream", "model.api (line 5): must be 'completions' or 'chat', not 'stream'"),
    ("prompt_format: html", "model.prompt_format (line 5): must be 'raw' or 'chat', not 'html'"),
    ("kv_cache: q4_0", "model.kv_cache (line 5): must be 'f16' or 'q8_0', not 'q4_0'"),
    ("timeout: 0", "model.timeout (line 5): must be a positive number of seconds"),
    ("concurrency: 0", "model.concurrency (line 5): must be at least 1"),
  ])
  func modelEnumerationsListTheirCases(line: String, expected: String) {
    let found = Self.problems(Self.base.replacingOccurrences(of: "  context: 4096", with: "  context: 4096\n  " + line))
    #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
  }

  @Test func inputsProblemsNameTheirLine() {
    let found = Self.problems(Self.base.replacingOccurrences(of: "inputs: [a]", with: "inputs:\n  - {path: a, who: b}"))
    #expect(found.contains { $0.hasPrefix("inputs[].who (line 3): unknown key") }, "\(found)")
    let empty = Self.problems(Self.base.replacingOccurrences(of: "inputs: [a]", with: "inputs: []"))
    #expect(empty.contains { $0.hasPrefix("inputs (line 2): must name at least one path") }, "\(empty)")
  }

  @Test func mapPerAndCodingRulesListTheirCases() {
    let per = Self.problems(Self.base.replacingOccurrences(of: "map:\n", with: "map:\n  per: page\n"))
    #expect(per.contains { $0.hasPrefix("map.per (line 6): must be 'window' or 'document', not 'page'") }, "\(per)")
    let schema = #"{"type": "object", "properties": {"hot": {"type": "boolean"}, "page": {"type": "string"}}}"#
    let coding = Self.problems(
      Self.base.replacingOccurrences(of: "map:\n", with: "map:\n  json_schema: '\(schema)'\n")
        + "\ncoding:\n  document_field: page\n  fields: {hot: most}\n")
    #expect(
      coding.contains { $0.hasPrefix("coding.fields.hot (line 12): must be 'any' or 'all', not 'most'") }, "\(coding)")
  }

  /// `plan.semantic` and `question` were read after the problems were counted: a bad value
  /// was silently dropped. They are named like every other key now.
  @Test func semanticAndQuestionProblemsAreNotDropped() {
    let semantic = Self.problems(Self.base + "\nplan:\n  semantic: often\n")
    #expect(
      semantic.contains { $0.hasPrefix("plan.semantic (line 10): must be true or false, not 'often'") }, "\(semantic)")
    let question = Self.problems(Self.base + "\nquestion: [a, b]\n")
    #expect(question.contains { $0.hasPrefix("question (line 9): must be a string") }, "\(question)")
  }

  @Test func enumerationsAreListedInDeclarationOrder() {
    typealias Reader = JobFile.Reader
    #expect(Reader.alternatives(EngineKind.self, .quoted) == "'llama' or 'openai'")
    #expect(Reader.alternatives(JobSpec.ProductionSpec.Dedup.self, .plain) == "global, custodial or none")
    #expect(Reader.alternatives(KVCacheType.self, .list) == "one of f16, q8_0")
  }

  // MARK: - model.base_url

  static func server(_ baseURL: String) -> String {
    Self.base.replacingOccurrences(
      of: "  context: 4096", with: "  context: 4096\n  engine: openai\n  base_url: \(baseURL)")
  }

  @Test(arguments: [
    ("http://a:1/v1", ["http://a:1/v1"]),
    // A YAML list, in flow and block style.
    ("[http://a:1/v1, \"http://b:2/v1\"]", ["http://a:1/v1", "http://b:2/v1"]),
    ("\n    - http://a:1/v1\n    - http://b:2/v1", ["http://a:1/v1", "http://b:2/v1"]),
    // The comma-joined string older job files have: still read, as a list.
    ("\"http://a:1/v1,http://b:2/v1\"", ["http://a:1/v1", "http://b:2/v1"]),
    ("\"http://a:1/v1, http://b:2/v1,\"", ["http://a:1/v1", "http://b:2/v1"]),
    ("[\"http://a:1/v1,http://b:2/v1\", http://c:3/v1]", ["http://a:1/v1", "http://b:2/v1", "http://c:3/v1"]),
  ])
  func baseURLIsAList(yaml: String, expected: [String]) throws {
    #expect(try Self.spec(Self.server(yaml)).model.baseURLs == expected)
  }

  @Test func aServerNeedsABaseURL() throws {
    let none = Self.base.replacingOccurrences(of: "  context: 4096", with: "  context: 4096\n  engine: openai")
    let required = { (problems: [String]) in
      problems.contains {
        $0.hasPrefix("model.base_url (line ") && $0.contains("is required when model.engine is 'openai'")
      }
    }
    #expect(required(Self.problems(none)))
    let empty = Self.problems(Self.server("[]"))
    #expect(required(empty), "\(empty)")
    #expect(try Self.spec(Self.base).model.baseURLs == [])
    let notStrings = Self.problems(Self.server("{a: 1}"))
    #expect(notStrings.contains { $0.hasPrefix("model.base_url (line 6): must be a list of strings") }, "\(notStrings)")
  }

  @Test func slotsNeedOneServerWhicheverWayTheURLsAreWritten() {
    for urls in ["[http://a/v1, http://b/v1]", "\"http://a/v1,http://b/v1\""] {
      let found = Self.problems(Self.server(urls).replacingOccurrences(of: "map:", with: "  slot_save_path: s\nmap:"))
      #expect(
        found.contains { $0.hasPrefix("model.slot_save_path (line 7): works with one model.base_url") }, "\(found)")
    }
    #expect(
      Self.problems(Self.server("http://a/v1").replacingOccurrences(of: "map:", with: "  slot_save_path: s\nmap:"))
        == [])
  }
}
