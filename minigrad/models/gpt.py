"""A GPT language model in the style of nanoGPT, written the way PyTorch code is written.

Token and position embeddings, ``n_layer`` pre-norm blocks (causal self-attention, then an MLP
with GELU, each added back to a residual stream), a final LayerNorm and a language-model head
whose weight is (by default) the token-embedding table itself.

The same file runs on PyTorch with only the three import lines below changed to
``import torch``, ``from torch import nn`` and ``from torch.nn import functional as F``
(``tests/test_gpt.py`` does exactly that and checks that both give the same logits, loss and
gradients from the same weights). So everything below uses names that both frameworks define
with the same meaning, and nothing depends on how a framework lays out a weight:
``nn.Linear`` stores its weight as (in, out) in minigrad and as (out, in) in PyTorch, which is
why the head is not an ``nn.Linear`` (see ``LMHead``).

>>> import minigrad
>>> from minigrad.models.gpt import GPT, GPTConfig
>>> minigrad.manual_seed(0)
>>> model = GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=8))
>>> idx = minigrad.randint(0, 11, (2, 5))
>>> logits, loss = model(idx, targets=idx)
>>> logits.shape, loss.shape
((2, 5, 11), ())
"""
import math
from dataclasses import dataclass

import minigrad as torch                    # PyTorch: import torch
from minigrad import nn                     # PyTorch: from torch import nn
from minigrad.nn import functional as F     # PyTorch: from torch.nn import functional as F


@dataclass
class GPTConfig:
    block_size: int = 64        # the longest context the model reads (position embeddings)
    vocab_size: int = 65        # tokens: tiny shakespeare's 65 characters
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False          # biases in the Linear layers and LayerNorms (nanoGPT trains without)
    tie_weights: bool = True    # the head's weight is the token-embedding table


class CausalSelfAttention(nn.Module):
    """Each position mixes the values of the positions up to itself, one mix per head."""

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must be a multiple of n_head"
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x):
        B, T, C = x.size()  # batch, time (positions), channels (n_embd)
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head size): the heads become a batch axis
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        # softmax(q @ k^T / sqrt(head size), position i sees 0..i only) @ v, one op with its backward
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                           dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Each position alone: n_embd -> 4 n_embd -> GELU -> n_embd."""

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)): pre-norm, as GPT-2."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class LMHead(nn.Module):
    """One score per token for each position: logits = x @ weight.T, weight (vocab_size, n_embd).

    This is ``nn.Linear(n_embd, vocab_size, bias=False)`` with the weight stored as PyTorch
    stores it, (out, in), which is also the shape of the token-embedding table: so tying the
    two is one assignment, ``lm_head.weight = wte.weight``, in both frameworks. minigrad's
    ``nn.Linear`` keeps its weight as (in, out) for the course's Z = X @ W + b, and with it the
    tying would need a transpose in one framework and not in the other.
    """

    def __init__(self, n_embd, vocab_size):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(vocab_size, n_embd))

    def forward(self, x):
        return x @ self.weight.T


class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None and config.block_size is not None
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),   # token embeddings
            wpe=nn.Embedding(config.block_size, config.n_embd),   # position embeddings
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = LMHead(config.n_embd, config.vocab_size)
        if config.tie_weights:
            # the same Parameter in two places: one table both reads tokens in and scores them out
            self.transformer.wte.weight = self.lm_head.weight
        # GPT-2's initialisation: N(0, 0.02) everywhere, zero biases, and the projections that
        # write into the residual stream scaled down by sqrt(2 n_layer), one per residual add
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.Embedding, LMHead)):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding=True):
        """The number of parameters (a tied weight counted once); without the position
        embeddings unless ``non_embedding=False``, as nanoGPT counts."""
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def forward(self, idx, targets=None):
        """Logits (B, T, vocab_size) for token ids ``idx`` (B, T), and the mean cross-entropy
        against ``targets`` (B, T) if given. Without targets only the last position's logits
        are computed, (B, 1, vocab_size): all that generation needs."""
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"
        pos = torch.arange(0, t, dtype=torch.int64, device=device)  # (t,)
        tok_emb = self.transformer.wte(idx)  # (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos)  # (t, n_embd), broadcast over the batch
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        else:
            logits = self.lm_head(x[:, -1:, :])
            loss = None
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        """AdamW that decays the matrices (the weights of the products and the embeddings) but
        not the LayerNorm gains or the biases, as nanoGPT does."""
        params = [p for p in self.parameters() if p.requires_grad]
        optim_groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Extend ``idx`` (B, T) by ``max_new_tokens`` tokens, each drawn from the model's
        distribution for the next token given the last ``block_size`` ones. ``temperature``
        divides the logits (below 1: sharper, above: flatter); ``top_k`` keeps only the k
        likeliest tokens. Reproducible under ``manual_seed``."""
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits = logits.masked_fill(logits < v[:, -1:], float("-inf"))
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx
