"""A-MAE / V-MAE targets: separately pre-trained uni-modal MAE teachers (Table 4)."""
from typing import TYPE_CHECKING, Dict, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from mavilkit.registry import MODELS
from ..utils.tokens import drop_cls
from .base import MODALITIES, BaseTargetGenerator, build_teacher, drop_submodules

if TYPE_CHECKING:
    from ..selfsup.mavil import MAViL


@MODELS.register_module()
class UniMAETarget(BaseTargetGenerator):
    """Targets from an audio-only MAE and a video-only MAE teacher (Table 4, "A/V-MAE").

    Each teacher is a stage-1 MAViL trained with the "none" fusion neck (``IdentityFusion``) and
    no contrastive loss (``inter_weight=0``, ``intra_weight=0``), i.e. the Table 2 "None" config
    ``configs/mavil/mavil-s1_vit-b-p16_nofusion_rec-only_64xb8-amp-coslr-20e_as2m.py``. In such a
    run the audio and the video branch share no parameter and no loss term, so its audio branch
    *is* an audio-only MAE and its video branch a video-only MAE: both teachers may come from
    the same run (the same checkpoint), or from two separate runs. Only the audio encoder of the
    audio teacher and the video encoder of the video teacher are kept; each gives its encoder
    outputs of the complete view, CLS dropped.

    The teachers are frozen, in eval mode and outside the student's module tree (see
    :mod:`.base`). ``norm_target`` defaults to False for the reason given in
    :class:`MAViLFusionTarget` (the encoders end with a LayerNorm).

    Args:
        audio_teacher (dict): ``dict(config=..., checkpoint=...)`` of the audio MAE teacher.
        video_teacher (dict): ``dict(config=..., checkpoint=...)`` of the video MAE teacher.
        norm_target (bool): Per-token layer norm without affine on the targets. Defaults to False.
        eps (float): Its epsilon. Defaults to 1e-6.
    """

    def __init__(self,
                 audio_teacher: Dict[str, Union[str, dict]],
                 video_teacher: Dict[str, Union[str, dict]],
                 norm_target: bool = False,
                 eps: float = 1e-6) -> None:
        super().__init__(norm_target=norm_target, eps=eps)
        for name, spec in (('audio', audio_teacher), ('video', video_teacher)):
            if not isinstance(spec, dict) or set(spec) != {'config', 'checkpoint'}:
                raise KeyError(f'UniMAETarget: {name}_teacher must be dict(config=..., '
                               f'checkpoint=...), got {spec!r}')
            teacher = build_teacher(spec['config'], str(spec['checkpoint']),
                                    f'UniMAETarget ({name} teacher)')
            backbone = getattr(teacher, f'{name}_backbone', None)
            if not isinstance(backbone, nn.Module):
                raise TypeError(f'UniMAETarget: {spec["config"]} builds no {name}_backbone')
            neck = type(getattr(teacher, 'neck', None)).__name__
            if neck != 'IdentityFusion' or getattr(teacher, 'inter_weight', 0.) > 0 \
                    or getattr(teacher, 'intra_weight', 0.) > 0:
                MMLogger.get_current_instance().warning(
                    f'UniMAETarget: the {name} teacher {spec["config"]} has neck {neck} and '
                    'contrastive terms; a uni-modal MAE teacher is a run with IdentityFusion and '
                    'inter_weight = intra_weight = 0 (use MAViLUniTarget for a MAViL teacher)')
            self.hold_teacher(name, drop_submodules(teacher, keep=(f'{name}_backbone', )))
        self.audio_teacher = audio_teacher
        self.video_teacher = video_teacher

    def setup(self, student: 'MAViL') -> None:
        """Check the patch grids; ``out_dims`` = each teacher encoder's width."""
        for name in MODALITIES:
            backbone = getattr(self.teacher(name), f'{name}_backbone')
            self.check_grid(getattr(student, f'{name}_backbone'), backbone, name)
            self.out_dims[name] = int(backbone.embed_dims)

    def compute_targets(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {m: drop_cls(getattr(self.teacher(m), f'{m}_backbone')(inputs[m]))
                for m in MODALITIES}
