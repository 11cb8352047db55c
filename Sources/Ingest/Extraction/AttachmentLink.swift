import Foundation
import GRDB
import Storage

/// A child document's link to its parent: an attachment, an archive member, a message of a store.
struct AttachmentLink: Sendable, Hashable {
  /// `#msg=<Message-ID>/attachment=<file name>`: appended to the mailbox's
  /// display path, it is the child's display path, so its sections cite
  /// `inbox.mbox#msg=<id>/attachment=report.pdf#page=2` (or `#L3-L9` for text).
  var suffix: String
  /// SHA-256 of the attachment's decoded bytes: identical attachments are one document.
  var documentHash: String
  var fileName: String
  var contentType: String
}
