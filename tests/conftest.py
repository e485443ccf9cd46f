"""Shared test fixtures: the repo root, the real samples in ../shared/data, CPU only."""

import os
import socket
from pathlib import Path

import pytest

from common.numerics import pin_cpu_numerics

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the suite's tests run on the CPU
pin_cpu_numerics()  # if asked, as every tool does (tools/_bootstrap.py): before torch is imported

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real COCO and Cityscapes samples); skip clearly when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (the ../shared checkout is absent)")
    return SHARED_DATA


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for torchrun's --master_port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
