import Foundation
import Storage

extension CodingTable {
  /// The coding of `spec`'s stored map answers (nil when the job has no `coding:`).
  ///
  /// The documents are the plan's (its windows' and left-out chunks'), else those the
  /// map tasks read, so a document no answer names is listed as uncoded.
  public static func compute(workspace: Workspace, spec: JobSpec) throws -> CodingTable? {
    guard let coding = spec.coding else { return nil }
    let maps = try TaskStore(workspace: workspace).currentTasks(job: spec.name).filter { $0.kind == .map }
    let plan = try? PlanStore(workspace: workspace).latest(job: spec.name)
    let paths =
      plan.map { p in p.windows.flatMap { $0.chunks.map(\.locator.path) } + p.leftOut.map(\.locator.path) }
      ?? maps.flatMap { $0.locators.map(\.path) }
    return fold(
      spec: coding, documents: paths,
      tasks: maps.map { TaskAnswers(locators: $0.locatorList, output: $0.state == .done ? $0.output : nil) })
  }

  /// The coding CSV's path for `spec`: `<job>-coding.csv` beside the report.
  public static func csvURL(for spec: JobSpec) -> URL {
    let rel = spec.reportFile
    let report =
      (rel.hasPrefix("/")
      ? URL(fileURLWithPath: rel) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(rel))
      .standardizedFileURL
    return report.deletingLastPathComponent().appendingPathComponent("\(spec.name)-coding.csv")
  }

  /// The table as an HTML section.
  var html: String {
    func esc(_ s: String) -> String {
      s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
    var out =
      "<section id=\"coding\"><h2>Coding</h2><p class=\"label\">Computed by longctx from the map answers, not by the model; a document no answer names is uncoded.</p>"
    out +=
      "<table class=\"sortable\"><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
    for row in cells { out += "<tr>" + row.map { "<td>\(esc($0))</td>" }.joined() + "</tr>" }
    return out + "</tbody></table></section>"
  }
}
