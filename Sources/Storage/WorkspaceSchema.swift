import GRDB

/// The tables one module owns, as the migrations that create and change them.
///
/// Each module that keeps rows in the workspace declares one schema beside
/// the code that reads and writes those rows; whoever opens a workspace names
/// the schemas it needs (`Workspace(root:schemas:)`). Migrations are never
/// edited once shipped, and their names are unique across modules: a
/// workspace records which ones it has run, by name, whichever module
/// registered them, so modules can be opened alone or together in any order.
public protocol WorkspaceSchema {
  /// Registers this module's migrations, oldest first.
  static func registerMigrations(in migrator: inout DatabaseMigrator)
}
