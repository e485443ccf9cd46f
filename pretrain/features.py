"""Penultimate-layer features of an exported backbone on a classification dataset (t-SNE, probes).

The export (common.backbone) holds the network without its classifier; it is loaded into the
stage-1 network of its arch with the head replaced by the identity, so a forward pass returns
the pooled features the classifier read during pretraining.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from common.backbone import CLASSIFIER_PREFIXES, load_backbone
from common.vocab import BN
from pretrain.models import build_network


def load_feature_network(export) -> tuple[nn.Module, dict]:
    """(network returning penultimate features, export metadata); every backbone key must load."""
    state, meta = load_backbone(export)
    net = build_network(meta["arch"], int(meta.get("num_classes") or 1000), meta.get("norm") or BN)
    for head in ("fc", "classifier"):
        if hasattr(net, head):
            setattr(net, head, nn.Identity())
    expected = {k for k in net.state_dict() if not k.endswith("num_batches_tracked")}
    missing = sorted(expected - set(state))
    unexpected = sorted(k for k in set(state) - expected if not k.startswith(CLASSIFIER_PREFIXES))
    if missing or unexpected:
        raise KeyError(f"{meta['path']} does not fit a {meta['arch']}: missing {missing[:5]}, unexpected "
                       f"{unexpected[:5]}")
    net.load_state_dict(state, strict=False)  # only BatchNorm step counters are not in an export
    return net.eval(), meta


@torch.no_grad()
def penultimate_features(net: nn.Module, dataset, indices=None, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(features [n, d], labels [n]) of `dataset` (all samples, or `indices`), in eval mode."""
    indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    features, labels = [], []
    for start in range(0, len(indices), batch_size):
        items = [dataset[int(i)] for i in indices[start:start + batch_size]]
        features.append(net(torch.stack([item["inputs"] for item in items])).flatten(1).numpy())
        labels += [item["label"] for item in items]
    return np.concatenate(features), np.asarray(labels)
