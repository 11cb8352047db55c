import Foundation
import Inference
import Storage

/// Prefix affinity on one llama.cpp server: each request names its slot (`id_slot`), chosen
/// by `SlotPool` as the free slot that last held the request's prefix (else an empty one,
/// else the least recently used), so the tasks of one window meet the window's KV in the
/// slot's prompt cache (`cache_prompt`) and the server computes only their suffixes, even
/// with several requests in flight. Slot checkpoints (`model.slot_save_path`) do this and
/// more; this is the plain server's share of it.
extension OpenAIEngine {
  /// A pool of the server's slots when it is llama.cpp's with more than one slot and the job
  /// uses one endpoint; nil otherwise (the server's own choice of slot is kept).
  static func makeAffinity(options: OpenAIEngineOptions, server: ServerInfo) -> SlotPool? {
    guard server.isLlamaCpp, options.baseURLs.count == 1, let slots = server.totalSlots, slots > 1 else { return nil }
    return SlotPool(count: slots)
  }

  /// Runs `send` with `id_slot` set to a slot of `pool`, preferring one that holds `request`'s prefix.
  static func onSlot(
    of pool: SlotPool, request: GenerationRequest, send: ([String: Any]) async throws -> GenerationResult
  ) async throws -> GenerationResult {
    let key = Hashing.sha256(request.prefix)
    let (slot, _) = await pool.acquire(preferring: key)
    do {
      let result = try await send(["id_slot": slot])
      await pool.release(slot, holding: key)
      return result
    } catch {
      // What the slot holds after a failure is unknown.
      await pool.release(slot, holding: nil)
      throw error
    }
  }
}
