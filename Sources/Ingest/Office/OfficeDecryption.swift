import Crypto
import Foundation
import _CryptoExtras

/// Opens an encrypted OOXML package (MS-OFFCRYPTO): an OLE2 compound file whose
/// `EncryptedPackage` stream holds the ZIP, encrypted as its `EncryptionInfo` says.
///
/// Agile encryption (Office 2010 and later: XML descriptor, SHA-1/SHA-2, AES-CBC
/// in 4096-byte segments) and standard encryption (Office 2007: SHA-1, AES-ECB)
/// are read; the data-integrity HMAC is not checked. Each password is tried in
/// order and verified against the file's verifier before the package is decrypted.
enum OfficeDecryption {
  /// The password Excel and Word use when a file is encrypted without one ("read-only recommended").
  static let defaultPassword = "VelvetSweatshop"

  /// Why a package stays closed.
  enum Failure: Error, Equatable {
    /// No password given opens it.
    case wrongPassword
    /// An encryption this reader does not know (`reason`).
    case unsupported(String)
  }

  /// The decrypted ZIP of compound file `file` and the password that opened it, trying `passwords` in order.
  static func decrypt(_ file: CompoundFile, passwords: [String]) throws(Failure) -> (zip: Data, password: String) {
    guard let info = file.stream("EncryptionInfo"), let package = file.stream("EncryptedPackage"),
      info.count >= 8, package.count >= 8
    else { throw .unsupported("its EncryptionInfo or EncryptedPackage stream is missing") }
    let major = CompoundFile.u16(info, 0) ?? 0
    let minor = CompoundFile.u16(info, 2) ?? 0
    let size = Int(
      clamping: UInt64(CompoundFile.u32(package, 0) ?? 0) | UInt64(CompoundFile.u32(package, 4) ?? 0) << 32)
    let body = [UInt8](package.dropFirst(8))
    for password in passwords {
      let plain: [UInt8]?
      if major == 4 && minor == 4 {
        plain = try agile(info: [UInt8](info.dropFirst(8)), body: body, password: password)
      } else if (2...4).contains(major) && minor == 2 {
        plain = try standard(info: [UInt8](info), body: body, password: password)
      } else {
        throw .unsupported("its encryption version \(major).\(minor) is not supported")
      }
      if let plain { return (Data(plain.prefix(min(size, plain.count))), password) }
    }
    throw .wrongPassword
  }

  // MARK: - Agile

  private static let verifierInputKey: [UInt8] = [0xFE, 0xA7, 0xD2, 0x76, 0x3B, 0x4B, 0x9E, 0x79]
  private static let verifierValueKey: [UInt8] = [0xD7, 0xAA, 0x0F, 0x6D, 0x30, 0x61, 0x34, 0x4E]
  private static let keyValueKey: [UInt8] = [0x14, 0x6E, 0x0B, 0xE7, 0xAB, 0xAC, 0xD0, 0xD6]

  private static func agile(info: [UInt8], body: [UInt8], password: String) throws(Failure) -> [UInt8]? {
    var keyData: XMLTag?
    var encryptedKey: XMLTag?
    var scanner = XMLScanner(info)
    while let token = scanner.next() {
      guard case .start(let tag) = token else { continue }
      if tag.name == "keyData" { keyData = tag }
      if tag.name == "encryptedKey", tag.value("spinCount") != nil { encryptedKey = tag }
    }
    guard let keyData, let encryptedKey,
      let keySalt = base64(keyData.value("saltValue")), let salt = base64(encryptedKey.value("saltValue")),
      let verifierInput = base64(encryptedKey.value("encryptedVerifierHashInput")),
      let verifierValue = base64(encryptedKey.value("encryptedVerifierHashValue")),
      let keyValue = base64(encryptedKey.value("encryptedKeyValue")),
      let spin = encryptedKey.value("spinCount").flatMap(Int.init), (0...10_000_000).contains(spin),
      let keyBits = encryptedKey.value("keyBits").flatMap(Int.init), [128, 192, 256].contains(keyBits),
      let packageBits = keyData.value("keyBits").flatMap(Int.init), [128, 192, 256].contains(packageBits)
    else { throw .unsupported("its agile encryption descriptor is incomplete") }
    let hashName = encryptedKey.value("hashAlgorithm") ?? "SHA1"
    let packageHash = keyData.value("hashAlgorithm") ?? hashName
    guard keyData.value("cipherAlgorithm") ?? "AES" == "AES", hash(hashName, []) != nil, hash(packageHash, []) != nil
    else { throw .unsupported("it uses a cipher or hash other than AES with SHA-1 or SHA-2") }

    let h = spun(hashName, hash(hashName, salt + utf16(password)) ?? [], rounds: spin)
    func key(_ block: [UInt8]) -> [UInt8] {
      let derived = hash(hashName, h + block) ?? []
      let length = keyBits / 8
      return derived.count >= length
        ? Array(derived.prefix(length)) : derived + Array(repeating: 0x36, count: length - derived.count)
    }
    let iv = Array(salt.prefix(16)) + Array(repeating: 0x36, count: max(0, 16 - salt.count))
    guard let input = aesCBC(verifierInput, key: key(verifierInputKey), iv: iv),
      let value = aesCBC(verifierValue, key: key(verifierValueKey), iv: iv),
      let inputHash = hash(hashName, Array(input.prefix(salt.count)))
    else { return nil }
    guard Array(value.prefix(inputHash.count)) == inputHash,
      let secret = aesCBC(keyValue, key: key(keyValueKey), iv: iv).map({ Array($0.prefix(packageBits / 8)) })
    else { return nil }

    // The package in 4096-byte segments, each with its own IV.
    var out: [UInt8] = []
    out.reserveCapacity(body.count)
    var segment = 0
    while segment * 4096 < body.count {
      let chunk = Array(body[(segment * 4096)..<min(body.count, segment * 4096 + 4096)])
      let whole = Array(chunk.prefix(chunk.count - chunk.count % 16))
      let segmentIV = Array((hash(packageHash, keySalt + le32(UInt32(segment))) ?? []).prefix(16))
      guard segmentIV.count == 16, let plain = aesCBC(whole, key: secret, iv: segmentIV) else { return nil }
      out += plain
      segment += 1
    }
    return out
  }

