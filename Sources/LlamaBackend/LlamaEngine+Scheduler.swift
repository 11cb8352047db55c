internal import CLlama
import Foundation
import Inference

/// A request waiting for a free sequence.
struct PendingRequest: Sendable {
  let request: GenerationRequest
  let prefix: [Int32]
  let suffix: [Int32]
  let sampler: TokenSampler
  let continuation: CheckedContinuation<GenerationResult, any Error>
  /// Receives the prefill's progress (`PrefillProgress.receiver` when the request came).
  var progress: (@Sendable (PrefillUpdate) -> Void)? = nil
}

/// A request that holds a llama.cpp sequence. Only the scheduler thread
/// touches it.
final class ActiveSequence {
  let pending: PendingRequest
  /// The llama.cpp sequence id (also its KV stream).
  let seq: Int32
  let sampler: TokenSampler
  /// The position `next` is decoded at.
  var position = 0
  /// The last sampled token, decoded in the next step.
  var next: Int32 = 0
  var cached = 0
  var generated = 0
  var output: [UInt8] = []
  var text = ""
  var timings = LlamaEngineTimings()
  var generationStart = ContinuousClock.now
  var finished = false

  init(_ pending: PendingRequest, seq: Int32) {
    self.pending = pending
    self.seq = seq
    self.sampler = pending.sampler
  }
}

extension LlamaEngine {
  // MARK: - Scheduler

  /// Adds `pending` to the queue and starts the scheduler thread if none runs.
  func enqueue(_ pending: PendingRequest) {
    let start: Bool = queue.withLock {
      waiting.append(pending)
      defer { schedulerRunning = true }
      return !schedulerRunning
    }
    guard start else { return }
    let thread = Thread { self.runScheduler() }
    thread.name = "longctx.llama.scheduler"
    thread.stackSize = 8 << 20
    thread.start()
  }

  /// The decode loop: admits waiting requests into free sequences, prefills
  /// one admitted sequence per turn, then decodes one token of every
  /// generating sequence in one batch. Returns when nothing is left to do.
  func runScheduler() {
    var free = Array((0..<Int32(options.parallel)).reversed())  // popLast() gives the lowest id
    var admitted: [ActiveSequence] = []
    var generating: [ActiveSequence] = []
    while true {
      let newcomers: [PendingRequest]? = queue.withLock {
        if waiting.isEmpty && admitted.isEmpty && generating.isEmpty {
          schedulerRunning = false
          return nil
        }
        let n = min(free.count, waiting.count)
        defer { waiting.removeFirst(n) }
        return Array(waiting.prefix(n))
      }
      guard let newcomers else { return }
      contextLock.lock()
      for pending in newcomers {
        // popLast cannot fail: no more newcomers than free sequences.
        admitted.append(ActiveSequence(pending, seq: free.removeLast()))
      }
      if Interrupt.isRequested {
        for s in admitted + generating { finish(s, error: EngineError.interrupted) }
      } else {
        if !admitted.isEmpty {
          let s = admitted.removeFirst()
          let start = ContinuousClock.now
          prefill(s)
          counters.prefillSeconds += seconds(ContinuousClock.now - start)
          if !s.finished { generating.append(s) }
        }
        if !generating.isEmpty {
          let start = ContinuousClock.now
          step(generating)
          counters.stepSeconds += seconds(ContinuousClock.now - start)
          counters.steps += 1
          counters.stepTokens += generating.count
        }
      }
      contextLock.unlock()
      for s in admitted + generating where s.finished { free.append(s.seq) }
      free.sort(by: >)
      admitted.removeAll { $0.finished }
      generating.removeAll { $0.finished }
    }
  }

  /// Brings `s`'s prompt into its sequence (restoring the longest stored
  /// prefix, saving the prefix when long enough) and samples its first token.
  private func prefill(_ s: ActiveSequence) {
    let prefix = s.pending.prefix
    let suffix = s.pending.suffix
    let prompt = prefix + suffix
    let memory = llama_get_memory(context)
    var clock = ContinuousClock.now
    func lap() -> Double {
      let now = ContinuousClock.now
      defer { clock = now }
      return seconds(now - clock)
    }
    do {
      llama_memory_seq_rm(memory, s.seq, -1, -1)
      var position = restoreLongestPrefix(of: prompt, seq: s.seq)
      s.cached = position
      s.timings.restoreSeconds = lap()
      let began = ContinuousClock.now
      let cached = position
      let report: ((Int) -> Void)? = s.pending.progress.map { receiver in
        { done in
          receiver(
            PrefillUpdate(
              done: done, total: prompt.count, cached: cached, seconds: seconds(ContinuousClock.now - began)))
        }
      }
      if position < prefix.count {
        try decode(
          Array(prefix[position...]), seq: s.seq, startingAt: position, logitsForLast: suffix.isEmpty, progress: report)
        s.timings.prefillSeconds += lap()
        position = prefix.count
        if prefix.count >= options.checkpointMinTokens {
          // Save, and re-load the state even without a store: a restored cache
          // is laid out compactly (the sliding-window layers keep only their
          // window's cells), and its later arithmetic differs in the last bits
          // from a cache that still holds pruned-but-present cells. Re-loading
          // makes a fresh prefill and a restore continue identically.
          if !saveAndReload(prefix, seq: s.seq) {
            try decode(prefix, seq: s.seq, startingAt: 0, logitsForLast: suffix.isEmpty)
          } else if suffix.isEmpty, let last = prefix.last,
            llama_memory_seq_rm(memory, s.seq, Int32(prefix.count - 1), -1)
          {
            // As after a restore of the whole prompt: the last token is decoded alone for its logits.
            try decode([last], seq: s.seq, startingAt: prefix.count - 1, logitsForLast: true)
          }
        }
        s.timings.saveSeconds = lap()
      }
      if position < prompt.count {
        try decode(Array(prompt[position...]), seq: s.seq, startingAt: position, logitsForLast: true, progress: report)
        s.timings.prefillSeconds += lap()
      }
    } catch {
      finish(s, error: error)
      return
    }
    s.position = prompt.count
    s.generationStart = .now
    guard s.pending.request.maxTokens > 0 else { return finish(s) }
    accept(s.sampler.sample(context, index: -1), into: s)
  }

