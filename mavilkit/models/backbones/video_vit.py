"""Video encoder f_v of MAViL: a ViT over 2 × 16 × 16 tubelets (§4.2, Appendix B)."""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.logging import MMLogger

from mavilkit.registry import MODELS
from ..utils.patch_embed import to_tuple
from ..utils.vit import BaseViT


@MODELS.register_module()
class VideoViT(BaseViT):
    """ViT over an ``8 × 224 × 224`` clip, 2 × 16 × 16 tubelets → 4 × 14 × 14 = 784 tokens.

    Tokens are in time–space order (token ``t · 196 + h · 14 + w``) with a fixed spatio-temporal
    sin-cos positional embedding and a CLS token. At 80 % masking the encoder input is
    ``158 × 768`` with CLS (Appendix B). Inputs are ``(B, C, T, H, W)``.

    **ImageNet-MAE initialisation** (Table 5d's default):
    ``init_cfg=dict(type='Pretrained', checkpoint='mae_pretrain_vit_base.pth')`` loads a
    facebookresearch/mae (or timm) ViT: ``cls_token``, ``blocks.*`` and ``norm.*`` by name; the
    2-D patch kernel ``(D, 3, 16, 16)`` becomes the tubelet kernel ``(D, 3, 2, 16, 16)``,
    repeated over time and divided by the temporal size 2 (why: ``docs/en/design.md``,
    "ImageNet-MAE inflation"). The checkpoint's 2-D ``pos_embed`` is not loaded (this model
    keeps its fixed spatio-temporal code); MAE decoder (``decoder_*``, ``mask_token``) and
    classifier keys (``head``, ``fc_norm``) are ignored. A shape mismatch (e.g. a ViT-L
    checkpoint into ViT-B) raises ``ValueError`` naming the keys.

    Args:
        arch (str | dict): ``'tiny'``, ``'s'``, ``'b'`` (default), ``'l'`` or a dict.
        input_size (Sequence[int]): ``(frames, height, width)``. Defaults to (8, 224, 224).
        patch_size (int | Sequence[int]): ``(time, height, width)``. Defaults to (2, 16, 16).
        in_channels (int): Defaults to 3.
        drop_path_rate (float): Defaults to 0.
        with_cp (bool): Activation checkpointing. Defaults to False.
        final_norm (bool): End with the LayerNorm ``norm``; False for global-pool fine-tuning
            and the released MAViL layout (see :class:`BaseViT`). Defaults to True.
        init_cfg (dict, optional): Initialisation config (see above).
    """

    PRETRAIN_INPUT_SIZE = (8, 224, 224)  # MAViL's clip (4 x 14 x 14 grid)

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 input_size: Sequence[int] = PRETRAIN_INPUT_SIZE,
                 patch_size: Union[int, Sequence[int]] = (2, 16, 16),
                 in_channels: int = 3,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None,
                 final_norm: bool = True) -> None:
        super().__init__(arch, to_tuple(input_size, 3), to_tuple(patch_size, 3), in_channels,
                         drop_path_rate, with_cp, init_cfg, final_norm)

    def convert_checkpoint(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Inflate a 2-D ImageNet-MAE patch embedding; drop keys that do not belong here."""
        weight = state_dict.get('patch_embed.proj.weight')
        if weight is not None and weight.dim() == 4:
            t = self.patch_size[0]
            state_dict['patch_embed.proj.weight'] = weight.unsqueeze(2).repeat(1, 1, t, 1, 1) / t
            pos = state_dict.pop('pos_embed', None)
            if pos is not None:
                MMLogger.get_current_instance().info(
                    f'VideoViT: not loading the image pos_embed {tuple(pos.shape)}; the fixed '
                    'spatio-temporal sin-cos embedding is kept')
        drop = ('decoder', 'mask_token', 'head.', 'fc_norm.')
        return {k: v for k, v in state_dict.items() if not k.startswith(drop)}
