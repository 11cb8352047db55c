// libFuzzer harness: Outlook .msg parsing (CompoundFile, MAPIProperties,
// OutlookMessage, LZFu, RTFText, RFC822Writer). Compiled into module Ingest with
// Sources/Ingest/Outlook/{CompoundFile,MAPIProperties,OutlookMessage,LZFu,RTFText,RFC822Writer}.swift
// and Sources/Ingest/Email/{MIMEEntity,Mbox,Charsets,HTMLText}.swift (scripts/fuzz.sh).
// Input: a .msg file; its first bytes are also read as compressed RTF and as RTF.
import Foundation

private func walk(_ m: OutlookMessage, _ budget: inout Int) {
  budget -= 1
  guard budget > 0 else { return }
  _ = m.from
  _ = m.to
  _ = m.cc
  _ = m.bcc
  _ = m.sent.flatMap(FileTime.iso8601)
  _ = m.received.flatMap(FileTime.rfc5322)
  for a in m.attachments {
    if let inner = a.embedded { walk(inner, &budget) }
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMSG(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  // Small inputs that are not compound files are still worth a read as a compound
  // file with a valid signature: the header's fields are what is fuzzed.
  var file = bytes
  if !CompoundFile.isCompoundFile(file) {
    file = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + file
  }
  if let m = try? OutlookMessage.read(file) {
    var budget = 64
    walk(m, &budget)
    _ = RFC822Writer.message(m)
  }
  if let (rtf, _) = try? LZFu.decompress(bytes) {
    _ = RTFText.body(rtf)
  }
  _ = RTFText.body(bytes)
  for ft in [CompoundFile.u64(bytes, 0), UInt64.max, 0] {
    _ = FileTime.iso8601(ft)
  }
  return 0
}
