"""Ready-made networks for 28x28 grey images (MNIST, Fashion-MNIST), and the factory the
command line uses: ``build('lenet')`` -> LeNet5, ``build('resnet')`` -> ResNet,
``build('mlp', hidden=100)`` -> the article's 784-H-10 network; and course code,
``attention_from_primitives`` (scaled dot-product attention from matmul and softmax).

Every model takes a batch of images (N, 1, 28, 28) except the MLP, which takes them
flattened to (N, 784); ``takes_flat(name)`` says which.

``minigrad.models.gpt``: ``GPT`` and ``GPTConfig``, a nanoGPT-style GPT whose file runs on
PyTorch with only its imports swapped.
"""
from __future__ import annotations

from .. import nn
from .attention import attention_from_primitives
from .lenet import LeNet5
from .resnet import BasicBlock, ResNet

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def mlp(in_features: int = 784, hidden: int = 100, num_classes: int = 10, activation: str = "relu") -> nn.Module:
    """in -> hidden -> classes with one activation: the article's network (logits out)."""
    return nn.Sequential(nn.Linear(in_features, hidden), ACTIVATIONS[activation](), nn.Linear(hidden, num_classes))


MODELS = {"mlp": mlp, "lenet": LeNet5, "resnet": ResNet}


def build(name: str, **config) -> nn.Module:
    """The model called ``name`` (a key of ``MODELS``), built with ``config``."""
    if name not in MODELS:
        raise ValueError(f"models.build: unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](**config)


def takes_flat(name: str) -> bool:
    """Whether the model wants (N, 784) rather than (N, 1, 28, 28)."""
    return name == "mlp"


__all__ = ["LeNet5", "ResNet", "BasicBlock", "mlp", "build", "takes_flat", "MODELS",
           "attention_from_primitives"]
