"""Every architecture builds and runs; ImageNet ones keep torchvision's key layout, so that
stage 2 can fill the toolboxes' ResNets from an export."""

import numpy as np
import pytest
import torch
import torchvision

from common.backbone import strip_classifier
from pretrain.methods import EpochPlan
from pretrain.models import ARCHS, Classifier, build_network, group_norm
from pretrain.training_loss import TrainingLoss


@pytest.mark.parametrize("arch,size", [
    ("resnet10", 64), ("resnet18", 64), ("mobilenet_v1", 64),
    ("resnet110_cifar", 32), ("resnet164_cifar", 32), ("densenet_bc100_cifar", 32),
])
def test_forward_backward(arch, size):
    net = build_network(arch, 7)
    out = net(torch.randn(2, 3, size, size))
    assert out.shape == (2, 7)
    out.sum().backward()


@pytest.mark.parametrize("arch", ["resnet50", "resnet101", "resnet152", "densenet121", "densenet169"])
@pytest.mark.e2e
def test_imagenet_archs_are_torchvision_models(arch):
    ours = build_network(arch, 1000).state_dict()
    reference = getattr(torchvision.models, arch)().state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}


def test_resnet10_has_resnet18_keys_with_one_block_per_stage():
    keys = set(strip_classifier(build_network("resnet10", 10).state_dict()))
    assert "layer4.0.conv2.weight" in keys and not any(k.startswith("layer1.1.") for k in keys)


def test_cifar_depths():
    def blocks(net):
        return sum(len(getattr(net, f"layer{i}")) for i in (1, 2, 3))

    assert blocks(build_network("resnet110_cifar", 10)) == 54  # 3 x 18 basic blocks: 6n+2 = 110
    assert blocks(build_network("resnet164_cifar", 10)) == 54  # 3 x 18 bottlenecks: 9n+2 = 164
    dense = build_network("densenet_bc100_cifar", 10)
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in dense.modules())
    assert convs == 1 + 3 * 16 * 2 + 2  # stem, 2 convs per dense layer, 2 transitions (+ fc = 100)


def test_unknown_arch_is_named():
    with pytest.raises(KeyError, match="resnet9000"):
        build_network("resnet9000", 10)
    assert "mobilenet_v1" in ARCHS


def test_classifier_trains_through_its_training_loss_and_its_weights():
    loss = TrainingLoss()
    model = Classifier("resnet10", 4, loss).eval()  # eval: same BN statistics for every pass
    inputs, label, index = torch.randn(3, 3, 32, 32), torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    plain = model(inputs, label, index, mode="loss")["loss"]
    record = loss.pop()
    assert record.losses.shape == (3,) and record.forwards == record.backwards == 3
    assert torch.equal(record.indices, index)
    assert plain.item() == pytest.approx(record.losses.mean().item(), rel=1e-5)
    weights = torch.zeros(10)
    weights[6] = 1.0  # only sample 6 counts
    loss.use(EpochPlan(np.arange(10), weights=weights))
    weighted = model(inputs, label, index, mode="loss")["loss"]
    assert weighted.item() == pytest.approx(loss.pop().losses[1].item(), rel=1e-5)
    with pytest.raises(RuntimeError, match="no training step recorded"):
        loss.pop()


def test_norm_gn_puts_32_group_groupnorm_in_every_norm_layer_with_torchvision_keys():
    net = build_network("resnet18", 5, norm="gn")
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d | torch.nn.GroupNorm)]
    assert norms and all(isinstance(m, torch.nn.GroupNorm) and m.num_groups == 32 for m in norms)
    bn_keys = {k for k in build_network("resnet18", 5).state_dict() if "running_" not in k
               and not k.endswith("num_batches_tracked")}
    assert set(net.state_dict()) == bn_keys  # same names (bn1, downsample.1), no running statistics
    net(torch.randn(2, 3, 32, 32)).sum().backward()
    assert build_network("resnet18_cifar", 5, norm="gn").conv1.kernel_size == (3, 3)


def test_norm_gn_errors_name_the_arch_or_the_channels():
    with pytest.raises(ValueError, match="densenet121 has BatchNorm only"):
        build_network("densenet121", 5, norm="gn")
    with pytest.raises(ValueError, match="16 channels"):  # a CIFAR ResNet's first stage is that narrow
        group_norm(16)
    with pytest.raises(ValueError, match="norm must be one of"):
        build_network("resnet18", 5, norm="ln")
