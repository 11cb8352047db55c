import Foundation
import Ingest
import Pipeline
import Testing

@Suite struct JobFileTests {
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

  func problems(_ yaml: String) -> [String] {
    do {
      _ = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp")
      return []
    } catch PipelineError.jobInvalid(_, let problems) {
      return problems
    } catch {
      return ["\(error)"]
    }
  }

  @Test func validJobHasDefaults() throws {
    let spec = try JobFile.parse(Self.base, path: "j.yaml", baseDirectory: "/tmp")
    #expect(spec.model.engine.rawValue == "llama")
    #expect(spec.generation.maxTokens == 256)
    #expect(spec.generation.temperature == 0)
  }

  @Test(arguments: [
    ("model:\n  context: 4096", "model:\n  context: 4096\n  contxt: 1", "model.contxt (line 5): unknown key"),
    ("context: 4096", "context: [1]", "model.context (line 4): must be a whole number"),
    ("name: j", "name: has space", "name (line 1): must use only letters"),
    (
      "prompt: \"{{outputs}}\"", "prompt: \"{{outputs}} {{nope}}\"",
      "reduce.prompt (line 8): uses unknown variables {{nope}}"
    ),
    ("inputs: [a]\n", "", "inputs: is required"),
  ])
  func problemsNameKeyAndLine(original: String, replacement: String, expected: String) {
    let found = problems(Self.base.replacingOccurrences(of: original, with: replacement))
    #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
  }

  @Test func ocrSettingsParseAndBadOnesAreNamed() throws {
    #expect(try JobFile.parse(Self.base, path: "j.yaml", baseDirectory: "/tmp").ocr == nil)
    let yaml = Self.base + "\nocr:\n  mode: force\n  languages: eng+deu\n  dpi: 400\n"
    let ocr = try #require(try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp").ocr)
    #expect(ocr == OCRSettings(mode: .force, languages: "eng+deu", dpi: 400))
    let bad = problems(Self.base + "\nocr:\n  mode: always\n  dpi: 20\n  lang: x\n")
    #expect(
      bad.contains { $0.hasPrefix("ocr.mode (line 10): must be one of auto, force, off, not 'always'") }, "\(bad)")
    #expect(bad.contains { $0.hasPrefix("ocr.dpi (line 11): must be between 50 and 1200, not 20") }, "\(bad)")
    #expect(bad.contains { $0.hasPrefix("ocr.lang (line 12): unknown key") }, "\(bad)")
    let languages = problems(Self.base + "\nocr:\n  languages: \"eng; rm\"\n")
    #expect(languages.contains { $0.hasPrefix("ocr.languages (line 10): must be Tesseract codes") }, "\(languages)")
  }

  @Test func planKeysParseDurationsAndReportBadOnes() throws {
    let withPlan = { (body: String) in Self.base + "\nplan:\n" + body }
    let spec = try JobFile.parse(
      withPlan("  log_window: 15m\n  collapse_duplicates: false"), path: "j.yaml", baseDirectory: "/tmp")
    #expect(spec.planOptions.logWindow == 900)
    #expect(spec.planOptions.collapseDuplicates == false)
    #expect(try JobFile.parse(Self.base, path: "j.yaml", baseDirectory: "/tmp").planOptions.logWindow == 3600)
    #expect(
      try JobFile.parse(withPlan("  log_window: off"), path: "j.yaml", baseDirectory: "/tmp").planOptions.logWindow
        == nil)
    #expect(
      problems(withPlan("  log_window: soon")).contains {
        $0.hasPrefix("plan.log_window (line 10): must be a duration")
      })
  }

  @Test func openAIRequiresABaseURL() {
    let found = problems(Self.base.replacingOccurrences(of: "context: 4096", with: "context: 4096\n  engine: openai"))
    #expect(found.contains { $0.hasPrefix("model.base_url") })
  }

  @Test func slotSavePathNeedsOneLlamaServerWithCompletions() throws {
    let server = "model:\n  engine: openai\n  base_url: http://h/v1\n  context: 4096\n  slot_save_path: slots"
    let spec = try JobFile.parse(
      Self.base.replacingOccurrences(of: "model:\n  context: 4096", with: server), path: "j.yaml",
      baseDirectory: "/jobs")
    #expect(spec.model.slotSavePath == "/jobs/slots")  // relative to the job file
    let llama = Self.base.replacingOccurrences(of: "context: 4096", with: "context: 4096\n  slot_save_path: /s")
    #expect(problems(llama).first?.hasPrefix("model.slot_save_path (line 5): needs model.engine 'openai'") == true)
    let chat = Self.base.replacingOccurrences(of: "model:\n  context: 4096", with: server + "\n  api: chat")
    #expect(problems(chat).first?.contains("needs model.api 'completions'") == true)
    let two = Self.base.replacingOccurrences(
      of: "model:\n  context: 4096",
      with: server.replacingOccurrences(of: "http://h/v1", with: "[http://a/v1, http://b/v1]"))
    #expect(problems(two).first?.contains("works with one model.base_url") == true)
  }

  @Test func templateSplitsAfterTheWindow() {
    let (prefix, suffix) = PromptTemplate.render(
      "Read:\n{{window}}\nQ: {{question}}", values: ["window": "W", "question": "why"], splitAfter: "window")
    #expect(prefix == "Read:\nW")
    #expect(suffix == "\nQ: why")
  }
}

/// The job table's spec hash: equal settings hash equal however they were
/// written; any change of a setting changes it.
@Suite struct JobSpecHashTests {
  func spec(_ yaml: String) throws -> JobSpec { try JobFile.parse(yaml, path: "h.yaml", baseDirectory: "/tmp") }

  @Test func equalSettingsHashEqualAndAChangedSettingDoesNot() throws {
    let a = try spec(
      "name: h\ninputs: [docs]\nmap: {prompt: \"{{window}}\"}\nreduce: {prompt: \"{{outputs}}\"}\nmodel: {context: 4096}\n"
    )
    let reordered = try spec(
      "name: h\nmodel: {context: 4096}\nmap: {prompt: \"{{window}}\"}\nreduce: {prompt: \"{{outputs}}\"}\ninputs: [docs]\n"
    )
    let changed = try spec(
      "name: h\ninputs: [docs]\nmap: {prompt: \"{{window}}\"}\nreduce: {prompt: \"{{outputs}}\"}\nmodel: {context: 8192}\n"
    )
    #expect(a.canonicalHash.count == 64)
    #expect(a.canonicalHash == reordered.canonicalHash)
    #expect(a.canonicalHash != changed.canonicalHash)
  }
}
