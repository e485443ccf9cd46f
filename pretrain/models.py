"""Classification backbones, in torchvision's key layout wherever torchvision has the model.

ImageNet: ResNet-18/50/101/152, DenseNet-121/169 from torchvision; ResNet-10 is torchvision's
ResNet with one BasicBlock per stage (the ImageNet-LT baseline); MobileNet-V1 (absent from
torchvision) is written here, its classifier named `fc` like ResNet's.
CIFAR: ResNet-110 (basic blocks, 18 per stage, 1x1 projection shortcuts, i.e. He et al.'s
option B), pre-activation ResNet-164 (bottlenecks, 18 per stage) and DenseNet-BC-100 (k=12;
torchvision's DenseNet with a 3x3 stem and no stem pooling). None of these exist in
torchvision or timm.

The classifier head is always `fc.*` or `classifier.*`; the export (common.backbone) drops it.

Normalization: BatchNorm, or with `norm="gn"` GroupNorm of 32 groups (Wu & He; the norm of
"Rethinking ImageNet Pre-training"'s detectors) in every norm layer of the torchvision ResNets,
the archs stage 2 can fine-tune. torchvision's ResNet takes the norm as `norm_layer`, keeps its
keys (`bn1.weight`, no running statistics) and initialises GroupNorm's affine like BN's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from mmengine.model import BaseModel
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from common.vocab import BN, GN, GN_GROUPS, NORMS
from pretrain.training_loss import TrainingLoss


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm of GN_GROUPS groups over `channels`; an error when they do not divide them
    (a narrow layer, e.g. the 16 channels of a CIFAR ResNet's first stage)."""
    if channels % GN_GROUPS:
        raise ValueError(f"GroupNorm with {GN_GROUPS} groups cannot normalize a layer of {channels} channels "
                         f"({channels} is not a multiple of {GN_GROUPS}); use norm='{BN}' for this arch")
    return nn.GroupNorm(GN_GROUPS, channels)


def _resnet10(num_classes: int, norm_layer=None) -> nn.Module:
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=num_classes, norm_layer=norm_layer)


