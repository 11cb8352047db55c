/// Names of the embedded objects and attached files of a package.
enum OfficeObjects {
  /// Parts under `word/embeddings/`, `xl/embeddings/` or `ppt/embeddings/`, in package order.
  static func embedded(in parts: any OfficePartSource) -> [String] {
    parts.partNames.filter { name in
      let lowered = name.lowercased()
      return ["word/embeddings/", "xl/embeddings/", "ppt/embeddings/"].contains { lowered.hasPrefix($0) }
        && !lowered.hasSuffix("/")
    }
  }

  /// A child's name for part `name`: its file name without `#` or `/`.
  static func childName(_ name: String) -> String {
    let file = OfficePaths.split(name).file
    let cleaned = String(file.map { $0 == "#" || $0 == "/" || $0 == "&" ? "_" : $0 })
    return cleaned.isEmpty ? "object" : cleaned
  }
}
