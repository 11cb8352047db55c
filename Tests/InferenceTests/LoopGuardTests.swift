import Foundation
import Inference
import Testing
import _LongctxTestSupport

/// The loop guard's stop: where an output that repeats itself is cut.
@Suite struct LoopGuardTests {
  /// The 270M model's numbered loop, as it wrote it before the guard.
  static let numbered = (1...10).map { "\($0). The service is not available." }.joined(separator: "\n")

  @Test func aNumberedListOfOneSentenceKeepsTwoCopies() throws {
    let end = try #require(RepetitionStop.cut(Self.numbered, maxRepeats: 2))
    #expect(String(Self.numbered[..<end]) == "1. The service is not available.\n2. The service is not available.")
    let request = GenerationRequest(prefix: "p", suffix: "", maxTokens: 10, loopGuard: .standard)
    #expect(request.cuttingLoops(Self.numbered).text == String(Self.numbered[..<end]))
  }

  @Test func sentencesRepeatedWithinAParagraphAreCutBeforeTheThirdCopy() throws {
    let text =
      "The contract renews on 1 April. The vendor must respond within 4 hours. The vendor must respond within 4 hours. "
      + "the vendor must  respond within 4 hours! The vendor must respond"
    let end = try #require(RepetitionStop.cut(text, maxRepeats: 2))
    #expect(
      String(text[..<end])
        == "The contract renews on 1 April. The vendor must respond within 4 hours. The vendor must respond within 4 hours."
    )
  }

  /// A loop without sentence ends (a run of words over and over) is cut by the word runs.
  @Test func aRunOfWordsWithoutSentenceEndsIsCut() throws {
    let run = "retry the upload to the primary store and then report the result to the operator"
    let text = "Notes: " + Array(repeating: run, count: 4).joined(separator: ", ")
    let end = try #require(RepetitionStop.cut(text, maxRepeats: 2, ngramWords: 12))
    let kept = String(text[..<end])
    #expect(kept.components(separatedBy: run).count - 1 == 2, "\(kept)")
  }

  @Test func ordinaryTextIsLeftAlone() {
    let text = """
      1. [app.log#L2-L4] The database pool timed out three times.
      2. [app.log#L9] The retry succeeded.
      - Yes.
      - Yes.
      - Yes.
      3. [memo.pdf#page=1] The service level is 99.5 percent. The service level is 99.5 percent.
      """
    #expect(RepetitionStop.cut(text, maxRepeats: 2) == nil, "short sentences and two copies are allowed")
    #expect(RepetitionStop.cut("", maxRepeats: 2) == nil)
  }

  /// Under a JSON Schema or a grammar the output is never cut; without a guard, neither.
  @Test func structuredOutputsAndUnguardedRequestsAreNotCut() {
    var request = GenerationRequest(prefix: "p", suffix: "", maxTokens: 10, loopGuard: .standard)
    #expect(request.cutsLoops)
    request.jsonSchema = "{\"type\": \"object\"}"
    #expect(!request.cutsLoops && request.cuttingLoops(Self.numbered).text == Self.numbered)
    request.jsonSchema = nil
    request.grammar = "root ::= \"a\""
    #expect(!request.cutsLoops)
    let plain = GenerationRequest(prefix: "p", suffix: "", maxTokens: 10)
    #expect(plain.cuttingLoops(Self.numbered).text == Self.numbered && !plain.cuttingLoops(Self.numbered).cut)
  }

  /// Every setting is in the key task hashes are made from.
  @Test func theHashKeyNamesEverySetting() {
    var other = LoopGuard.standard
    other.maxRepeats = 3
    #expect(other.hashKey != LoopGuard.standard.hashKey)
    other = .standard
    other.dryMultiplier = 0
    #expect(other.hashKey != LoopGuard.standard.hashKey)
  }

  /// The end-to-end tests' independent check flags the loop and passes what the guard keeps.
  @Test func theReportCheckAgreesWithTheGuard() throws {
    #expect(ReportRepeats.repeated(in: Self.numbered) == ["the service is not available": 10])
    let end = try #require(RepetitionStop.cut(Self.numbered, maxRepeats: 2))
    #expect(ReportRepeats.repeated(in: String(Self.numbered[..<end])).isEmpty)
    let report =
      "## Summary\n\n_note_\n\n\(Self.numbered)\n\nSources: [a]\n\n## Windows\n\n### Window 1\n\nOne two three.\n"
    let outputs = ReportRepeats.outputs(in: report)
    #expect(outputs.map(\.title) == ["Summary", "Window 1"])
    #expect(outputs.last?.text.trimmingCharacters(in: .whitespacesAndNewlines) == "One two three.")
  }
}
