import Foundation

/// An embedded object's bytes as the file it wraps.
///
/// Office stores an attached file in an OLE2 `oleObject*.bin`: a packager
/// object keeps the file and its name in an `\u{1}Ole10Native` stream, an
/// embedded Office Open XML document keeps its ZIP in a `Package` stream.
/// Those are unwrapped, so the child is the attached file itself under its
/// own name; anything else is passed on as it stands.
enum EmbeddedObject {
  /// The file inside `payload` and its name, or `payload` under `name`.
  static func unwrap(_ payload: Data, name: String) -> (name: String, payload: Data) {
    guard payload.starts(with: CompoundFile.signature), let file = try? CompoundFile(data: payload) else {
      return (name, payload)
    }
    if let native = file.stream("\u{1}Ole10Native"), let attached = ole10Native(native) {
      return (attached.name ?? name, attached.payload)
    }
    if let package = file.stream("Package"), let parts = try? ZipParts(data: package) {
      let base = (name as NSString).deletingPathExtension
      switch OfficePackage.mainPart(parts)?.0 {
      case .word: return (base + ".docx", package)
      case .excel: return (base + ".xlsx", package)
      case .powerpoint: return (base + ".pptx", package)
      case nil: return (base + ".zip", package)
      }
    }
    return (name, payload)
  }

  /// The file an `Ole10Native` stream holds: size, flags, label, original path, temporary path, data.
  static func ole10Native(_ stream: Data) -> (name: String?, payload: Data)? {
    let bytes = [UInt8](stream)
    var position = 6
    func cString() -> String? {
      guard let end = bytes[min(position, bytes.count)...].firstIndex(of: 0) else { return nil }
      defer { position = end + 1 }
      // An ANSI string: UTF-8 where it is valid, Windows-1252 otherwise.
      let slice = Data(bytes[position..<end])
      return String(data: slice, encoding: .utf8) ?? String(data: slice, encoding: .windowsCP1252) ?? ""
    }
    func u32() -> Int? {
      guard position + 4 <= bytes.count else { return nil }
      defer { position += 4 }
      return Int(CompoundFile.u32(stream, position) ?? 0)
    }
    guard bytes.count > 6, let label = cString(), let path = cString(), u32() != nil, let tempLength = u32(),
      tempLength <= bytes.count - position
    else { return nil }
    position += tempLength
    guard let size = u32(), size <= bytes.count - position else { return nil }
    let payload = Data(bytes[position..<(position + size)])
    let original = path.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last.map(String.init) ?? ""
    let chosen = label.isEmpty ? original : label
    let cleaned = String(chosen.map { "#/\\&".contains($0) ? "_" : $0 }).trimmingWhitespace
    return (cleaned.isEmpty ? nil : cleaned, payload)
  }
}
