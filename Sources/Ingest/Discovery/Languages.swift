/// Maps file extensions to kinds and programming languages.
enum Languages {
  static let byExtension: [String: String] = [
    "swift": "Swift", "c": "C", "h": "C", "cc": "C++", "cpp": "C++", "hpp": "C++", "cxx": "C++",
    "m": "Objective-C", "rs": "Rust", "go": "Go", "py": "Python", "rb": "Ruby", "js": "JavaScript",
    "mjs": "JavaScript", "ts": "TypeScript", "tsx": "TypeScript", "jsx": "JavaScript", "java": "Java",
    "kt": "Kotlin", "scala": "Scala", "cs": "C#", "php": "PHP", "sh": "Shell", "bash": "Shell",
    "zsh": "Shell", "pl": "Perl", "lua": "Lua", "sql": "SQL", "r": "R", "jl": "Julia", "hs": "Haskell",
    "ml": "OCaml", "ex": "Elixir", "exs": "Elixir", "erl": "Erlang", "clj": "Clojure", "dart": "Dart",
    "yaml": "YAML", "yml": "YAML", "toml": "TOML", "json": "JSON", "xml": "XML", "html": "HTML",
    "css": "CSS", "cmake": "CMake", "mk": "Make", "gradle": "Gradle", "proto": "Protocol Buffers",
  ]
  static let byName: [String: String] = [
    "Makefile": "Make", "Dockerfile": "Dockerfile", "CMakeLists.txt": "CMake", "Package.swift": "Swift",
    "Gemfile": "Ruby", "Rakefile": "Ruby",
  ]

  static func name(forPath path: String) -> String? {
    let file = path.split(separator: "/").last.map(String.init) ?? path
    if let lang = byName[file] { return lang }
    guard let dot = file.lastIndex(of: ".") else { return nil }
    return byExtension[file[file.index(after: dot)...].lowercased()]
  }
}
