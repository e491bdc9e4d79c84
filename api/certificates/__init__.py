"""Electronic certificates (电子证照): registry, reuse at draft creation, access log, public verification."""
