"""One module per rule; each exposes `RULE` (a `Rule`). Sentence-level rules also expose `detect()`."""
