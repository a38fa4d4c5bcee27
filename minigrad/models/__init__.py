"""Models and course code written with minigrad's public API, the way a user writes PyTorch.

attention    ``attention_from_primitives``: scaled dot-product attention from matmul and softmax
gpt          ``GPT``, ``GPTConfig``: a nanoGPT-style GPT whose file runs on PyTorch with its imports
             swapped (``from minigrad.models.gpt import GPT, GPTConfig``)
"""
from .attention import attention_from_primitives

__all__ = ["attention_from_primitives"]
