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
    case .log: "log-2"
    // Cut between declarations, sections carry their declarations' names.
    case .code: "lines-3"
    case .text: "lines-2"
    case .email: "email-1"
    }
  }

  /// Whether a stored document of `kind` made by `extractor` is what the current extractor
  /// would make (an unknown kind never is).
  static func isCurrent(kind: String, extractor: String) -> Bool {
    DocumentKind(rawValue: kind)?.extractorVersion == extractor
  }
}
