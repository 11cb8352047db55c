import Foundation
import Testing

@testable import Ingest

@Suite struct TemplateEvaluationTests {
  /// A loghub-shaped system folder `NAME/` in a fresh temporary directory.
  private static func system(_ name: String, log: String, csvs: [String: String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tmpl-eval-\(UUID().uuidString)")
      .appendingPathComponent(name)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try Data(log.utf8).write(to: dir.appendingPathComponent("\(name)_2k.log"))
    for (file, text) in csvs { try Data(text.utf8).write(to: dir.appendingPathComponent(file)) }
    return dir
  }

  private static let log = "a 1 started\r\nb 2 stopped\n"
  private static let header = "LineId,Content,EventId,EventTemplate\n"

  @Test func labelSetsKeepTheLinesOnceAndEachSetsTemplates() throws {
    let dir = try Self.system(
      "Toy", log: Self.log,
      csvs: [
        "Toy_2k.log_structured.csv": Self.header + "1,a 1 started,E1,a <*> started\n2,b 2 stopped,E2,b 2 stopped\n",
        "Toy_2k.log_structured_corrected.csv": Self.header
          + "1,a 1 started,E1,a <*> started\n2,b 2 stopped,E2,b <*> stopped\n",
      ])
    defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
    let loaded = try #require(try TemplateEvaluation.loadLoghubLabelSets(dir))
    #expect(loaded.lines == ["a 1 started", "b 2 stopped"])
    #expect(loaded.labels[.original] == ["a <*> started", "b 2 stopped"])
    #expect(loaded.labels[.corrected] == ["a <*> started", "b <*> stopped"])
  }

  @Test func labelSetsHoldOnlyTheSetsThatLoad() throws {
    let dir = try Self.system(
      "Toy", log: Self.log,
      csvs: [
        "Toy_2k.log_structured.csv": Self.header + "1,a 1 started,E1,a <*> started\n2,b 2 stopped,E2,b <*> stopped\n",
        // One row for two lines: the set disagrees with the log and is left out.
        "Toy_2k.log_structured_corrected.csv": Self.header + "1,a 1 started,E1,a <*> started\n",
      ])
    defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
    let loaded = try #require(try TemplateEvaluation.loadLoghubLabelSets(dir))
    #expect(Array(loaded.labels.keys) == [.original])
    #expect(loaded.lines.count == 2)
  }

  @Test func noLabelSetIsNil() throws {
    let dir = try Self.system("Toy", log: Self.log, csvs: [:])
    defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
    #expect(try TemplateEvaluation.loadLoghubLabelSets(dir) == nil)
  }
}
