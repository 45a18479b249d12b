"""The target-generator contract (:class:`BaseTargetGenerator`) and what every teacher shares:
a frozen network kept out of the student.

A teacher (a stage-1 MAViL, uni-modal MAEs, or an EMA of the student) is *not* a registered
sub-module of the target generator: it is held in a plain dict. Therefore it is not in
``student.parameters()`` (so not in the optimizer, and DDP/FSDP neither wrap nor synchronise it),
not in ``student.state_dict()`` (so stage-1 weights are not saved again into every student
checkpoint), not re-initialised by the Runner's ``init_weights()``, and ``student.train()`` cannot
switch it out of eval mode. It is moved lazily to the device of the inputs in ``forward``.
"""
import os.path as osp
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from mavilkit.registry import MODELS
from ..utils.checkpoint import load_checked, load_state_dict, resolve_checkpoint

if TYPE_CHECKING:
    from ..selfsup.mavil import MAViL
    from ..utils.vit import BaseViT

MODALITIES = ('audio', 'video')


def existing_checkpoint(checkpoint: str, owner: str) -> str:
    """``checkpoint`` resolved by :func:`resolve_checkpoint`; raise if there is no such file."""
    if checkpoint:
        checkpoint = resolve_checkpoint(checkpoint)
    if not checkpoint or not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'{owner}: teacher checkpoint {checkpoint} not found. Train the teacher first (e.g. '
            '`python tools/train.py STAGE1_CONFIG`) and point the target generator at one of the '
            'epoch_*.pth files of its work dir.')
    return checkpoint


def build_teacher(config: Union[str, dict], checkpoint: str, owner: str,
                  keep: Optional[Tuple[str, ...]] = None) -> nn.Module:
    """Build a model from its config and load *all* its weights from ``checkpoint``.

    Args:
        config (str | dict): A config file (its ``model`` is built, e.g. a stage-1 config) or a
            model config dict.
        checkpoint (str): A checkpoint of that model (mmengine's ``state_dict`` layout, as the
            Runner writes it into a work dir, or a bare state dict), or a work dir (its newest
            checkpoint, see :func:`resolve_checkpoint`). It is read with
            :func:`mavilkit.models.utils.checkpoint.load_state_dict` (our own work-dir
            checkpoints load in full, foreign files weights-only).
        owner (str): Named in error messages, e.g. ``'MAViLFusionTarget'``.
        keep (tuple[str], optional): Direct children of the model that the teacher uses (e.g.
            its encoders and fusion); the others (decoders) are deleted after loading. A
            checkpoint without those others at all (a converted MAViL release has no decoders)
            loads; one with them has them checked like the rest. None keeps the whole model.

    Returns:
        nn.Module: The model in eval mode with ``requires_grad=False`` everywhere.

    Raises:
        FileNotFoundError: ``config`` or ``checkpoint`` does not exist.
        CheckpointMismatchError: (a ``KeyError`` and a ``ValueError``) the checkpoint lacks
            tensors of the model, has tensors the model lacks, or has another shape for one;
            the message names the file and the keys.
    """
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'{owner}: teacher config {config} not found')
        model_cfg = Config.fromfile(config).get('model', None)
        if model_cfg is None:
            raise KeyError(f'{owner}: teacher config {config} has no `model`')
    else:
        model_cfg = config.get('model', config)
    checkpoint = existing_checkpoint(checkpoint, owner)  # before the (slow) build
    teacher = MODELS.build(dict(model_cfg))
    return load_teacher_weights(teacher, checkpoint, owner,
                                config if isinstance(config, str) else 'the given model config',
                                keep)


def load_teacher_weights(teacher: nn.Module, checkpoint: str, owner: str,
                         config: str = 'its config',
                         keep: Optional[Tuple[str, ...]] = None) -> nn.Module:
    """Load all weights of ``teacher`` from ``checkpoint`` (see :func:`build_teacher`); freeze.

    With ``keep``, the children not in it are not required when the checkpoint has none of
    their tensors, and are deleted after loading.
    """
    checkpoint = existing_checkpoint(checkpoint, owner)
    state = load_state_dict(checkpoint)
    # The data preprocessor holds no learned weights (its buffers are not persistent), and the
    # teacher never sees un-preprocessed data, so its keys are not compared.
    ignore = ['data_preprocessor.']
    if keep is not None:
        held = {k.split('.')[0] for k in state}
        ignore += [f'{n}.' for n in teacher._modules if n not in keep and n not in held]
    load_checked(teacher, state, source=checkpoint, strict=True, ignore=tuple(ignore),
                 name=f'{owner} (teacher built from {config})')
    if keep is not None:
        drop_submodules(teacher, keep)
    return teacher.requires_grad_(False).eval()


def drop_submodules(model: nn.Module, keep: Tuple[str, ...]) -> nn.Module:
    """Delete the direct children of ``model`` not in ``keep`` (e.g. a teacher's decoders)."""
    for name in list(model._modules):
        if name not in keep:
            delattr(model, name)
    return model


