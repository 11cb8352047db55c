import Foundation

/// The page images of a discovery production: one black-and-white CCITT Group 4 TIFF
/// per page at 300 dpi, the page's Bates number stamped bottom right.
///
/// PDF pages are rendered with poppler's cairo renderer (as for OCR), the stamp drawn
/// with cairo before the page is binarised; documents without pages of their own (text,
/// mail) and pages that cannot be rendered get a placeholder page that says why.
public enum PageImages {
  /// The resolution images are made at.
  public static let dpi = 300
  /// A placeholder's page size in points (US Letter).
  public static let placeholderSize = (width: 612.0, height: 792.0)

  /// One page's image, or why it is a placeholder.
  public struct Page: Sendable {
    /// The TIFF's bytes.
    public var tiff: Data
    /// Set when the page could not be rendered and the image is a placeholder.
    public var failure: String?
  }

  /// The images of the first `stamps.count` pages of the PDF at `path`, page `i` stamped
  /// `stamps[i]`. A page poppler cannot open or render is a placeholder with its reason.
  ///
  /// - Returns: One page per stamp; nil only when not even a placeholder can be made.
  public static func pdf(path: String, stamps: [String]) -> [Page]? {
    var document: PopplerDocument?
    var openFailure = "the PDF cannot be opened"
    do { document = try PopplerDocument(path: path, password: nil) } catch { openFailure = error.userDescription }
    var out: [Page] = []
    for (index, stamp) in stamps.enumerated() {
      guard let document else {
        guard let p = placeholder(lines: ["Page \(index + 1) could not be imaged:", openFailure], stamp: stamp)
        else { return nil }
        out.append(Page(tiff: p, failure: openFailure))
        continue
      }
      if let page = index < document.pageCount ? document.page(index) : nil, let tiff = render(page, stamp: stamp) {
        out.append(Page(tiff: tiff, failure: nil))
        continue
      }
      let reason =
        index < document.pageCount ? "poppler could not render it" : "the PDF has no page \(index + 1) now"
      guard let p = placeholder(lines: ["Page \(index + 1) could not be imaged:", reason], stamp: stamp) else {
        return nil
      }
      out.append(Page(tiff: p, failure: reason))
    }
    return out
  }

  /// A Letter-size page with `lines` of text and `stamp` bottom right, as a Group 4 TIFF.
  public static func placeholder(lines: [String], stamp: String) -> Data? {
    let scale = Double(dpi) / 72
    let width = Int((placeholderSize.width * scale).rounded())
    let height = Int((placeholderSize.height * scale).rounded())
    guard let image = OCRImage.gray(width: width, height: height, dpi: dpi),
      CairoCanvas.draw(
        width: width, height: height, scale: scale, row: image.setRow,
        content: { cairo in
          CairoCanvas.lines(cairo, lines, pageWidth: placeholderSize.width)
          CairoCanvas.stamp(cairo, stamp, pageWidth: placeholderSize.width, pageHeight: placeholderSize.height)
        })
    else { return nil }
    return image.groupFourTIFF()
  }

  /// The pixel size of a `width` × `height`-point page at 300 dpi, capped as OCR caps renders.
  static func size(width: Double, height: Double) -> (width: Int, height: Int, dpi: Double) {
    let s = PageOCR(settings: OCRSettings(dpi: dpi)).renderSize(width: width, height: height)
    return (s.width, s.height, s.dpi)
  }

  private static func render(_ page: PopplerPage, stamp: String) -> Data? {
    let (w, h) = page.size
    guard w > 0, h > 0 else { return nil }
    let size = size(width: w, height: h)
    let dpi = Int(size.dpi.rounded())
    guard let image = OCRImage.gray(width: size.width, height: size.height, dpi: dpi),
      page.renderGray(width: size.width, height: size.height, scale: size.dpi / 72, stamp: stamp, row: image.setRow)
    else { return nil }
    return image.groupFourTIFF()
  }
}
