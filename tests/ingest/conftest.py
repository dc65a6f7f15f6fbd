"""Fixtures of the ingest tests: a landing area with hand-written good files of two companies."""

from __future__ import annotations

import pytest
from ingest_fixtures import World, make_world


@pytest.fixture
def world(tmp_path) -> World:
    return make_world(tmp_path)
