// libFuzzer harness: MIME / mbox parsing (MIMEEntity, Mbox, Charsets,
// EncodedWords, TransferEncoding, HTMLText). Compiled into module Ingest with
// Sources/Ingest/Email/{MIMEEntity,Mbox,Charsets,HTMLText}.swift (scripts/fuzz.sh).
// Input: a message or a mailbox.
import Foundation

private func walk(_ entity: MIMEEntity, _ budget: inout Int) {
  budget -= 1
  guard budget > 0 else { return }
  _ = entity.contentType
  _ = entity.fileName
  _ = entity.isAttachment
  if entity.parts.isEmpty {
    let text = entity.text
    if entity.contentType.mediaType == "text/html" { _ = HTMLText.text(from: text) }
  }
  for part in entity.parts { walk(part, &budget) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  var budget = 200
  walk(MIMEEntity(bytes[...]), &budget)
  if Mbox.isMbox(bytes) {
    for message in Mbox.split(bytes).prefix(16) {
      precondition(message.line >= 1, "message line numbers are 1-based")
      walk(MIMEEntity(message.bytes[...]), &budget)
    }
  } else {
    _ = Mbox.split(bytes)
  }
  // Header-level decoders on the first line.
  let first = bytes.prefix { $0 != 0x0A }
  let line = String(decoding: first, as: UTF8.self)
  _ = EncodedWords.decode(line)
  _ = MIMEEntity.contentType(line)
  _ = MIMEEntity.parameters(line)
  _ = TransferEncoding.base64(bytes[...])
  _ = TransferEncoding.quotedPrintable(bytes[...])
  let charsets = ["utf-8", "iso-8859-1", "windows-1252", "shift_jis", "utf-16", "x-unknown", line]
  _ = Charsets.decode(Array(bytes.prefix(256)), charset: charsets[size % charsets.count])
  return 0
}
