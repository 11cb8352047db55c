import Foundation
import Ingest

extension Production {
  /// Renders each Office member (Word, Excel, PowerPoint, OpenDocument, RTF, …) to a PDF in
  /// `directory` through LibreOffice and gives it that PDF's page count, so its Bates range
  /// covers its pages; returns each rendered member's PDF by its number key. A member that
  /// cannot be rendered keeps one page and gets a placeholder image, with a warning.
  func renderOffice(_ families: inout [[Member]], corpus: Corpus, into directory: URL, warnings: inout [String])
    -> [String: String]
  {
    let passwords = JobRunner.ingestOptions(spec, worker: nil).passwords
    var out: [String: String] = [:]
    var ordinal = 0
    for f in families.indices {
      for m in families[f].indices {
        let member = families[f][m]
        guard member.kind == .office || member.kind == .officeConverted, member.failure == nil else { continue }
        ordinal += 1
        let folder = directory.appendingPathComponent(String(ordinal))
        do {
          // A top-level file is rendered from itself, a file inside another from its own bytes.
          var source = member.parent == nil ? try corpus.absolutePath(ofDisplayPath: member.file.displayPath) : nil
          if source == nil, let native = member.native {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let name = member.metadata["attachment.fileName"].map(Self.cleanName) ?? "document.\(member.ext ?? "bin")"
            let file = folder.appendingPathComponent("native-" + name)
            try native.write(to: file)
            source = file.path
          }
          guard let source else {
            warnings.append("\(member.file.displayPath): a placeholder page image; its bytes cannot be read again")
            continue
          }
          let (pdf, pages) = try OfficeRendering.pdf(of: source, in: folder, passwords: passwords)
          families[f][m].pages = pages
          out[member.numberKey] = pdf.path
        } catch {
          warnings.append("\(member.file.displayPath): a placeholder page image; \(error.userDescription)")
        }
      }
    }
    return out
  }
}
