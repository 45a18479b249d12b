"""Pre-norm Transformer block with timm / facebookresearch-mae parameter names.

Attention goes through ``F.scaled_dot_product_attention`` (flash / memory-efficient kernels on
GPUs). :func:`set_fused_attention` is the one switch back to the explicit softmax(QKᵀ/√d)V, e.g.
to compare numerics or for tools that cannot trace SDPA.
"""
from typing import Iterable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

_FUSED_ATTENTION = True


def set_fused_attention(enabled: bool) -> None:
    """Use ``F.scaled_dot_product_attention`` (True, default) or the explicit formula (False)."""
    global _FUSED_ATTENTION
    _FUSED_ATTENTION = bool(enabled)


def fused_attention_enabled() -> bool:
    """Whether attention layers use ``F.scaled_dot_product_attention``."""
    return _FUSED_ATTENTION


class DropPath(nn.Module):
    """Stochastic depth per sample (drops the residual branch of whole samples)."""

    def __init__(self, drop_prob: float = 0.) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0. or not self.training:
            return x
        keep = 1. - self.drop_prob
        shape = (x.shape[0], ) + (1, ) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep) / keep

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class Attention(nn.Module):
    """Multi-head self-attention (``qkv`` and ``proj`` linear layers)."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = self.head_dims**-0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if _FUSED_ATTENTION:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)
            x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    """Two linear layers (``fc1``, ``fc2``) with GELU."""

    def __init__(self, embed_dims: int, hidden_dims: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock(nn.Module):
    """``x + DropPath(Attn(LN(x)))``, then ``x + DropPath(MLP(LN(x)))`` (ViT, MAE).

    ``norm_eps`` is the LayerNorms' epsilon: 1e-6 in MAE, Audio-MAE and the MAViL release
    (``partial(nn.LayerNorm, eps=1e-6)``); 1e-5 (PyTorch's default) in CAV-MAE, whose blocks are
    built with a plain ``nn.LayerNorm``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_path: float = 0.,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = Attention(embed_dims, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def build_blocks(num_layers: int,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6) -> nn.ModuleList:
    """``num_layers`` blocks with stochastic depth rising linearly to ``drop_path_rate`` and
    LayerNorm epsilon ``norm_eps`` (see :class:`TransformerBlock`)."""
    # Plain Python (not torch.linspace(...).tolist()), so that it also runs on the meta device.
    step = drop_path_rate / (num_layers - 1) if num_layers > 1 else 0.
    rates = [i * step for i in range(num_layers)]
    return nn.ModuleList(
        TransformerBlock(embed_dims, num_heads, mlp_ratio, drop_path=r, norm_eps=norm_eps)
        for r in rates)


def run_block(block: nn.Module, x: torch.Tensor, with_cp: bool = False) -> torch.Tensor:
    """Apply one block, with activation checkpointing when ``with_cp`` and grads are needed."""
    if with_cp and torch.is_grad_enabled() and x.requires_grad:
        return checkpoint(block, x, use_reentrant=False)
    return block(x)


def run_blocks(blocks: Iterable[nn.Module], x: torch.Tensor, with_cp: bool = False) -> torch.Tensor:
    """Apply blocks in sequence (see :func:`run_block`)."""
    for block in blocks:
        x = run_block(block, x, with_cp)
    return x


def init_mae_weights(module: nn.Module) -> None:
    """MAE's initialisation: xavier-uniform linear weights, zero biases, unit LayerNorms.

    Use with ``model.apply(init_mae_weights)``. Convolutional patch embeddings are initialised like
    a linear layer over the flattened patch (MAE ``initialize_weights``).
    """
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.Conv2d, nn.Conv3d)):
        nn.init.xavier_uniform_(module.weight.view(module.weight.shape[0], -1))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def compile_blocks(module: nn.Module, options: Union[bool, dict, None] = True) -> int:
    """Regional ``torch.compile``: compile every :class:`TransformerBlock` of ``module`` in place.

    Each block is compiled with ``nn.Module.compile`` (the module keeps its class, parameter
    names and state-dict keys, so checkpoints are unaffected), instead of one graph of the whole
    model: blocks of the same shape share a compiled graph, so compile time stays that of a few
    blocks, and the Python between blocks (masking, gathering, losses) stays eager.

    Args:
        module (nn.Module): Searched recursively.
        options (bool | dict | None): False / None: nothing is compiled. True: torch's defaults.
            A dict: keyword arguments of ``torch.compile`` (``backend``, ``mode``, ``dynamic``,
            ``fullgraph``, ``options``).

    Returns:
        int: The number of blocks compiled.
    """
    if options is None or options is False:
        return 0
    kwargs = {} if options is True else dict(options)
    blocks = [m for m in module.modules() if isinstance(m, TransformerBlock)]
    # Up to five sequence shapes per model (two encoders, fusion, two decoders) plus a teacher's:
    # leave room before dynamo gives up and falls back to eager.
    import torch._dynamo
    limit = 'recompile_limit' if hasattr(torch._dynamo.config, 'recompile_limit') \
        else 'cache_size_limit'
    setattr(torch._dynamo.config, limit, max(getattr(torch._dynamo.config, limit), 32))
    for block in blocks:
        block.compile(**kwargs)
    return len(blocks)


def is_compiled(block: nn.Module) -> Optional[bool]:
    """Whether ``nn.Module.compile`` was applied to ``block``."""
    return getattr(block, '_compiled_call_impl', None) is not None
