/// What made a document's sections: stored with each document (`document.extractor`).
///
/// A version changes whenever an extractor's output for the same bytes changes
/// (different cuts, locators, text or fields). Ingest re-extracts a document
/// whose stored version is not the current one for its kind, so a workspace
/// made by an older longctx picks up the newer extraction on its next ingest,
/// for unchanged files too.
extension DocumentKind {
  /// The current extractor version for documents of this kind.
  public var extractorVersion: String {
    switch self {
    case .pdf: "poppler-glib \(PopplerDocument.version) joined-hyphens gap-spaces rtl-lines forms-annots"
    case .log: "log-3 templates"
    // Cut between declarations, sections carry their declarations' names.
    case .code: "lines-3"
    case .text: "lines-2"
    // CRLF mail parsed, mboxes split by content and Content-Length, charsets through iconv.
    case .email: "email-2"
    }
  }

  /// The version stored with a document of this kind: `version`, marked
  /// ` unredacted` when secrets were kept (PDFs are never redacted), so that
  /// switching `--redact` extracts the files again.
  func stamp(_ version: String, redact: Bool) -> String {
    redact || self == .pdf ? version : version + " unredacted"
  }

  /// Whether a stored document of `kind` made by `extractor` is what the current extractor
  /// would make with redaction `redact` (an unknown kind never is).
  static func isCurrent(kind: String, extractor: String, redact: Bool = true) -> Bool {
    guard let kind = DocumentKind(rawValue: kind) else { return false }
    return kind.stamp(kind.extractorVersion, redact: redact) == extractor
  }
}
