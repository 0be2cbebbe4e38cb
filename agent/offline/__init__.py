"""The deterministic offline engine: every stage computed from evidence with no model at all."""