class MobileNetV1(nn.Module):
    """MobileNet-V1 1.0 (Howard et al. 2017): depthwise-separable convolutions."""

    # (output channels, stride) of the 13 depthwise-separable blocks
    _BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
               (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes: int = 1000, width: float = 1.0):
        super().__init__()

        def conv_bn(cin, cout, stride, groups=1, kernel=3):
            return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        channels = int(32 * width)
        layers = [conv_bn(3, channels, 2)]
        for out, stride in self._BLOCKS:
            out = int(out * width)
            layers += [conv_bn(channels, channels, stride, groups=channels), conv_bn(channels, out, 1, kernel=1)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class _CifarBasic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class _PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.downsample = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = F.relu(self.bn1(x))
        identity = x if self.downsample is None else self.downsample(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + identity


class CifarResNet(nn.Module):
    """ResNet for 32x32 inputs: 3 stages of 16/32/64 (x4 for bottlenecks) channels."""

    def __init__(self, depth: int, preact_bottleneck: bool, num_classes: int = 10):
        super().__init__()
        per_stage = (depth - 2) // (9 if preact_bottleneck else 6)
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.preact = preact_bottleneck
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for stage, (planes, stride) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
            blocks = []
            for b in range(per_stage):
                s = stride if b == 0 else 1
                if preact_bottleneck:
                    blocks.append(_PreActBottleneck(cin, planes, s))
                    cin = planes * 4
                else:
                    blocks.append(_CifarBasic(cin, planes, s))
                    cin = planes
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.bn_final = nn.BatchNorm2d(cin) if preact_bottleneck else nn.Identity()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.conv1(x)
        if not self.preact:
            x = F.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.relu(self.bn_final(x)) if self.preact else x
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _resnet18_cifar(num_classes: int, norm_layer=None) -> nn.Module:
    """torchvision's ResNet-18 with the CIFAR stem (3x3 stride-1 conv, no max-pool), the network
    of Arazo et al.'s budgeted-training experiments; torchvision's keys (the stem's shape differs)."""
    net = torchvision.models.resnet18(num_classes=num_classes, norm_layer=norm_layer)
    net.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    net.maxpool = nn.Identity()
    return net


def _densenet_bc100(num_classes: int) -> nn.Module:
    net = torchvision.models.DenseNet(growth_rate=12, block_config=(16, 16, 16), num_init_features=24,
                                      bn_size=4, num_classes=num_classes)
    net.features.conv0 = nn.Conv2d(3, 24, 3, 1, 1, bias=False)  # CIFAR stem: no stride, no pool
    net.features.norm0 = nn.Identity()
    net.features.relu0 = nn.Identity()
    net.features.pool0 = nn.Identity()
    return net


# The torchvision ResNets: the archs that take `norm_layer` (and that stage 2 fine-tunes)
_RESNETS = {
    "resnet10": _resnet10,
    "resnet18": lambda n, norm_layer=None: torchvision.models.resnet18(num_classes=n, norm_layer=norm_layer),
    "resnet34": lambda n, norm_layer=None: torchvision.models.resnet34(num_classes=n, norm_layer=norm_layer),
    "resnet50": lambda n, norm_layer=None: torchvision.models.resnet50(num_classes=n, norm_layer=norm_layer),
    "resnet101": lambda n, norm_layer=None: torchvision.models.resnet101(num_classes=n, norm_layer=norm_layer),
    "resnet152": lambda n, norm_layer=None: torchvision.models.resnet152(num_classes=n, norm_layer=norm_layer),
    "resnet18_cifar": _resnet18_cifar,
}
GN_ARCHS = tuple(_RESNETS)

ARCHS = {
    "resnet10": _resnet10,
    "resnet18": lambda n: torchvision.models.resnet18(num_classes=n),
    "resnet34": lambda n: torchvision.models.resnet34(num_classes=n),
    "resnet50": lambda n: torchvision.models.resnet50(num_classes=n),
    "resnet101": lambda n: torchvision.models.resnet101(num_classes=n),
    "resnet152": lambda n: torchvision.models.resnet152(num_classes=n),
    "densenet121": lambda n: torchvision.models.densenet121(num_classes=n),
    "densenet169": lambda n: torchvision.models.densenet169(num_classes=n),
    "mobilenet_v1": lambda n: MobileNetV1(num_classes=n),
    "resnet18_cifar": _resnet18_cifar,
    "resnet110_cifar": lambda n: CifarResNet(110, preact_bottleneck=False, num_classes=n),
    "resnet164_cifar": lambda n: CifarResNet(164, preact_bottleneck=True, num_classes=n),
    "densenet_bc100_cifar": _densenet_bc100,
}


def build_network(arch: str, num_classes: int, norm: str = BN) -> nn.Module:
    """A classification network by name (see ARCHS), with BatchNorm or (`norm="gn"`, the
    ResNets) GroupNorm of 32 groups."""
    if arch not in ARCHS:
        raise KeyError(f"unknown arch {arch!r}; known: {', '.join(sorted(ARCHS))}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if norm == BN:
        return ARCHS[arch](num_classes)
    if arch not in GN_ARCHS:
        raise ValueError(f"norm={norm!r} is built for the torchvision ResNets ({', '.join(GN_ARCHS)}), the archs "
                         f"stage 2 fine-tunes; {arch} has BatchNorm only")
    return _RESNETS[arch](num_classes, norm_layer=group_norm if norm == GN else None)


class Classifier(BaseModel):
    """mmengine wrapper: cross-entropy training through an explicit TrainingLoss.

    The TrainingLoss (pretrain.training_loss) computes the per-sample losses, applies the
    method's weights or in-batch selection, and keeps the step's record for the hook: no second
    forward pass for the losses, and nothing set on the model from outside.
    """

    def __init__(self, arch: str, num_classes: int, loss: TrainingLoss | None = None, norm: str = BN):
        super().__init__()
        self.arch = arch
        self.net = build_network(arch, num_classes, norm)
        self.loss = loss if loss is not None else TrainingLoss()

    def forward(self, inputs, label=None, index=None, mode="tensor"):
        if mode == "loss":
            return {"loss": self.loss(self.net, inputs, label, index)}
        logits = self.net(inputs)
        if mode == "tensor":
            return logits
        if mode == "predict":
            return [{"logits": logits.detach(), "label": label, "index": index}]
        raise ValueError(f"unknown mode {mode!r}")


@torch.no_grad()
def forward_flops(net: nn.Module, image_size: int) -> int:
    """FLOPs of one sample's forward pass at `image_size` (torch's FlopCounterMode: convolutions
    and matrix products, multiply-add = 2). Training costs about 3x this per sample."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = net.training
    net.eval()
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, image_size, image_size))
    net.train(was_training)
    return int(counter.get_total_flops())
