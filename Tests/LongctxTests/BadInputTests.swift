import Foundation
import Testing
import _LongctxTestSupport

/// Bad input: one plain sentence naming the problem, exit code 2, and the
/// workspace untouched (not even created).
@Suite struct BadInputTests {
  static let validJob = """
    name: ok
    inputs: [docs]
    model:
      engine: llama
      context: 1024
    map:
      prompt: "{{window}} Summary:"
    reduce:
      prompt: "{{outputs}} Combined:"
    """

  func runInTemp(
    _ job: String?, extraFiles: [String: String] = ["docs/a.txt": "hello\n"], args: [String]? = nil,
    env: [String: String] = [:]
  ) throws -> (CLI.Result, Bool) {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    for (name, text) in extraFiles { try tmp.write(name, text) }
    if let job { try tmp.write("job.yaml", job) }
    let ws = tmp.url.appendingPathComponent("ws")
    let result = try CLI.run(args ?? ["run", "job.yaml", "--workspace", ws.path], cwd: tmp.url, environment: env)
    return (result, FileManager.default.fileExists(atPath: ws.path))
  }

  @Test func missingJobFile() throws {
    let (r, touched) = try runInTemp(nil)
    #expect(r.code == 2)
    #expect(r.stderr.contains("Cannot read job file job.yaml"))
    #expect(!touched)
  }

  @Test func unknownKeyIsNamedWithItsPathAndLine() throws {
    let (r, touched) = try runInTemp(
      Self.validJob.replacingOccurrences(of: "  context: 1024", with: "  context: 1024\n  temprature: 0.2"))
    #expect(r.code == 2)
    #expect(r.stderr.contains("model.temprature (line 6): unknown key"))
    #expect(!touched)
  }

  @Test func wrongTypeIsNamed() throws {
    let (r, touched) = try runInTemp(Self.validJob.replacingOccurrences(of: "context: 1024", with: "context: large"))
    #expect(r.code == 2)
    #expect(r.stderr.contains("model.context (line 5): must be a whole number, not 'large'"))
    #expect(!touched)
  }

  @Test func everyProblemIsReportedAtOnce() throws {
    let job = Self.validJob.replacingOccurrences(of: "name: ok", with: "name: ok\ncolour: blue")
      .replacingOccurrences(of: "{{window}} Summary:", with: "Summary:")
    let (r, _) = try runInTemp(job)
    #expect(r.code == 2)
    #expect(r.stderr.contains("colour (line 2): unknown key"))
    #expect(r.stderr.contains("map.prompt (line 8): must contain {{window}}"))
  }

  @Test func missingInputPath() throws {
    let (r, touched) = try runInTemp(Self.validJob, extraFiles: [:], env: ["LONGCTX_MODEL": try SetupPaths.model()])
    #expect(r.code == 2)
    #expect(r.stderr.contains("the job's input docs does not exist"))
    #expect(!touched)
  }

  @Test func absentModelFile() throws {
    let job = Self.validJob.replacingOccurrences(
      of: "  engine: llama", with: "  engine: llama\n  path: /nonexistent/model.gguf")
    let (r, touched) = try runInTemp(job)
    #expect(r.code == 2)
    #expect(r.stderr.contains("the model file /nonexistent/model.gguf does not exist"))
    #expect(r.stderr.split(separator: "\n").count == 1)
    #expect(!touched)
  }

  @Test func ingestOfAMissingPath() throws {
    let (r, touched) = try runInTemp(nil, args: ["ingest", "nope", "--workspace", "ws"])
    #expect(r.code == 2)
    #expect(r.stderr.contains("No such file or directory: nope"))
    #expect(!touched)
  }

  @Test func unknownFlagIsAUsageError() throws {
    let (r, _) = try runInTemp(nil, args: ["run", "--frobnicate"])
    #expect(r.code == 2)
  }

  @Test func helpListsTheSubcommands() throws {
    let (r, _) = try runInTemp(nil, args: ["--help"])
    #expect(r.code == 0)
    for sub in ["ingest", "plan", "run", "status", "report"] { #expect(r.stdout.contains(sub)) }
  }
}
