// Placeholder so that `swift build --build-tests` works on the kv branch;
// delete when this target gets real tests.
