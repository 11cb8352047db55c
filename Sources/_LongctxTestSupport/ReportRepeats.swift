import Foundation

/// Sentences a model repeats in a report, for tests that generation does not loop.
///
/// Deliberately independent of the loop guard's own code: sentences end at `.`, `!`
/// or `?` before a space and at line ends; they are compared in lower case without
/// list numbers, bullets or final punctuation; sentences under three words are not counted.
public enum ReportRepeats {
  /// The model's text in each output of a Markdown report: the summary's and each
  /// window's or document's, without the lines the report adds around them.
  public static func outputs(in report: String) -> [(title: String, text: String)] {
    var outputs: [(title: String, text: String)] = []
    var title: String?
    var lines: [Substring] = []
    func close() {
      if let title { outputs.append((title, lines.joined(separator: "\n"))) }
      lines = []
    }
    for line in report.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("#") {
        close()
        let heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
        title = heading == "Summary" || heading.hasPrefix("Window ") ? heading : nil
        continue
      }
      let added = ["_", "|", "Cited in the text:", "Sources:", "Citations:"].contains { line.hasPrefix($0) }
      if title != nil, !added { lines.append(line) }
    }
    close()
    return outputs
  }

  /// The sentences `text` holds more than `limit` times, with their counts.
  public static func repeated(in text: String, limit: Int = 2) -> [String: Int] {
    var counts: [String: Int] = [:]
    for line in text.split(whereSeparator: \.isNewline) {
      var sentence = ""
      for (i, c) in zip(line.indices, line) {
        sentence.append(c)
        let next = line.index(after: i)
        if ".!?".contains(c), next == line.endIndex || line[next].isWhitespace {
          let key = key(sentence)
          if key.split(separator: " ").count >= 3 { counts[key, default: 0] += 1 }
          // A bare list number ("3.") stays with the sentence after it.
          if !key.isEmpty { sentence = "" }
        }
      }
      let key = key(sentence)
      if key.split(separator: " ").count >= 3 { counts[key, default: 0] += 1 }
    }
    return counts.filter { $0.value > limit }
  }

  private static func key(_ sentence: String) -> String {
    let words = sentence.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "'" }
    // Leading list numbers are not part of the sentence.
    return words.drop { $0.allSatisfy(\.isNumber) }.joined(separator: " ")
  }
}
