import Foundation

/// How central each file of a source tree is: READMEs and entry points
/// first, then files that many other files mention by name.
///
/// A file is "referenced" by another when the other's text contains the
/// file's name without its extension as a whole identifier (`JobRunner` in
/// `let r = JobRunner(…)`, `utils` in `from utils import x`). Names shorter
/// than three characters, or too generic to mean one file (`index`, `main`,
/// `init`, …), are not counted.
struct Centrality {
  struct Score: Equatable {
    var value: Double
    var reasons: [String]
  }

  /// Scores `files` (path, text); the result is keyed by path.
  static func scores(_ files: [(path: String, text: String)]) -> [String: Score] {
    let stems = files.map { stem(of: $0.path) }
    var wanted: [Substring: [Int]] = [:]
    for (i, s) in stems.enumerated() where s.count >= 3 && !genericStems.contains(s.lowercased()) {
      wanted[Substring(s), default: []].append(i)
    }
    var references = [Int](repeating: 0, count: files.count)
    for (i, file) in files.enumerated() {
      var found = Set<Int>()
      for word in identifiers(file.text) {
        guard let owners = wanted[word] else { continue }
        for j in owners where j != i { found.insert(j) }
      }
      for j in found { references[j] += 1 }
    }
    var result: [String: Score] = [:]
    for (i, file) in files.enumerated() {
      var score = Score(value: 0, reasons: [])
      let name = (file.path as NSString).lastPathComponent
      if name.lowercased().hasPrefix("readme") {
        score.value += 2
        score.reasons.append("README")
      } else if isEntryPoint(file.path) {
        score.value += 1.5
        score.reasons.append("entry point")
      }
      if references[i] > 0 {
        score.value += 0.5 * log2(1 + Double(references[i]))
        score.reasons.append("referenced by \(references[i]) file\(references[i] == 1 ? "" : "s")")
      }
      if score.value > 0 { result[file.path] = score }
    }
    return result
  }

  /// The file name without directories and extensions (`a/b/JobRunner.swift` → `JobRunner`).
  static func stem(of path: String) -> String {
    let name = (path as NSString).lastPathComponent
    return String(name.split(separator: ".", omittingEmptySubsequences: false).first ?? Substring(name))
  }

  /// Identifier-like words: letters, digits and underscores.
  static func identifiers(_ text: String) -> [Substring] {
    text.split { !($0.isLetter || $0.isNumber || $0 == "_") }
  }

  static let genericStems: Set<String> = [
    "index", "main", "init", "__init__", "mod", "lib", "app", "test", "tests", "util", "utils", "types", "common",
    "config", "setup", "readme", "license", "makefile", "package", "build", "src", "core", "base", "model", "models",
  ]

  /// Files where a program starts: `main.*`, `__main__.py`, `index.js`,
  /// `Package.swift`, `setup.py`, `Cargo.toml`, `go.mod`, `cmd/*/main.go`, …
  static func isEntryPoint(_ path: String) -> Bool {
    let name = (path as NSString).lastPathComponent
    let stem = stem(of: path).lowercased()
    if ["main", "__main__", "entrypoint", "cli"].contains(stem) { return true }
    if [
      "index.js", "index.ts", "index.mjs", "app.py", "app.js", "app.ts", "server.js", "server.py", "manage.py",
      "wsgi.py", "asgi.py", "lib.rs",
    ].contains(name.lowercased()) {
      return true
    }
    return [
      "Package.swift", "setup.py", "pyproject.toml", "Cargo.toml", "go.mod", "package.json", "Makefile",
      "CMakeLists.txt", "Dockerfile", "pom.xml", "build.gradle",
    ].contains(name)
  }
}
