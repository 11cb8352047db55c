/// The parts of an OOXML package, by name (`word/document.xml`, no leading slash).
///
/// `ZipParts` reads them from the file; tests and the fuzz harness use
/// `MemoryParts`. Parsers see only this, so they compile without the ZIP reader.
protocol OfficePartSource {
  /// Every part name, in the order the package lists them.
  var partNames: [String] { get }
  /// The bytes of part `name`, at most `limit` of them (`cut` says whether it was longer); `nil` when absent.
  ///
  /// - Throws: `OfficeError.bomb` when the part expands past the package limits.
  func read(_ name: String, limit: Int) throws -> (bytes: [UInt8], cut: Bool)?
}

extension OfficePartSource {
  /// The whole part `name` up to the default per-part limit, or `nil` when absent.
  func read(_ name: String) throws -> [UInt8]? {
    try read(name, limit: OfficeLimits.maxXMLPartBytes)?.bytes
  }
}

/// Parts held in memory (tests, the fuzz harness).
struct MemoryParts: OfficePartSource {
  var parts: [(name: String, bytes: [UInt8])]

  var partNames: [String] { parts.map(\.name) }

  func read(_ name: String, limit: Int) throws -> (bytes: [UInt8], cut: Bool)? {
    guard let part = parts.first(where: { $0.name == name }) else { return nil }
    return (Array(part.bytes.prefix(limit)), part.bytes.count > limit)
  }
}

/// One relationship of a part: `rId3` → `worksheets/sheet1.xml` of some type.
struct OfficeRelationship {
  var id: String
  /// The last segment of the type URI: `officeDocument`, `worksheet`, `notesSlide`, `comments`…
  var type: String
  /// The target resolved to a part name; an external target (a URL) as it stands.
  var target: String
  var isExternal: Bool
}

extension OfficePartSource {
  /// The relationships of part `name` (from `dir/_rels/file.rels`); empty when there are none.
  func relationships(of name: String) -> [OfficeRelationship] {
    let (dir, file) = OfficePaths.split(name)
    let relsName = dir.isEmpty ? "_rels/\(file).rels" : "\(dir)/_rels/\(file).rels"
    guard let bytes = try? read(relsName) else { return [] }
    var scanner = XMLScanner(bytes)
    var out: [OfficeRelationship] = []
    while let token = scanner.next() {
      guard case .start(let tag) = token, tag.name == "Relationship", let id = tag.value("Id"),
        let target = tag.value("Target")
      else { continue }
      let type = String(tag.value("Type")?.split(separator: "/").last ?? "")
      let external = tag.value("TargetMode") == "External"
      out.append(
        OfficeRelationship(
          id: id, type: type, target: external ? target : OfficePaths.resolve(target, from: dir),
          isExternal: external))
    }
    return out
  }

  /// The content types of parts: overrides by part name, defaults by extension.
  func contentTypes() -> (overrides: [String: String], defaults: [String: String]) {
    guard let bytes = try? read("[Content_Types].xml") else { return ([:], [:]) }
    var scanner = XMLScanner(bytes)
    var overrides: [String: String] = [:]
    var defaults: [String: String] = [:]
    while let token = scanner.next() {
      guard case .start(let tag) = token, let type = tag.value("ContentType") else { continue }
      if tag.name == "Override", let part = tag.value("PartName") {
        overrides[OfficePaths.resolve(part, from: "")] = type
      } else if tag.name == "Default", let ext = tag.value("Extension") {
        defaults[ext.lowercased()] = type
      }
    }
    return (overrides, defaults)
  }
}
