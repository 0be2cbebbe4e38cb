"""Renderers: one module per export format, each writing the real on-disk shape of that export."""
