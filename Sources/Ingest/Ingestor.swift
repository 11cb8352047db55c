import Foundation
import Logging
import Storage
import Synchronization

/// Turns input paths into documents in the workspace, incrementally.
///
/// One run goes through five steps, each a method below: triage (what needs
/// work), extract (on all cores, or in isolated children), reconcile (new,
/// changed or unchanged), record (one transaction), summarize.
public struct Ingestor: Sendable {
  let workspace: Workspace
  let logger: Logger

  public init(workspace: Workspace, logger: Logger) {
    self.workspace = workspace
    self.logger = logger
  }

  var store: IngestStore { IngestStore(workspace: workspace) }

  /// Ingests `inputs`: unchanged files cost a stat, changed and new ones are
  /// extracted on all cores, failures are recorded and the batch goes on.
  ///
  /// - Throws: `IngestError.pathNotFound` for a missing input, before anything is written.
  public func ingest(inputs: [String], options: IngestOptions) async throws -> IngestSummary {
    let clock = ContinuousClock.now
    var run = try await triage(inputs: inputs, options: options)
    let extracted = try await extractAll(run.work.map(\.file), sizes: run.sizes, options: options)
    reconcile(&run, extracted: extracted)
    let gone = goneSources(run, inputs: inputs, base: options.base)
    run.summary.gone = gone.count
    try await store.record(run.discovered, outcomes: run.results, gone: gone, at: Date().timeIntervalSince1970)
    try await NearDuplicateIndex(workspace: workspace).rebuild()
    var summary = try await summarize(run)
    let elapsed = ContinuousClock.now - clock
    summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return summary
  }

  /// The state of one run between its steps.
  struct Run {
    var discovered: [DiscoveredFile]
    /// What the previous ingests recorded, by absolute path.
    var known: [String: SourceRow]
    /// Files to extract, with their previous row.
    var work: [(file: DiscoveredFile, previous: SourceRow?)] = []
    var sizes: [String: Int] = [:]
    var results: [String: ExtractionOutcome] = [:]
    /// Unchanged files whose document an older extractor version made.
    var outdated = Set<String>()
    /// Files that count as unchanged though extracted again (their warnings and pages stay).
    var reextracted = Set<String>()
    var summary = IngestSummary()
  }

  // MARK: - Triage

  /// Finds the inputs' files and decides what needs work: only changed and
  /// new files are read, and unchanged ones whose document an older
  /// extractor version made.
  func triage(inputs: [String], options: IngestOptions) async throws -> Run {
    // The workspace itself is never input (it may sit inside an input directory).
    let workspaceRoot = workspace.root.standardizedFileURL.resolvingSymlinksInPath().path + "/"
    let discovered = try Discovery.discover(inputs: inputs, base: options.base, forcedKind: options.kind)
      .filter { !URL(fileURLWithPath: $0.path).resolvingSymlinksInPath().path.hasPrefix(workspaceRoot) }
    var run = Run(discovered: discovered, known: try await store.sources())
    run.summary.seen = discovered.count
    let stale = try await IngestStore.staleDocuments(workspace, redact: options.redact, ocr: options.ocr)
    let knownFiles = try options.denist.map { try KnownFiles(path: $0) }
    for file in discovered {
      if let reason = file.skipReason {
        run.results[file.path] = .skipped(reason)
        continue
      }
      if let knownFiles, let bytes = FileManager.default.contents(atPath: file.path), knownFiles.contains(bytes) {
        run.results[file.path] = .skipped(KnownFiles.reason)
        run.summary.knownFiles += 1
        continue
      }
      let attrs = try? FileManager.default.attributesOfItem(atPath: file.path)
      let size = (attrs?[.size] as? NSNumber)?.intValue ?? 0
      let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      // A file now detected as another kind (`inbox.mbox.txt` once read as text) is extracted again.
      if let row = run.known[file.path], row.status == .ok, row.size == size, row.mtime == mtime,
        let hash = row.contentHash, row.kind == file.kind?.rawValue
      {
        if !stale.contains(hash) {
          run.results[file.path] = .unchanged(hash)
          continue
        }
        run.outdated.insert(file.path)
      }
      run.work.append((file, run.known[file.path]))
      run.sizes[file.path] = size
    }
    return run
  }

  // MARK: - Extract

  private func extractAll(_ files: [DiscoveredFile], sizes: [String: Int], options: IngestOptions) async throws
    -> [String: ExtractionOutcome]
  {
    if let shared = options.shared, !files.isEmpty {
      return try await shared.extract(files, sizes: files.map { sizes[$0.path] ?? 0 }, options: options)
    }
    if let worker = options.worker {
      return await extractIsolated(files, sizes: files.map { sizes[$0.path] ?? 0 }, worker: worker, options: options)
    }
    // One lane per core, each storing its files in batches (one sync and one
    // transaction per batch, `FamilyBatch`): the outcomes are recorded only
    // after the whole run, so a batch's outcomes wait for its commit.
    let extraction = FileExtraction(workspace: workspace, options: options)
    let next = NextIndex()
    let lanes = max(1, min(options.concurrency, files.count))
    return await withTaskGroup(of: [(String, ExtractionOutcome)].self) { group in
      for _ in 0..<lanes {
        group.addTask {
          var out: [(String, ExtractionOutcome)] = []
          var held: [(String, ExtractionOutcome)] = []
          let batch = FamilyBatch(workspace)
          func commit() {
            do {
              try store.commit(batch)
              out += held
            } catch {
              out += held.map { ($0.0, Self.failedIfStored($0.1, FileExtraction.storeFailure(error))) }
            }
            held.removeAll()
          }
          while true {
            let index = next.take()
            guard index < files.count else { break }
            held.append((files[index].path, extraction.extract(files[index], into: batch)))
            if batch.isFull { commit() }
          }
          commit()
          return out
        }
      }
      var out: [String: ExtractionOutcome] = [:]
      for await lane in group {
        for (path, outcome) in lane { out[path] = outcome }
      }
      return out
    }
  }

