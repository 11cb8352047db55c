import Foundation
import GRDB

#if canImport(Glibc)
  import Glibc
#endif

/// The on-disk home of a corpus and its jobs: `state.sqlite`, `blobs/`, `kv/`
/// and lock files, all under one directory.
public final class Workspace: Sendable {
  /// The workspace directory.
  public let root: URL
  /// The state database (WAL mode).
  public let db: DatabasePool
  /// Content-addressed, zstd-compressed extracted text.
  public let blobs: BlobStore

  /// The directory of KV-cache checkpoints.
  public var kvDirectory: URL { root.appendingPathComponent("kv", isDirectory: true) }
  /// The directory of lock files.
  public var locksDirectory: URL { root.appendingPathComponent("locks", isDirectory: true) }

  /// Opens the workspace at `root`, creating it and migrating the tables of
  /// `schemas`.
  ///
  /// - Parameters:
  ///   - root: The workspace directory.
  ///   - schemas: The modules whose tables this process reads or writes, in
  ///     dependency order (a module's schema after those it builds on).
  /// - Throws: `WorkspaceError.cannotCreate` when the directory or database
  ///   cannot be made; `.damaged` when the database is not one, or is corrupt.
  public init(root: URL, schemas: [any WorkspaceSchema.Type]) throws {
    self.root = root
    let fm = FileManager.default
    for sub in ["", "blobs", "kv", "locks"] {
      let dir = root.appendingPathComponent(sub, isDirectory: true)
      do {
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
      } catch {
        throw WorkspaceError.cannotCreate(path: dir.path, reason: error.userDescription)
      }
    }
    var config = Configuration()
    config.busyMode = .timeout(30)
    // WAL + synchronous=NORMAL: a kill -9 never loses a committed transaction
    // and never corrupts the file; only a power loss may roll back the last
    // commits. It makes per-task bookkeeping cheap (see BENCHMARKS.md).
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    do {
      db = try DatabasePool(path: root.appendingPathComponent("state.sqlite").path, configuration: config)
      var migrator = DatabaseMigrator()
      for schema in schemas { schema.registerMigrations(in: &migrator) }
      // Processes that open one workspace at once (a run and its extraction workers, each
      // with its own schemas) migrate one at a time: GRDB reads which migrations were applied
      // before it takes the write lock, so two at once could both create a table.
      let lock = open(
        root.appendingPathComponent("locks/migrate.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
      if lock >= 0 { flock(lock, LOCK_EX) }
      defer {
        if lock >= 0 {
          flock(lock, LOCK_UN)
          close(lock)
        }
      }
      try migrator.migrate(db)
    } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
      throw WorkspaceError.damaged(
        path: root.appendingPathComponent("state.sqlite").path, reason: error.userDescription)
    } catch {
      throw WorkspaceError.cannotCreate(path: root.path, reason: error.userDescription)
    }
    blobs = BlobStore(directory: root.appendingPathComponent("blobs", isDirectory: true))
  }

  /// Resolves the workspace directory from a flag, `LONGCTX_WORKSPACE`, or `./.longctx`.
  public static func resolve(_ flag: String?) -> URL {
    if let flag { return URL(fileURLWithPath: flag, isDirectory: true) }
    if let env = ProcessInfo.processInfo.environment["LONGCTX_WORKSPACE"], !env.isEmpty {
      return URL(fileURLWithPath: env, isDirectory: true)
    }
    return URL(fileURLWithPath: ".longctx", isDirectory: true)
  }
}
