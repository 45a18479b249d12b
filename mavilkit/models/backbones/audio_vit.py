"""Audio encoder f_a of MAViL: a ViT over 16 × 16 spectrogram patches (§4.2, Appendix B)."""
from typing import Optional, Sequence, Union

from mavilkit.registry import MODELS
from ..utils.patch_embed import to_tuple
from ..utils.vit import BaseViT


@MODELS.register_module()
class AudioViT(BaseViT):
    """ViT over a ``1 × 1024 × 128`` Kaldi fbank, 16 × 16 patches → 64 × 8 = 512 tokens.

    Tokens are in time–frequency order (time-major: token ``t · 8 + f``) with a fixed 2-D sin-cos
    positional embedding and a CLS token. Given ``ids_keep`` only the visible tokens are encoded:
    at 80 % masking the encoder input is ``103 × 768`` with CLS (Appendix B).

    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` loads an Audio-MAE / MAViL encoder by
    name, including its ``pos_embed`` (``docs/en/design.md``, pitfall 6; see :class:`BaseViT`).

    Args:
        arch (str | dict): ``'tiny'``, ``'s'``, ``'b'`` (default: 12 layers, 768 dims, 12 heads),
            ``'l'``, or ``dict(embed_dims, num_layers, num_heads, mlp_ratio)``.
        input_size (Sequence[int]): ``(time frames, mel bins)``. Defaults to (1024, 128).
        patch_size (int | Sequence[int]): Defaults to 16.
        in_channels (int): Defaults to 1.
        drop_path_rate (float): Defaults to 0 (pre-training; 0.1 for fine-tuning, Table 10).
        with_cp (bool): Activation checkpointing. Defaults to False.
        final_norm (bool): End with the LayerNorm ``norm``; False for global-pool fine-tuning
            and the released MAViL layout (see :class:`BaseViT`). Defaults to True.
        init_cfg (dict, optional): Initialisation config.
    """

    PRETRAIN_INPUT_SIZE = (1024, 128)  # AudioSet 10-s fbank of Audio-MAE / MAViL (64 x 8 grid)

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 input_size: Sequence[int] = PRETRAIN_INPUT_SIZE,
                 patch_size: Union[int, Sequence[int]] = 16,
                 in_channels: int = 1,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None,
                 final_norm: bool = True) -> None:
        super().__init__(arch, to_tuple(input_size, 2), to_tuple(patch_size, 2), in_channels,
                         drop_path_rate, with_cp, init_cfg, final_norm)
