"""FSDP auto-wrap policy for MAViL models (mmengine ``FSDPStrategy``)."""
import torch.nn as nn

from mavilkit.registry import FUNCTIONS
from .transformer import TransformerBlock
from .vit import BaseViT


@FUNCTIONS.register_module()
def mavil_fsdp_auto_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int) -> bool:
    """Make each encoder (audio / video ViT) and each Transformer block an FSDP unit.

    The FSDP auto-wrap signature: called with ``recurse=True`` to ask whether to look inside
    ``module`` (always), then with ``recurse=False`` to ask whether to wrap it. Everything else
    (necks' tokens, decoders' embeddings and heads) stays in the enclosing unit. Select it with
    ``strategy=dict(type='FSDPStrategy', model_wrapper=dict(auto_wrap_policy=
    'mavilkit.models.utils.fsdp.mavil_fsdp_auto_wrap_policy'))``.
    """
    return True if recurse else isinstance(module, (BaseViT, TransformerBlock))