  /// Decodes the last sampled token of every sequence in `sequences` in one
  /// batch and samples each one's next token.
  ///
  /// The batch is ordered by sequence id: llama.cpp computes each run of
  /// consecutive ids separately. With `batchInvariant`, gaps in the ids are
  /// filled and a lone sequence gets a neighbour, with throw-away tokens that
  /// are removed right after, so every step is one computation over two or
  /// more KV streams (see `LlamaEngineOptions.batchInvariant`).
  private func step(_ sequences: [ActiveSequence]) {
    let ordered = sequences.sorted { $0.seq < $1.seq }
    var fillers: [Int32] = []
    if options.batchInvariant, let low = ordered.first?.seq, let high = ordered.last?.seq {
      let busy = Set(ordered.map(\.seq))
      fillers = (low...high).filter { !busy.contains($0) }
      // The scratch sequence (id `parallel`) is always free.
      if low == high { fillers.append(high + 1) }
    }
    let rows = (ordered.map { ($0.seq, $0.next, $0.position, true) } + fillers.map { ($0, ordered[0].next, 0, false) })
      .sorted { $0.0 < $1.0 }
    var batch = llama_batch_init(Int32(rows.count), 0, 1)
    defer { llama_batch_free(batch) }
    var logitIndex: [Int32: Int32] = [:]
    for (i, row) in rows.enumerated() {
      batch.token[i] = row.1
      batch.pos[i] = Int32(row.2)
      batch.n_seq_id[i] = 1
      batch.seq_id[i]![0] = row.0
      batch.logits[i] = row.3 ? 1 : 0
      if row.3 { logitIndex[row.0] = Int32(i) }
    }
    batch.n_tokens = Int32(rows.count)
    let code = llama_decode(context, batch)
    let memory = llama_get_memory(context)
    for seq in fillers { llama_memory_seq_rm(memory, seq, -1, -1) }
    guard code == 0 else {
      let message = LlamaBackendError.decodeFailed(code: code).errorDescription ?? ""
      for s in ordered { finish(s, error: EngineError.permanent(message)) }
      return
    }
    for s in ordered {
      s.position += 1
      accept(s.sampler.sample(context, index: logitIndex[s.seq] ?? -1), into: s)
    }
  }

  /// Appends `token` to `s`'s output, or finishes `s` at an end-of-generation
  /// token, a stop string or `maxTokens`.
  private func accept(_ token: Int32, into s: ActiveSequence) {
    let request = s.pending.request
    if model.isEndOfGeneration(token) { return finish(s) }
    s.output += model.piece(token)
    s.generated += 1
    s.text = String(decoding: s.output, as: UTF8.self)
    if let cut = request.stop.compactMap({ s.text.range(of: $0)?.lowerBound }).min() {
      s.text = String(s.text[..<cut])
      return finish(s)
    }
    // A loop: a sentence past the guard's bound ends the output before its copy. Checked when a
    // piece ends a sentence or a line, where a copy can have become complete.
    if request.cutsLoops, s.output.last.map({ [0x0A, 0x2E, 0x21, 0x3F, 0x20].contains($0) }) == true {
      let (text, cut) = request.cuttingLoops(s.text)
      if cut {
        s.text = text
        return finish(s)
      }
    }
    if s.generated >= request.maxTokens { return finish(s) }
    s.next = token
  }

  /// Frees `s`'s sequence and sampler and answers its caller.
  private func finish(_ s: ActiveSequence, error: (any Error)? = nil) {
    guard !s.finished else { return }
    s.finished = true
    llama_memory_seq_rm(llama_get_memory(context), s.seq, -1, -1)
    if let error {
      s.pending.continuation.resume(throwing: error)
      return
    }
    s.timings.generateSeconds = seconds(ContinuousClock.now - s.generationStart)
    lastTimings = s.timings
    s.pending.continuation.resume(
      returning: GenerationResult(
        text: s.text, promptTokens: s.pending.prefix.count + s.pending.suffix.count, outputTokens: s.generated,
        cachedTokens: s.cached))
  }
}

private func seconds(_ d: Duration) -> Double {
  Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
