import Foundation
import Pipeline
import Segmenter
import Testing

/// `plan.semantic` in a job file: on by default, off with `false`, and the job's hash only
/// changes when it is given.
@Suite struct JobFileSemanticTests {
  static func spec(_ plan: String) throws -> JobSpec {
    let yaml = """
      name: unit
      inputs: [docs]
      model: {engine: llama}
      question: Who was barred from signing in?
      plan: \(plan)
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      """
    return try JobFile.parse(yaml, path: "unit.yaml", baseDirectory: "/tmp")
  }

  @Test func semanticIsOnUnlessTheJobTurnsItOff() throws {
    let plain = try Self.spec("{max_windows: 1}")
    #expect(plain.semantic == nil)
    #expect(plain.planOptions.semantic)
    #expect(plain.planOptions.semanticBlend == .rrf)
    #expect(plain.planOptions.semanticWeight == 0.85)
    let off = try Self.spec("{max_windows: 1, semantic: false}")
    #expect(off.semantic == false)
    #expect(!off.planOptions.semantic)
    #expect(off.canonicalHash != plain.canonicalHash)
    #expect(try Self.spec("{max_windows: 1, semantic: true}").planOptions.semantic)
  }
}
