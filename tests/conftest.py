"""Shared pytest fixtures. Add new fixtures below; do not remove existing ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (see tests/fake_openai.py)."""
    with FakeOpenAI() as server:
        yield server
