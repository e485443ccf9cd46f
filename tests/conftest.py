"""Shared test fixtures: the repo root, the real samples in ../shared/data, CPU only."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the suite's tests run on the CPU

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real COCO and Cityscapes samples); skip clearly when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (the ../shared checkout is absent)")
    return SHARED_DATA
