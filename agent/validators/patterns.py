"""Regexes shared by several rules (evidence ids, timestamps, quantities)."""

from __future__ import annotations

import re

# Evidence-id prefixes from tools/readers/__init__.py; the locator runs to whitespace or closing punctuation.
EVIDENCE_ID = re.compile(r"(?<![\w/])(?:log|trace|note|commit|chat|k8s|pd|metric|alert|change|eval|ticket):[^\s`|,;()\[\]<>\"']+")
ISO_TS = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|UTC|\+00:?00)?"
)
TIME_ONLY = re.compile(r"(?<![\d:-])(\d{2}):(\d{2})(?::(\d{2}))?(?![\d:])")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
UNITS = (
    r"%|ms|s|secs?|seconds?|minutes?|mins?|h|hrs?|hours?|days?|GB|GiB|MB|MiB|TB|KB|tokens?|requests?|"
    r"users?|customers?|conversations?|sessions?|tenants?|accounts?|errors?|nodes?|GPUs?|GPU-hours?|"
    r"replicas|pods|steps|x|USD|rps|req/s|QPS|points?|pp"
)
QUANTITY = re.compile(
    rf"(?<![\w.:/-])(\$\s?\d[\d,]*(?:\.\d+)?[kKmM]?|\d[\d,]*(?:\.\d+)?)\s?({UNITS})?(?![\w%])"
)
RC_ID = re.compile(r"\b(?:RC|CF)-\d+\b")
ACTION_ID = re.compile(r"\bAI-\d{2,4}\b")
