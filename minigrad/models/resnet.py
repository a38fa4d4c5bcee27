"""A small ResNet (He et al., 2016) for 28x28 grey images: BasicBlocks with BatchNorm and
skip connections, three stages of 16, 32 and 64 channels."""
from __future__ import annotations

from .. import nn
from ..nn import functional as F


class BasicBlock(nn.Module):
    """y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both convolutions 3x3.

    The shortcut is the identity when the shape is kept, else a strided 1x1 convolution with
    BatchNorm that matches it (the "projection shortcut"). Through the ``+`` the gradient
    reaches x unchanged along the identity path, which is what lets deep ResNets train.
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = None
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """stem (3x3 conv, BN, ReLU) -> stages of BasicBlocks -> global average pool -> linear.

        (N, 1, 28, 28) -stem-> (N, 16, 28, 28) -stage 1-> (N, 16, 28, 28)
                       -stage 2-> (N, 32, 14, 14) -stage 3-> (N, 64, 7, 7) -pool-> 64 -> 10

    ``blocks`` gives the number of BasicBlocks per stage (the first block of stages 2 and 3
    halves the size with stride 2); the default (1, 1, 1) has 8 convolutions and 78,042
    parameters, (3, 3, 3) is He et al.'s ResNet-20 for CIFAR, in grey.
    """

    def __init__(self, blocks=(1, 1, 1), widths=(16, 32, 64), num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        if len(blocks) != len(widths):
            raise ValueError(f"ResNet: blocks {blocks} and widths {widths} must have one entry per stage")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages, cin = [], widths[0]
        for i, (n, width) in enumerate(zip(blocks, widths)):
            layers = []
            for j in range(n):
                layers.append(BasicBlock(cin, width, stride=2 if i > 0 and j == 0 else 1))
                cin = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1))
