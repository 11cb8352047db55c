import Foundation
import Logging
import Storage

#if canImport(Glibc)
  import Glibc
#endif

extension ExtractionWorker {
  /// Runs in a `--serve` child: limits its heap, then extracts and stores one
  /// file per request line until its input ends, answering each with one line.
  ///
  /// - Parameters:
  ///   - workspace: The workspace the parent ingests into (documents are stored here).
  ///   - logger: Where extractors log.
  ///   - memoryLimit: Bytes of heap (`RLIMIT_DATA`); 0 for none.
  ///   - readLine: The next request line, `nil` at the end.
  ///   - write: Writes one answer line.
  public static func serve(
    workspace: Workspace, logger: Logger, memoryLimit: Int, readLine: () -> String?,
    write: @escaping @Sendable (Data) -> Void
  ) {
    limitHeap(memoryLimit)
    exitWithParent()
    let decoder = JSONDecoder()
    let encoder = JSONEncoder()
    let faults = Faults(ProcessInfo.processInfo.environment["LONGCTX_FAULT_INJECTION"])
    faults.delayStart()
    write(Data((ExtractionChild.readyLine + "\n").utf8))
    // Each OCR'd page says so, so that a long scan is not taken for a hang.
    ExtractionProgress.install { page in write(Data((ExtractionChild.progressLine + " \(page)\n").utf8)) }
    defer { ExtractionProgress.install(nil) }
    // The documents of a batch of requests, stored together when the parent says
    // its batch ends (or the batch is full): one sync and one transaction for many
    // files. Replies before that say they are held; the commit line releases them.
    let batch = FamilyBatch(workspace)
    let store = IngestStore(workspace: workspace)
    var heldNames: [String] = []
    while let line = readLine() {
      var reply: ExtractionReply
      let request = try? decoder.decode(ExtractionRequest.self, from: Data(line.utf8))
      if let request, let render = request.render {
        faults.apply(to: request.file.displayPath, rendering: true)
        reply = renderPages(of: request.file.path, render)
      } else if let request {
        var options = IngestOptions(kind: request.kind, password: request.password, base: URL(fileURLWithPath: "/"))
        options.passwords = request.passwords ?? []
        options.redact = request.redact
        options.ocr = request.ocr ?? OCRSettings()
        options.skippedOCRPages = Set(request.skipOCRPages ?? [])
        faults.trace(request.file.displayPath)
        faults.apply(to: request.file.displayPath)
        let extraction = FileExtraction(workspace: workspace, options: options)
        reply = ExtractionReply(path: request.file.path, outcome: extraction.extract(request.file, into: batch))
      } else {
        reply = ExtractionReply(path: "", outcome: .failed("bad request to the extraction worker"))
      }
      if !batch.isEmpty {
        reply.held = true
        heldNames.append(request?.file.displayPath ?? "")
      }
      var answer = (try? encoder.encode(reply)) ?? Data()
      answer.append(0x0A)
      write(answer)
      if !batch.isEmpty && (request?.commit ?? true || batch.isFull) {
        let line: String
        do {
          try store.commit(batch) { for name in heldNames { faults.apply(to: name, committing: true) } }
          line = ExtractionChild.committedLine
        } catch {
          batch.committed()
          line =
            ExtractionChild.notCommittedLine + " "
            + FileExtraction.storeFailure(error)
            .replacingOccurrences(of: "\n", with: " ")
        }
        write(Data((line + "\n").utf8))
        heldNames.removeAll()
      }
    }
    // Input ends: what was not committed was not promised (the parent sends the batch elsewhere).
  }

  /// Faults a test makes a child suffer on files whose name contains a word
  /// (`LONGCTX_FAULT_INJECTION="crash=boom;hang=slow;alloc=huge"`), so that
  /// the parent's handling of a trap, a hang and a runaway allocation is
  /// tested on the real child; `start=SECONDS` makes the child slow to start.
  /// `render-crash=word` and the like apply only when the child images a
  /// production's pages; `commit-crash=word` when it stores a batch holding a
  /// file whose name holds the word (its blobs durable, its rows not written); `slow=word`
  /// makes the file take `slowSeconds` more; `trace=/path` appends each file's display path
  /// and the child's pid to that file as its extraction starts (tests count extractions). Unset,
  /// nothing happens.
  struct Faults {
    /// Seconds a `slow` file sleeps before it is extracted.
    static let slowSeconds: UInt32 = 8
    var rules: [(fault: String, word: String)] = []

    init(_ spec: String?) {
      for part in (spec ?? "").split(separator: ";") {
        let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
        if kv.count == 2 { rules.append((kv[0], kv[1])) }
      }
    }

    /// Sleeps for the `start` fault's seconds before the child says it is ready.
    func delayStart() {
      for (fault, value) in rules where fault == "start" { sleep(UInt32(value) ?? 0) }
    }

    /// Appends `displayPath` and this child's pid to the `trace` file, if any (one `write` of
    /// one line with `O_APPEND`: lines of several children never interleave).
    func trace(_ displayPath: String) {
      for (fault, path) in rules where fault == "trace" {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { continue }
        let line = Array("\(displayPath) \(getpid())\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
      }
    }

    func apply(to displayPath: String, rendering: Bool = false, committing: Bool = false) {
      let name = (displayPath as NSString).lastPathComponent
      let prefix = rendering ? "render-" : committing ? "commit-" : nil
      for (rule, word) in rules
      where name.contains(word) && (prefix.map { rule.hasPrefix($0) } ?? !rule.contains("-")) {
        let fault = String(rule.dropFirst(prefix?.count ?? 0))
        switch fault {
        case "crash":
          let empty: [Int] = []
          _ = empty[name.count]  // an index out of range: the runtime traps, as a real bug would
        case "hang":
          while true { sleep(60) }
        case "slow":
          sleep(Self.slowSeconds)
        case "alloc":
          // RLIMIT_DATA counts what is mapped, not what is touched: leaving the
          // pages untouched makes the child hit its limit at once even on a
          // loaded machine, where filling 512 MB could outlast a test's time limit.
          var hog: [[UInt8]] = []
          while true { hog.append([UInt8](unsafeUninitializedCapacity: 64 << 20) { _, n in n = 64 << 20 }) }
        default: break
        }
      }
    }
  }

  /// Ends this child soon after its parent dies (a worker killed with SIGKILL, a lost
  /// machine): an orphan would go on extracting, and storing, a file whose claim has
  /// passed to another worker. A thread looks at the parent once a second.
  static func exitWithParent() {
    let parent = getppid()
    let watch = Thread {
      while true {
        sleep(1)
        if getppid() != parent { _exit(0) }
      }
    }
    watch.start()
  }

  /// Limits this process's heap and anonymous mappings to `bytes` (0: no limit).
  public static func limitHeap(_ bytes: Int) { setLimit(RLIMIT_DATA, bytes) }
}

/// Sets `resource`'s soft and hard limits to `bytes` (0: leaves it as it is).
func setLimit(_ resource: __rlimit_resource, _ bytes: Int) {
  guard bytes > 0 else { return }
  var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t(bytes))
  _ = withUnsafePointer(to: &limit) { setrlimit(__rlimit_resource_t(resource.rawValue), $0) }
}
