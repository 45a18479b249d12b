"""One-stage variant: an EMA of the student as the teacher (MAViL Appendix B, data2vec-style)."""
from typing import TYPE_CHECKING, Dict, Optional

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import ExponentialMovingAverage

from mavilkit.registry import MODELS
from ..utils.tokens import drop_cls
from .base import MODALITIES, BaseTargetGenerator

if TYPE_CHECKING:
    from ..selfsup.mavil import MAViL


class FusionEncoder(nn.Module):
    """``f_a``, ``f_v`` and ``g_av`` of a MAViL: complete view -> fused tokens, CLS dropped."""

    def __init__(self, audio_backbone: nn.Module, video_backbone: nn.Module,
                 neck: nn.Module) -> None:
        super().__init__()
        self.audio_backbone = audio_backbone
        self.video_backbone = video_backbone
        self.neck = neck

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        audio, video = self.neck(self.audio_backbone(inputs['audio']),
                                 self.video_backbone(inputs['video']))
        return dict(audio=drop_cls(audio), video=drop_cls(video))


@MODELS.register_module()
class EMATarget(BaseTargetGenerator):
    r"""Complete-view fusion targets :math:`g_{av}(f_a(a) \| f_v(v))` of an exponential moving
    average (EMA) of the student's own encoders (MAViL Appendix B, the one-stage variant).

    The student trains with raw targets as in stage 1 (``MAViL(raw_weight=1.0)``, own raw
    decoders) and, through a second decoder per modality, predicts these targets
    (``target_space='feature'``; ``out_dims`` = the student's token widths). :meth:`setup`
    creates the EMA (mmengine's :class:`~mmengine.model.ExponentialMovingAverage`) of the
    student's ``audio_backbone``, ``video_backbone`` and ``neck``. Each training-mode forward
    first updates it, ``θ_ema ← (1 − momentum)·θ_ema + momentum·θ_student`` (the first update
    copies the student), then computes the targets under ``torch.inference_mode()``. Its weights
    and step count are saved in the student's checkpoints under ``target_generator.ema.``.
    Design notes (momentum convention, DDP only, checkpointing, collapse check): see
    ``docs/en/design.md``, "EMA teacher".

    Every ``log_interval``-th training forward logs ``train/target_var_audio`` and
    ``train/target_var_video`` (per-channel variance over all tokens of the batch, averaged over
    channels) to the MessageHub.

    Args:
        momentum (float): Weight of the new (student) value in the EMA update, in (0, 1).
            Defaults to 1e-4 (data2vec's decay τ = 0.9999).
        norm_target (bool): Per-token layer norm without affine on the targets. Defaults to True.
        min_target_var (float): Collapse floor of the target variance. Defaults to 0.01.
        var_check_after (int): EMA updates before the floor applies. Defaults to 5000.
        log_interval (int): Forwards between two variance checks (each is one host-device
            sync). Defaults to 10.
        eps (float): LayerNorm epsilon. Defaults to 1e-6.

    Raises:
        ValueError: ``momentum`` outside (0, 1) or ``log_interval < 1``.
        RuntimeError: In forward: :meth:`setup` was not called; the student's weights are
            sharded (FSDP); the target variance fell below ``min_target_var`` (collapse).
    """

    _source: Optional[FusionEncoder]  # the student's parts, outside the module tree

    def __init__(self,
                 momentum: float = 1e-4,
                 norm_target: bool = True,
                 min_target_var: float = 0.01,
                 var_check_after: int = 5000,
                 log_interval: int = 10,
                 eps: float = 1e-6) -> None:
        super().__init__(norm_target=norm_target, eps=eps)
        if not 0. < momentum < 1.:
            raise ValueError(f'EMATarget: momentum is the weight of the new value, in (0, 1), '
                             f'e.g. 1e-4; got {momentum}')
        self.momentum = momentum
        self.min_target_var = min_target_var
        self.var_check_after = var_check_after
        if log_interval < 1:
            raise ValueError(f'EMATarget: log_interval must be >= 1, got {log_interval}')
        self.log_interval = log_interval
        self._forwards = 0  # training forwards of this process, a host-side counter
        self._source_checked = False
        object.__setattr__(self, '_source', None)

    def setup(self, student: 'MAViL') -> None:
        """Create the EMA of ``student``'s ``audio_backbone``, ``video_backbone`` and ``neck``;
        ``out_dims``: the student's own token widths (the fusion keeps them)."""
        self.out_dims = dict(audio=int(student.audio_backbone.embed_dims),
                             video=int(student.video_backbone.embed_dims))
        source = FusionEncoder(student.audio_backbone, student.video_backbone, student.neck)
        # Plain attribute: a registered one would put the student's encoders in here twice.
        object.__setattr__(self, '_source', source)
        self.hold_teacher('ema', ExponentialMovingAverage(source, momentum=self.momentum))

    @property
    def ema(self) -> ExponentialMovingAverage:
        if self._source is None:
            raise RuntimeError('EMATarget.setup(student) was not called (MAViL calls it)')
        return self.teacher('ema')

    def _teachers_to(self, device: torch.device) -> None:
        # Only the averaged weights move; the step counter stays on the CPU, so that the EMA's
        # `steps == 0` test does not synchronise with the device every step.
        module = self.ema.module
        if next(module.parameters()).device != device:
            module.to(device)

    def compute_targets(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return self.ema(inputs)

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Update the EMA (training mode only), then its complete-view fusion targets."""
        ema = self.ema
        if self.training:
            if not self._source_checked:
                self._check_source()
            self._teachers_to(inputs['audio'].device)
            with torch.no_grad():
                ema.update_parameters(self._source)
        targets = super().forward(inputs)
        if self.training:
            self._forwards += 1
            if self._forwards % self.log_interval == 0:
                self._log_and_check(targets, int(ema.steps))
        return targets

    def _check_source(self) -> None:
        """Once: the student's weights must be whole tensors, as the EMA's are.

        FSDP flattens and shards the student's parameters (nested units stay sharded while the
        outer unit runs), so averaging them parameter by parameter would be wrong or silently
        skip weights.
        """
        assert self._source is not None  # forward checks setup() first
        sharded = [n for n, m in self._source.named_modules()
                   if 'FullyShardedDataParallel' in type(m).__name__]
        source = [tuple(p.shape) for p in self._source.parameters()]
        average = [tuple(p.shape) for p in self.ema.module.parameters()]
        if sharded or source != average:
            raise RuntimeError(
                'EMATarget: the student\'s encoders are sharded or flattened (FSDP: '
                f'{sharded[:3] or "root only"}), so their weights cannot be averaged one by one; '
                'train the one-stage EMA variant with DDP (the default runner) or use a frozen '
                'teacher (MAViLFusionTarget) under FSDP')
        self._source_checked = True

    def _log_and_check(self, targets: Dict[str, torch.Tensor], steps: int) -> None:
        """Log the target variances (one host sync, for logging) and stop on collapse."""
        with torch.no_grad():
            variances = torch.stack([
                targets[m].float().flatten(0, -2).var(dim=0).mean() for m in MODALITIES
            ]).tolist()
        hub = MessageHub.get_current_instance()
        for m, var in zip(MODALITIES, variances):
            hub.update_scalar(f'train/target_var_{m}', var)
        for m, var in zip(MODALITIES, variances):
            if steps > self.var_check_after and not var >= self.min_target_var:
                raise RuntimeError(
                    f'EMATarget: the {m} target variance {var:.3g} fell below min_target_var='
                    f'{self.min_target_var} after {steps} EMA updates: the EMA teacher has '
                    'collapsed (its tokens are nearly identical). Lower the learning rate, use '
                    'a smaller momentum, or train in two stages (MAViLFusionTarget).')

    # --------------------------------------------------------- checkpoints (training state)
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self._source is not None:
            for key, value in self.ema.state_dict(keep_vars=keep_vars).items():
                destination[f'{prefix}ema.{key}'] = value if keep_vars else value.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        head = f'{prefix}ema.'
        own = {k[len(head):]: v for k, v in state_dict.items() if k.startswith(head)}
        rest = {k: v for k, v in state_dict.items() if not k.startswith(head)}
        if own and self._source is not None:
            expected = self.ema.state_dict()
            missing = sorted(set(expected) - set(own))
            unexpected = sorted(set(own) - set(expected))
            missing_keys.extend(head + k for k in missing)
            unexpected_keys.extend(head + k for k in unexpected)
            if not missing and not unexpected:
                self.ema.load_state_dict(own)
        super()._load_from_state_dict(rest, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        return (f'momentum={self.momentum} (weight of the new value), '
                f'norm_target={self.norm_target}, min_target_var={self.min_target_var}')
