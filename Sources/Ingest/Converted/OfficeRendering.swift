import Foundation

/// Office files as PDFs for a production's page images: LibreOffice renders
/// them (a warm soffice, its own time limit and process group), poppler
/// counts the pages; the PDF's pages are then imaged like any PDF's.
public enum OfficeRendering {
  /// Converts the office file at `path` to a PDF in `directory`.
  ///
  /// - Parameters:
  ///   - path: A Word, Excel, PowerPoint, OpenDocument, RTF… file.
  ///   - directory: Where the PDF goes.
  ///   - passwords: Passwords to try on an encrypted file.
  /// - Returns: The PDF and its page count.
  /// - Throws: `IngestError` with one sentence naming `path`.
  public static func pdf(of path: String, in directory: URL, passwords: [String] = []) throws -> (
    pdf: URL, pages: Int
  ) {
    let pdf = try LibreOfficeConverter.pdf(of: path, in: directory, passwords: passwords)
    let document = try PopplerDocument(path: pdf.path, password: nil)
    guard document.pageCount > 0 else {
      throw IngestError.officeNotConverted(path: path, reason: "LibreOffice made a PDF without pages")
    }
    return (pdf, document.pageCount)
  }
}
