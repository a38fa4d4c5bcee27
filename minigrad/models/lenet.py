"""LeNet-5 (LeCun et al., 1998) for 28x28 grey images, in its common modern form."""
from __future__ import annotations

from .. import nn


class LeNet5(nn.Module):
    """Two convolutions with pooling, then three linear layers: 61,706 parameters.

        (N, 1, 28, 28) -conv 5x5, pad 2-> (N, 6, 28, 28) -max 2-> (N, 6, 14, 14)
                       -conv 5x5-> (N, 16, 10, 10) -max 2-> (N, 16, 5, 5) -> 400 -> 120 -> 84 -> 10

    The 1998 network used tanh-like units and average ("sub-sampling") pooling; this is the
    version most courses train today, with ReLU and max pooling. ``batch_norm=True`` adds a
    BatchNorm2d after each convolution, ``dropout > 0`` a Dropout before the last two linear
    layers (notebook 9 compares the training curves). ``features`` and ``classifier`` are
    the two halves, so ``model.features[0].weight`` are the first layer's filters.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, batch_norm: bool = False, dropout: float = 0.0):
        super().__init__()

        def conv_block(cin, cout, padding):
            norm = [nn.BatchNorm2d(cout)] if batch_norm else []
            return [nn.Conv2d(cin, cout, 5, padding=padding, bias=not batch_norm), *norm, nn.ReLU(), nn.MaxPool2d(2)]

        self.features = nn.Sequential(*conv_block(in_channels, 6, 2), *conv_block(6, 16, 0))
        drop = [nn.Dropout(dropout)] if dropout else []
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), *drop,
                                        nn.Linear(120, 84), nn.ReLU(), *drop, nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