class BaseTargetGenerator(nn.Module):
    """What ``MAViL`` needs from a target generator, and the machinery of frozen teachers.

    **The contract** (everything ``MAViL`` and the tools rely on):

    - :attr:`target_space`: ``'input'`` when the targets are (normalised) input patches, so a
      prediction can be turned back into a spectrogram / frames (:meth:`invert`; ``RawTarget``),
      or ``'feature'`` when they are a network's features (the teachers of stage 2).
    - :meth:`setup` ``(student)``: called once by ``MAViL.__init__`` after its backbones and
      fusion neck are built and before its decoders: the generator checks the student's patch
      grids, records what it needs from the student and sets :attr:`out_dims`.
    - :attr:`out_dims`: ``dict(audio=int, video=int)``, the values per patch of the targets
      (the decoders' output widths).
    - ``forward(inputs)``: ``dict(audio=(B, 1, T, F), video=(B, C, T, H, W))`` ->
      ``dict(audio=(B, N, out_dims['audio']), video=(B, M, out_dims['video']))``, per-patch
      targets of the complete view in the student's patch order, without gradient.

    **Teachers.** Subclasses hold their frozen networks with :meth:`hold_teacher` and implement
    :meth:`compute_targets`. :meth:`forward` moves the teachers to the inputs' device, runs
    :meth:`compute_targets` under ``torch.inference_mode()`` (no autograd graph, no stored
    activations) inside whatever autocast state the student runs in (bf16 under mmengine's
    ``AmpOptimWrapper``), optionally normalises every target token, and returns ordinary tensors
    (clones made outside inference mode, so that the loss may save them for backward).

    Args:
        norm_target (bool): Per-token layer norm without affine over the feature dimension.
        eps (float): LayerNorm epsilon. Defaults to 1e-6 (the encoders' LayerNorm epsilon).
    """

    #: ``'input'`` (targets are input patches) or ``'feature'`` (a network's features).
    target_space: str = 'feature'
    _teachers: Dict[str, nn.Module]  # set in __init__, outside the module tree

    def __init__(self, norm_target: bool = False, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm_target = norm_target
        self.eps = eps
        self.out_dims: Dict[str, int] = {}
        # A plain attribute: nn.Module registers neither this dict nor the modules in it.
        object.__setattr__(self, '_teachers', {})

    # ------------------------------------------------------------------ teachers
    def hold_teacher(self, name: str, teacher: nn.Module) -> nn.Module:
        """Keep ``teacher`` frozen, in eval mode and outside the module tree."""
        teacher.requires_grad_(False).eval()
        self._teachers[name] = teacher
        return teacher

    def teacher(self, name: str) -> Any:
        """The held teacher ``name`` (a ``MAViL``, or an EMA wrapper of the student's parts)."""
        return self._teachers[name]

    def teachers(self) -> Iterator[Tuple[str, nn.Module]]:
        """``(name, module)`` of every held teacher."""
        return iter(self._teachers.items())

    def _teachers_to(self, device: torch.device) -> None:
        for teacher in self._teachers.values():
            param = next(teacher.parameters(), None)
            if param is not None and param.device != device:
                teacher.to(device)

    def check_grid(self, student: 'BaseViT', teacher: 'BaseViT', name: str) -> None:
        """Targets are compared patch by patch: the teacher must tokenise like the student."""
        if tuple(student.grid_size) != tuple(teacher.grid_size):
            raise ValueError(
                f'{type(self).__name__}: the {name} teacher has a patch grid '
                f'{tuple(teacher.grid_size)} but the student has {tuple(student.grid_size)}; '
                'teacher targets must cover the student\'s patches one to one')

    # ------------------------------------------------------------------ targets
    def setup(self, student: 'MAViL') -> None:
        """Prepare for ``student`` (a ``MAViL``): check its patch grids, set ``out_dims``.

        Args:
            student (nn.Module): Has ``audio_backbone`` and ``video_backbone`` (``grid_size``,
                ``patch_size``, ``embed_dims``, ...) and ``neck``; its decoders do not exist yet.
        """
        raise NotImplementedError

    def invert(self, preds: Dict[str, torch.Tensor], inputs: Dict[str, torch.Tensor],
               masks: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, torch.Tensor]:
        """Predictions of input-space targets -> input patches (undo the target normalisation).

        Only generators with ``target_space == 'input'`` implement it.

        Args:
            preds (dict): ``(B, N, P)`` predictions per modality, in target space.
            inputs (dict): The inputs the targets were made from (for per-patch statistics).
            masks (dict, optional): ``(B, N)`` per modality, 1 = removed: statistics that undo
                a normalisation may come from the visible patches only.

        Returns:
            dict: ``(B, N, P)`` patches per modality in the units of ``inputs``.

        Raises:
            NotImplementedError: The targets are features, which have no input-space inverse.
        """
        raise NotImplementedError(
            f'{type(self).__name__} makes {self.target_space}-space targets; only input-space '
            'targets (RawTarget) can be turned back into inputs')

    def compute_targets(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Teacher features ``dict(audio=(B, N, Da), video=(B, M, Dv))`` of the complete view."""
        raise NotImplementedError

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``dict(audio=(B, 1, T, F), video=(B, C, T, H, W))`` -> per-patch teacher targets.

        Returns:
            dict: ``audio (B, N, Da)`` and ``video (B, M, Dv)``, in the student's patch order,
            for every patch, computed from the complete (unmasked) view without gradient.
        """
        self._teachers_to(inputs['audio'].device)
        with torch.inference_mode():
            targets = self.compute_targets(inputs)
            if self.norm_target:
                targets = {m: F.layer_norm(t.float(), t.shape[-1:], eps=self.eps)
                           for m, t in targets.items()}
        # Inference tensors cannot be saved for backward; a clone outside the mode is a normal
        # tensor (without history: its source never required grad).
        return {m: t.clone() for m, t in targets.items()}

    def extra_repr(self) -> str:
        teachers = ', '.join(f'{n}={type(t).__name__}' for n, t in self._teachers.items())
        return f'norm_target={self.norm_target}, frozen teachers (not sub-modules): [{teachers}]'
