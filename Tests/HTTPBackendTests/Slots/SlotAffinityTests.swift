import Foundation
import Inference
import Logging
import Testing

@testable import HTTPBackend

/// On a llama.cpp server with several slots, a window's requests go to the slot that holds it.
@Suite struct SlotAffinityTests {
  func engine(_ fake: FakeTransport, slots: Int?, llama: Bool = true) throws -> OpenAIEngine {
    try OpenAIEngine(
      options: OpenAIEngineOptions(baseURLs: ["http://a/v1"], model: "m"), transport: fake.transport,
      server: ServerInfo(isLlamaCpp: llama, totalSlots: slots), checkpoints: nil, logger: Logger(label: "test"))
  }

  func slotsSent(_ fake: FakeTransport) -> [Int?] {
    fake.requests.map {
      (try? JSONSerialization.jsonObject(with: $0.body ?? Data()) as? [String: Any])?["id_slot"] as? Int
    }
  }

  @Test func aWindowsQuestionsGoToTheSlotHoldingItsPrefix() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(200, completion) }
    let e = try engine(fake, slots: 2)
    let windowOne = GenerationRequest(prefix: "window one", suffix: "q1", maxTokens: 4)
    let windowTwo = GenerationRequest(prefix: "window two", suffix: "q1", maxTokens: 4)
    for r in [windowOne, windowTwo, windowOne, windowTwo] {
      var asked = r
      asked.suffix = "q2"
      _ = try await e.generate(r)
      _ = try await e.generate(asked)
    }
    let sent = slotsSent(fake)
    #expect(sent.count == 8)
    let first = try #require(sent[0])
    let second = try #require(sent[2])
    #expect(first != second, "the second window takes the empty slot")
    #expect(sent == [first, first, second, second, first, first, second, second])
  }

  @Test func oneSlotOrAnotherServerGetsNoSlot() async throws {
    for (slots, llama) in [(1, true), (nil, true), (4, false)] as [(Int?, Bool)] {
      let fake = FakeTransport()
      fake.on("a") { _ in json(200, completion) }
      _ = try await engine(fake, slots: slots, llama: llama).generate(request)
      #expect(slotsSent(fake) == [nil])
    }
  }

  @Test func aPrefixBeingComputedIsWaitedForRatherThanComputedAgain() async throws {
    let pool = SlotPool(count: 2)
    let first = await pool.acquire(preferring: "window one")
    #expect(first.holds == false)
    // The window's second question, while the first computes the window: it waits for that
    // slot although the other one is free.
    let second = Task { await pool.acquire(preferring: "window one") }
    while await pool.waiting == 0 { await Task.yield() }
    // Another window takes the free slot meanwhile.
    let other = await pool.acquire(preferring: "window two")
    #expect(other.slot != first.slot)
    await pool.release(first.slot, holding: "window one")
    let got = await second.value
    #expect(got.slot == first.slot && got.holds)

    // When the slot failed (its state unknown), the waiter takes whichever slot comes back.
    let third = Task { await pool.acquire(preferring: "window one") }
    while await pool.waiting == 0 { await Task.yield() }
    await pool.release(got.slot, holding: nil)
    let after = await third.value
    #expect(after.slot == got.slot && !after.holds)
    await pool.release(other.slot, holding: "window two")
    let again = await pool.acquire(preferring: "window two")
    #expect(again.slot == other.slot && again.holds)
  }
}
