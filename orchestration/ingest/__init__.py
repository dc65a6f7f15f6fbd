"""Landing files -> standard bronze rows: client mappings, file readers, quarantine."""