  // MARK: - Standard

  private static func standard(info: [UInt8], body: [UInt8], password: String) throws(Failure) -> [UInt8]? {
    // Version, flags, header size, then the header (its key size at offset 16) and the verifier.
    guard info.count >= 12, let headerSize = CompoundFile.u32(Data(info), 8).map(Int.init), headerSize >= 32,
      info.count >= 12 + headerSize + 4 + 16 + 16 + 4 + 32,
      let keyBits = CompoundFile.u32(Data(info), 12 + 16).map(Int.init)
    else { throw .unsupported("its standard encryption header is damaged") }
    let keyLength = [128, 192, 256].contains(keyBits) ? keyBits / 8 : 16
    let verifier = 12 + headerSize
    let salt = Array(info[(verifier + 4)..<(verifier + 20)])
    let encryptedVerifier = Array(info[(verifier + 20)..<(verifier + 36)])
    let encryptedHash = Array(info[(verifier + 40)..<(verifier + 72)])
    let h = spun("SHA1", hash("SHA1", salt + utf16(password)) ?? [], rounds: 50_000)
    let final = hash("SHA1", h + le32(0)) ?? []
    let x1 = hash("SHA1", (0..<64).map { i in i < final.count ? final[i] ^ 0x36 : 0x36 }) ?? []
    let x2 = hash("SHA1", (0..<64).map { i in i < final.count ? final[i] ^ 0x5C : 0x5C }) ?? []
    let key = Array((x1 + x2).prefix(keyLength))
    guard let plainVerifier = aesECB(encryptedVerifier, key: key), let plainHash = aesECB(encryptedHash, key: key),
      hash("SHA1", plainVerifier) == Array(plainHash.prefix(20))
    else { return nil }
    return aesECB(Array(body.prefix(body.count - body.count % 16)), key: key)
  }

  // MARK: - Primitives

  /// `H(i ‖ H(… H(0 ‖ start)))` for `rounds` rounds: the password hash's spin, in one buffer.
  private static func spun(_ name: String, _ start: [UInt8], rounds: Int) -> [UInt8] {
    switch name.uppercased().replacingOccurrences(of: "-", with: "") {
    case "SHA256": spun(SHA256.self, start, rounds: rounds)
    case "SHA384": spun(SHA384.self, start, rounds: rounds)
    case "SHA512": spun(SHA512.self, start, rounds: rounds)
    default: spun(Insecure.SHA1.self, start, rounds: rounds)
    }
  }

  private static func spun<H: HashFunction>(_: H.Type, _ start: [UInt8], rounds: Int) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: 4) + start
    for i in 0..<rounds {
      buffer[0] = UInt8(truncatingIfNeeded: i)
      buffer[1] = UInt8(truncatingIfNeeded: i >> 8)
      buffer[2] = UInt8(truncatingIfNeeded: i >> 16)
      buffer[3] = UInt8(truncatingIfNeeded: i >> 24)
      let digest = H.hash(data: buffer)
      buffer.withUnsafeMutableBytes { target in
        digest.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: target[4...]).copyMemory(from: $0) }
      }
    }
    return Array(buffer[4...])
  }

  private static func utf16(_ password: String) -> [UInt8] {
    password.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
  }

  private static func hash(_ name: String, _ data: [UInt8]) -> [UInt8]? {
    switch name.uppercased().replacingOccurrences(of: "-", with: "") {
    case "SHA1": Array(Insecure.SHA1.hash(data: data))
    case "SHA256": Array(SHA256.hash(data: data))
    case "SHA384": Array(SHA384.hash(data: data))
    case "SHA512": Array(SHA512.hash(data: data))
    default: nil
    }
  }

  private static func aesCBC(_ data: [UInt8], key: [UInt8], iv: [UInt8]) -> [UInt8]? {
    guard !data.isEmpty, data.count % 16 == 0, let vector = try? AES._CBC.IV(ivBytes: iv) else { return nil }
    return (try? AES._CBC.decrypt(data, using: SymmetricKey(data: key), iv: vector, noPadding: true)).map(Array.init)
  }

  /// ECB through CBC: decrypting with the previous ciphertext block's chaining undone.
  private static func aesECB(_ data: [UInt8], key: [UInt8]) -> [UInt8]? {
    guard let chained = aesCBC(data, key: key, iv: Array(repeating: 0, count: 16)) else { return nil }
    var out = chained
    for i in 16..<max(16, out.count) { out[i] ^= data[i - 16] }
    return out
  }

  private static func base64(_ text: String?) -> [UInt8]? {
    text.flatMap { Data(base64Encoded: $0) }.map(Array.init)
  }

  private static func le32(_ value: UInt32) -> [UInt8] {
    [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
  }
}
