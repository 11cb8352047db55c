import Foundation

/// A report with what differs from run to run of the same job masked: the engine time in
/// its header line, and the attempts and seconds columns of its task table. Everything
/// else (outputs, citations, token counts) must be byte for byte the same at temperature 0.
public enum ReportTimes {
  public static func masked(_ report: String) -> String {
    var inTasks = false
    return report.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      var line = String(line)
      if let range = line.range(of: #"in [0-9.]+ s of engine time"#, options: .regularExpression) {
        line.replaceSubrange(range, with: "in … s of engine time")
      }
      if line.hasPrefix("## ") { inTasks = line == "## Tasks" }
      guard inTasks, line.hasPrefix("| "), !line.hasPrefix("| task |") else { return line }
      var cells = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
      // "", task, state, attempts, prompt tokens, output tokens, seconds, cited, uncited, ""
      if cells.count >= 9 {
        cells[3] = " … "
        cells[6] = " … "
      }
      return cells.joined(separator: "|")
    }.joined(separator: "\n")
  }
}
