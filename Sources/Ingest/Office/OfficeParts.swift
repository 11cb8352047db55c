/// Why an Office Open XML package could not be read (mapped to `IngestError` by `OfficeExtractor`).
enum OfficeError: Error, Equatable {
  /// Not a ZIP, or a damaged one.
  case notAPackage(String)
  /// A ZIP without the parts of a Word, Excel or PowerPoint file.
  case notOffice(String)
  /// A part that would expand past the limits.
  case bomb(part: String, limit: Int)
  /// An OLE2 file holding an `EncryptedPackage` stream.
  case encrypted
}

/// The parts of an OOXML package, by name (`word/document.xml`, no leading slash).
///
/// `ZipParts` reads them from the file; tests and the fuzz harness use
/// `MemoryParts`. Parsers see only this, so they compile without ZIPFoundation.
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

/// How much of a package is read.
enum OfficeLimits {
  /// The most bytes of one XML part read (a larger part is cut, with a warning).
  static let maxXMLPartBytes = 256 << 20
  /// A part declared larger than this is refused as a bomb.
  static let maxPartBytes = 1 << 30
  /// The largest compression ratio accepted for a part larger than `ratioFloor`.
  static let maxRatio = 500
  /// Parts smaller than this are never refused for their ratio.
  static let ratioFloor = 8 << 20
  /// The most bytes of one embedded object passed on as a child.
  static let maxObjectBytes = 512 << 20
  /// The most cells read from one workbook.
  static let maxCells = 1_000_000
  /// The most bytes of text kept from one document.
  static let maxTextBytes = 64 << 20
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

/// Part names: resolving relationship targets.
enum OfficePaths {
  /// The folder and file of a part name: `word/document.xml` → (`word`, `document.xml`).
  static func split(_ name: String) -> (dir: String, file: String) {
    guard let slash = name.lastIndex(of: "/") else { return ("", name) }
    return (String(name[..<slash]), String(name[name.index(after: slash)...]))
  }

  /// `target` relative to folder `dir` (or absolute, from a leading slash), with `.` and `..` folded.
  static func resolve(_ target: String, from dir: String) -> String {
    let decoded = target.removingPercentEncodingIfPossible
    var segments: [Substring] = decoded.hasPrefix("/") ? [] : dir.split(separator: "/")
    for segment in decoded.split(separator: "/") {
      if segment == "." { continue }
      if segment == ".." {
        if !segments.isEmpty { segments.removeLast() }
        continue
      }
      segments.append(segment)
    }
    return segments.joined(separator: "/")
  }
}

extension String {
  /// `%20`-style escapes decoded where they form valid UTF-8; the string as it stands otherwise.
  fileprivate var removingPercentEncodingIfPossible: String {
    guard contains("%") else { return self }
    var out: [UInt8] = []
    let utf8 = Array(self.utf8)
    var i = 0
    while i < utf8.count {
      if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
        let byte = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
      {
        out.append(byte)
        i += 3
      } else {
        out.append(utf8[i])
        i += 1
      }
    }
    let decoded = String(decoding: out, as: UTF8.self)
    return decoded.contains("\u{FFFD}") ? self : decoded
  }
}
