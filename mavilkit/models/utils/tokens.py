"""Reading encoder outputs: drop the CLS token, mean-pool the patch tokens.

Every encoder, fusion neck and decoder in mavilkit keeps one CLS token first in its sequence
(``(B, 1 + L, D)``; MBT's bottleneck tokens never leave the neck). Targets, embeddings and
classifier inputs are taken over the patch tokens only (§3.2: the contrastive embeddings exclude
CLS; Appendix B: fine-tuning mean-pools without it).
"""
import torch


def drop_cls(tokens: torch.Tensor) -> torch.Tensor:
    """``(B, 1 + L, D) -> (B, L, D)``: the patch tokens, CLS (the first token) removed."""
    return tokens[:, 1:]


def mean_pool(tokens: torch.Tensor) -> torch.Tensor:
    """``(B, 1 + L, D) -> (B, D)``: the mean of the patch tokens, CLS excluded (§3.2)."""
    return drop_cls(tokens).mean(dim=1)
