"""manifest-sync: depot manifests into the reporting database."""
