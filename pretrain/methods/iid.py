"""i.i.d.: the whole training set every epoch, reshuffled; the baseline every Δ starts from."""

from __future__ import annotations

from common.vocab import IID
from pretrain.methods.base import Method


class IID(Method):
    """Uniform i.i.d. sampling (the base class's behaviour, under its own name)."""

    name = IID
    label = "i.i.d."
    order = 0
