"""Data files shipped with the package: the official pose basis and identity split (SPEC 0.1)."""
