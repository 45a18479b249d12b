"""MAViL-Uni targets: the frozen stage-1 teacher's uni-modal encoder outputs (Table 4)."""
from typing import Dict

import torch

from mavilkit.registry import MODELS
from ..utils.tokens import drop_cls
from .base import MODALITIES
from .mavil_fusion import MAViLFusionTarget


@MODELS.register_module()
class MAViLUniTarget(MAViLFusionTarget):
    r"""Targets :math:`f_a^T(a)` and :math:`f_v^T(v)`: the same frozen stage-1 teacher as
    :class:`MAViLFusionTarget`, read *before* its fusion encoder (Table 4, "MAViL-Uni").

    Each modality's targets therefore depend on that modality's input only; the teacher's fusion
    encoder is not run. Arguments as for :class:`MAViLFusionTarget`.
    """

    feature_keys = dict(audio='audio_uni', video='video_uni')

    def compute_targets(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        teacher = self.teacher('mavil')
        # Complete view, CLS dropped: ``extract_feat``'s ``*_uni`` without running the fusion.
        return {m: drop_cls(getattr(teacher, f'{m}_backbone')(inputs[m])) for m in MODALITIES}
