import Foundation
import Storage

/// The bytes of the files inside a file (attachments, archive members, messages of a
/// store, embedded objects): ingest keeps their text, not their bytes, so a production
/// that needs a child's native reads its top-level file again through the registry's
/// extractors, down to the children it wants.
public enum FamilyNatives {
  /// The bytes of every file in `wanted` (display paths: `displayPath` followed by the
  /// suffixes of each level) found inside the file at `path` of `kind`, by display path.
  ///
  /// Only the files on the way to a wanted one are extracted again; a child that its
  /// parent no longer gives (or that cannot be read now) is simply absent. Extraction runs
  /// in this process with OCR off: only the children's bytes are wanted. Files converted by
  /// LibreOffice (`officeConverted`) are not converted again here: their children are absent.
  ///
  /// - Parameters:
  ///   - path: The top-level file on disk.
  ///   - kind: Its kind.
  ///   - displayPath: Its display path, the prefix of every wanted path.
  ///   - wanted: The children's display paths.
  ///   - options: Ingest options (passwords for encrypted members); OCR is turned off.
  /// - Returns: The bytes found, by display path, and a warning per level that failed.
  public static func payloads(
    path: String, kind: DocumentKind, displayPath: String, wanted: Set<String>, options: IngestOptions
  ) -> (bytes: [String: Data], warnings: [String]) {
    var options = options
    options.ocr.mode = .off
    options.worker = nil
    var found: [String: Data] = [:]
    var warnings: [String] = []
    collect(
      path: path, kind: kind, displayPath: displayPath, wanted: wanted, options: options, depth: 0, found: &found,
      warnings: &warnings)
    return (found, warnings)
  }

  private static func collect(
    path: String, kind: DocumentKind, displayPath: String, wanted: Set<String>, options: IngestOptions, depth: Int,
    found: inout [String: Data], warnings: inout [String]
  ) {
    guard depth <= FileExtraction.maxFamilyDepth, let extractor = Extractors.extractor(for: kind) else { return }
    // Converting runs LibreOffice, which only the isolated workers do (with their time limits).
    guard kind != .officeConverted else {
      warnings.append("\(displayPath): the files inside a converted Office document are not read again")
      return
    }
    let children: [ChildFile]
    do {
      children = try extractor.extract(
        ExtractionInput(path: path, displayPath: displayPath, options: options, depth: depth)
      ).children
    } catch {
      warnings.append("\(displayPath): its files cannot be read again (\(error.userDescription))")
      return
    }
    for child in children where child.refusal == nil {
      let childPath = displayPath + child.suffix
      if wanted.contains(childPath) { found[childPath] = child.payload }
      // Deeper wanted files lie under this child: read it in turn from a temporary copy.
      let below = wanted.contains { $0.count > childPath.count && $0.hasPrefix(childPath) }
      guard below, let childKind = child.kind ?? FileExtraction.detectKind(child) else { continue }
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent("longctx-native-\(UUID().uuidString)")
      do {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let safe = String(
          (child.fileName as NSString).lastPathComponent.map { $0 == "/" || $0 == "\\" ? "_" : $0 }.prefix(120))
        let tmp = dir.appendingPathComponent(safe.isEmpty || safe == "." || safe == ".." ? "child" : safe)
        try child.payload.write(to: tmp)
        collect(
          path: tmp.path, kind: childKind, displayPath: childPath, wanted: wanted, options: options, depth: depth + 1,
          found: &found, warnings: &warnings)
      } catch {
        warnings.append("\(childPath): its files cannot be read again (\(error.localizedDescription))")
      }
    }
  }
}
