"""MAViL-Fusion targets: the frozen stage-1 teacher's fusion-encoder outputs (§3.3, Eq. 5)."""
from typing import TYPE_CHECKING, Dict, Union

import torch

from mavilkit.registry import MODELS
from .base import MODALITIES, BaseTargetGenerator, build_teacher

if TYPE_CHECKING:
    from ..selfsup.mavil import MAViL


@MODELS.register_module()
class MAViLFusionTarget(BaseTargetGenerator):
    r"""Targets :math:`g_{av}^T(f_a^T(a) \| f_v^T(v))` of a frozen stage-1 MAViL (the default).

    The teacher is built from its config and loaded in full from its checkpoint (a missing or
    mismatched file raises, naming the file and the keys), then frozen and held outside the
    student's module tree (see :mod:`.base`); its decoders are dropped after loading, and a
    checkpoint without decoders (a converted MAViL release) loads too. Every
    step it encodes the complete view (no masking, §3.3) with its audio, video and fusion
    encoders; the targets are the fusion outputs of all audio and all video tokens, without the
    CLS (and MBT bottleneck) tokens, in the student's patch order (Table 4, "MAViL-Fusion").

    ``norm_target`` defaults to False: the paper is silent, and the teacher's fusion outputs
    already leave a LayerNorm per modality (``norm_audio`` / ``norm_video``), so every target
    token is normalised up to the teacher's learned per-channel scale and shift; Eq. 5 regresses
    those outputs as they are.

    Args:
        teacher_config (str | dict): Stage-1 config file (e.g.
            ``configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py``) or its
            model dict.
        teacher_checkpoint (str): The stage-1 checkpoint, e.g. ``work_dirs/.../epoch_20.pth``.
        norm_target (bool): Per-token layer norm without affine on the targets. Defaults to False.
        eps (float): Its epsilon. Defaults to 1e-6.
    """

    #: Keys of ``MAViL.extract_feat`` that become the audio and video targets.
    feature_keys = dict(audio='audio_fused', video='video_fused')

    def __init__(self,
                 teacher_config: Union[str, dict],
                 teacher_checkpoint: str,
                 norm_target: bool = False,
                 eps: float = 1e-6) -> None:
        super().__init__(norm_target=norm_target, eps=eps)
        self.teacher_config = teacher_config
        self.teacher_checkpoint = teacher_checkpoint
        # The targets need only the encoders and the fusion (a converted release has no decoders)
        teacher = build_teacher(teacher_config, teacher_checkpoint, type(self).__name__,
                                keep=('data_preprocessor', 'audio_backbone', 'video_backbone',
                                      'neck'))
        if not callable(getattr(teacher, 'extract_feat', None)):
            raise TypeError(f'{type(self).__name__}: {teacher_config} builds a '
                            f'{type(teacher).__name__}, not a MAViL with `extract_feat`')
        self.hold_teacher('mavil', teacher)

    def setup(self, student: 'MAViL') -> None:
        """Check the patch grids; ``out_dims`` = the teacher's token width per modality."""
        teacher = self.teacher('mavil')
        for name in MODALITIES:
            backbone = getattr(teacher, f'{name}_backbone')
            self.check_grid(getattr(student, f'{name}_backbone'), backbone, name)
            self.out_dims[name] = int(backbone.embed_dims)

    def compute_targets(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        feats = self.teacher('mavil').extract_feat(inputs)
        return {m: feats[self.feature_keys[m]] for m in MODALITIES}