  /// Hands out 0, 1, 2… to the lanes that share a list.
  private final class NextIndex: Sendable {
    private let next = Mutex(0)

    func take() -> Int {
      next.withLock { i in
        defer { i += 1 }
        return i
      }
    }
  }

  /// `outcome`, or a failure for `reason` when it says the file was stored.
  static func failedIfStored(_ outcome: ExtractionOutcome, _ reason: String) -> ExtractionOutcome {
    if case .stored = outcome { return .failed(reason) }
    return outcome
  }

  // MARK: - Reconcile

  /// Decides what each extraction means: new, changed, or unchanged (the
  /// same bytes, or an upgrade that failed and keeps the earlier extraction).
  func reconcile(_ run: inout Run, extracted: [String: ExtractionOutcome]) {
    for (file, previous) in run.work {
      run.results[file.path] = extracted[file.path] ?? .failed("extraction did not finish")
      let sameBytes: Bool
      if case .stored(let hash, _, _, _, _) = run.results[file.path] {
        sameBytes = previous?.contentHash == hash
      } else {
        sameBytes = false
      }
      if run.outdated.contains(file.path), let old = previous?.contentHash {
        if case .failed(let reason) = run.results[file.path] {
          // The earlier extraction stays in use: an upgrade must not lose a file that worked.
          run.results[file.path] = .stored(
            old, 0, 0,
            ["not extracted again by the current extractor version (\(reason)); the earlier extraction is kept"],
            false)
          run.reextracted.insert(file.path)
          continue
        }
        if sameBytes {
          if case .stored(_, _, _, _, true) = run.results[file.path] { run.summary.reextracted += 1 }
          run.reextracted.insert(file.path)
          continue
        }
      }
      if case .stored(let hash, _, _, _, _) = run.results[file.path], sameBytes {
        run.results[file.path] = .unchanged(hash)
      } else if case .stored = run.results[file.path] {
        if previous == nil { run.summary.new += 1 } else { run.summary.changed += 1 }
      }
    }
  }

  /// Sources under the inputs that were seen before and are not there now.
  func goneSources(_ run: Run, inputs: [String], base: URL) -> [SourceRow] {
    let roots = inputs.map {
      ($0.hasPrefix("/") ? URL(fileURLWithPath: $0) : base.appendingPathComponent($0)).standardizedFileURL.path
    }
    let seenPaths = Set(run.discovered.map(\.path))
    return run.known.values.filter { row in
      row.status != .gone && !seenPaths.contains(row.path)
        && roots.contains { row.path == $0 || row.path.hasPrefix($0 + "/") }
    }
  }

  // MARK: - Summarize

  /// Counts the run's outcomes; lists the usable files in source order, each
  /// followed by its family (attachments, archive members, messages of a store).
  func summarize(_ run: Run) async throws -> IngestSummary {
    var summary = run.summary
    let families = try await store.familyLinks()
    func appendFile(_ displayPath: String, _ hash: String, depth: Int = 0) {
      summary.files.append(IngestedFile(displayPath: displayPath, documentHash: hash))
      guard depth <= FileExtraction.maxFamilyDepth else { return }
      for link in families[hash] ?? [] {
        appendFile(displayPath + link.suffix, link.documentHash, depth: depth + 1)
      }
    }
    for file in run.discovered {
      switch run.results[file.path] {
      case .unchanged(let hash)?:
        summary.unchanged += 1
        appendFile(file.displayPath, hash)
      case .stored(let hash, let pages, let bytes, let warnings, let fresh)?:
        if fresh { summary.extracted += 1 }
        if run.reextracted.contains(file.path) { summary.unchanged += 1 }
        summary.pages += pages
        summary.bytes += bytes
        appendFile(file.displayPath, hash)
        for w in warnings {
          summary.exceptions.append(IngestException(path: file.displayPath, severity: .warning, reason: w))
        }
      case .failed(let reason)?:
        summary.failed += 1
        summary.exceptions.append(IngestException(path: file.displayPath, severity: .failed, reason: reason))
        logger.warning("ingest failed", metadata: ["file": "\(file.displayPath)", "reason": "\(reason)"])
      case .skipped(let reason)?:
        summary.skipped += 1
        summary.exceptions.append(IngestException(path: file.displayPath, severity: .skipped, reason: reason))
      case nil:
        break
      }
    }
    return summary
  }
}
