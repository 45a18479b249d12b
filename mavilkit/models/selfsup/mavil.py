"""MAViL: Masked Audio-Video Learners (Huang et al., 2023), the algorithm that wires the parts."""
import copy
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mavilkit.registry import MODELS
from ..utils.builders import build_decoder, build_fusion_neck, part_cfg
from ..utils.checkpoint import PretrainedInitMixin
from ..utils.masking import MaskInfo, num_visible_tokens, random_masking
from ..utils.tokens import drop_cls, mean_pool
from ..utils.transformer import compile_blocks as _compile_blocks

if TYPE_CHECKING:
    from ..target_generators.base import BaseTargetGenerator
    from ..utils.vit import BaseViT

MODALITIES = ('audio', 'video')


class MaskedForward(NamedTuple):
    """What one masked pass of :class:`MAViL` gives (``_reconstruct``).

    Attributes:
        masks (dict[str, MaskInfo]): The random masking per modality.
        preds (dict[str, Tensor]): ``(B, N, out_dims)`` decoder predictions per modality for
            every patch, and ``audio_raw`` / ``video_raw`` when a raw loss is configured.
        uni (tuple[Tensor, Tensor]): Uni-modal encoder outputs ``a_um``, ``v_um``
            ``(B, 1 + L, D)`` of the visible tokens (CLS first).
        second (tuple[Tensor | None, Tensor | None]): Encoder outputs of the second view
            (``(B, 1 + L, D)``), None without it.
    """
    masks: Dict[str, MaskInfo]
    preds: Dict[str, torch.Tensor]
    uni: Tuple[torch.Tensor, torch.Tensor]
    second: Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]


class Reconstruction(NamedTuple):
    """A reconstruction in the input layout (:meth:`MAViL.reconstruct`), per modality.

    Attributes:
        original (Tensor): ``(B, C, *S)`` the input as the model saw it (e.g. the normalised
            fbank ``(B, 1, T, F)`` or ImageNet-normalised frames ``(B, 3, T, H, W)``), float32.
        reconstruction (Tensor): Same shape: the decoder's prediction of every patch, turned
            back into input units (``RawTarget.invert``), float32.
        mask (Tensor): Same shape, bool, True where the patch was removed by the masking.
    """
    original: torch.Tensor
    reconstruction: torch.Tensor
    mask: torch.Tensor


@MODELS.register_module()
class MAViL(PretrainedInitMixin, BaseModel):
    r"""Masked audio-video learner, stage 1 (raw targets) or stage 2 (teacher targets).

    Per step (§3.1–3.2): mask 80 % of the audio and video tokens; encode the visible tokens with
    the uni-modal encoders (``a_um``, ``v_um``); fuse them (``neck``); decode every patch per
    modality; compare with the ``target_generator``'s per-patch targets on the masked patches.
    The objective is Eq. 4 (Eq. 6 with teacher targets):

    .. math::
        L = L_r + α L_c(a_{emb}, v_{emb})
              + β \tfrac12 [L_c(a_{emb}, \ddot a_{emb}) + L_c(v_{emb}, \ddot v_{emb})]

    with ``a_emb`` / ``v_emb`` the mean of the uni-modal encoder outputs over the visible tokens,
    CLS excluded (not the fusion outputs, which would give each pair a shortcut, §3.2), and
    ``ä``, ``v̈`` a second view of as many tokens drawn only from the masked-out ones. The second
    view is encoded in the same encoder call as the first (batch ``2B`` of ``L`` tokens): one
    extra pass over 20 % of the tokens, never over all of them.

    α and β are ``inter_weight`` and ``intra_weight``; the loss modules carry no weight of their
    own. Decoder configs may leave out ``grid_size``, ``in_dims`` and ``out_dims``: they are taken
    from the backbones and ``target_generator.out_dims``; likewise the neck's ``embed_dims`` and
    ``num_heads`` default to the audio backbone's (:mod:`mavilkit.models.utils.builders`).
    :meth:`reconstruct` gives stage-1 reconstructions in the input layout (Fig. 3).

    Args:
        audio_backbone (dict): Audio encoder f_a, e.g. ``dict(type='AudioViT', arch='b')``.
        video_backbone (dict): Video encoder f_v, e.g. ``dict(type='VideoViT', arch='b')``.
        neck (dict): Fusion encoder g_av. Defaults to a 2-layer ``VanillaFusion`` (§4.2).
        audio_decoder (dict): Audio decoder. Defaults to ``MAEDecoder`` (8 × 512, 16 heads).
        video_decoder (dict): Video decoder. Defaults to ``MAEDecoder``.
        target_generator (dict): Reconstruction targets. Defaults to ``RawTarget``.
        rec_loss (dict): Per-modality masked reconstruction loss (Eq. 1).
        inter_loss (dict): Inter-modal InfoNCE, τ = 0.1 (unweighted: α is ``inter_weight``).
        intra_loss (dict): Intra-modal InfoNCE, τ = 1.0 (unweighted: β is ``intra_weight``).
        inter_weight (float): α of Eq. 4, 0.1; 0 turns the term off.
        intra_weight (float): β of Eq. 4, 0.01; 0 turns the term (and the second view) off.
        raw_weight (float): Weight of an extra raw-input reconstruction loss next to teacher
            targets, predicted by a second pair of decoders (``audio_raw_decoder``,
            ``video_raw_decoder``, built like the decoders with ``raw_target``'s widths).
            Defaults to 0 (off): stage 2 gains nothing from it (footnote 1). The one-stage EMA
            variant (Appendix B) sets 1.
        raw_target (dict): Target generator of that loss. Defaults to ``RawTarget``.
        mask_ratio (float): Fraction of tokens removed. Defaults to 0.8. With
            ``intra_weight > 0`` it must be >= 0.5 (the second view is drawn from the removed
            tokens).
        with_cp (bool): Activation checkpointing in backbones, neck and decoders. For one part
            only, set that part's ``with_cp`` (e.g. ``audio_decoder=dict(..., with_cp=True)``).
        compile_blocks (bool | dict): Regional ``torch.compile`` of every Transformer block of
            the student and of a frozen teacher (:func:`~mavilkit.models.utils.transformer.
            compile_blocks`); a dict holds ``torch.compile`` keyword arguments. Defaults to False.
        data_preprocessor (dict | nn.Module, optional): Defaults to ``AVDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: A negative weight; a ``mask_ratio`` that leaves no visible token or no room
            for the second view; ``raw_weight > 0`` with input-space targets; backbone widths
            a fusion neck cannot join.
    """

    def __init__(self,
                 audio_backbone: dict,
                 video_backbone: dict,
                 neck: dict = dict(type='VanillaFusion', num_layers=2),
                 audio_decoder: dict = dict(type='MAEDecoder'),
                 video_decoder: dict = dict(type='MAEDecoder'),
                 target_generator: dict = dict(type='RawTarget'),
                 rec_loss: dict = dict(type='MaskedReconstructionLoss'),
                 inter_loss: dict = dict(type='InfoNCELoss', temperature=0.1),
                 intra_loss: dict = dict(type='InfoNCELoss', temperature=1.0),
                 inter_weight: float = 0.1,
                 intra_weight: float = 0.01,
                 raw_weight: float = 0.,
                 raw_target: dict = dict(type='RawTarget'),
                 mask_ratio: float = 0.8,
                 with_cp: bool = False,
                 compile_blocks: Union[bool, dict] = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = dict(
                     type='AVDataPreprocessor'),
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if inter_weight < 0 or intra_weight < 0 or raw_weight < 0:
            raise ValueError(f'loss weights must be >= 0, got inter_weight={inter_weight}, '
                             f'intra_weight={intra_weight}, raw_weight={raw_weight}')
        self.mask_ratio = mask_ratio
        self.inter_weight = inter_weight
        self.intra_weight = intra_weight
        self.raw_weight = raw_weight

        # f_a, f_v, the targets, g_av, then the decoders (whose widths follow the targets).
        self.audio_backbone = MODELS.build(part_cfg(audio_backbone, with_cp))
        self.video_backbone = MODELS.build(part_cfg(video_backbone, with_cp))
        self._check_mask_ratio()
        self.target_generator = MODELS.build(copy.deepcopy(dict(target_generator)))
        self.neck = build_fusion_neck(neck, self.audio_backbone, self.video_backbone, with_cp,
                                      owner='MAViL')
        self.target_generator.setup(self)
        decoders = dict(audio=audio_decoder, video=video_decoder)
        for m in MODALITIES:
            self.add_module(f'{m}_decoder', build_decoder(
                decoders[m], self._backbone(m), self.target_generator.out_dims[m], with_cp))

        # An extra raw-input loss next to teacher targets, on its own decoders (footnote 1).
        self.raw_target = None
        if raw_weight > 0:
            self.raw_target = self._build_raw_target(raw_target)
            for m in MODALITIES:
                cfg = {k: v for k, v in dict(decoders[m]).items() if k != 'out_dims'}
                self.add_module(f'{m}_raw_decoder', build_decoder(
                    cfg, self._backbone(m), self.raw_target.out_dims[m], with_cp))

        self.rec_loss = MODELS.build(rec_loss)
        self.inter_loss = MODELS.build(inter_loss) if inter_weight > 0 else None
        self.intra_loss = MODELS.build(intra_loss) if intra_weight > 0 else None
        if compile_blocks:
            _compile_blocks(self, compile_blocks)
            for _, teacher in getattr(self.target_generator, 'teachers', lambda: ())():
                _compile_blocks(teacher, compile_blocks)

    # ------------------------------------------------------------------ weights
    # load_from / tools/test.py / resume must fill every part (encoders, neck, decoders) with
    # the model's shapes (PretrainedInitMixin.whole_model_weights); frozen teachers are outside
    # the state dict and come from their own checkpoints.
    check_state_dict_loads = True

    def optional_weights(self) -> Tuple[str, ...]:
        """Not compared on whole-model loads: the data preprocessor, and the target generator,
        whose only tensors are an EMA teacher's training state (``EMATarget`` checks it and
        starts anew from the student when a checkpoint has none, e.g. stage-1 weights)."""
        return ('data_preprocessor', 'target_generator')

    # ------------------------------------------------------------------ construction
    def _backbone(self, modality: str) -> 'BaseViT':
        return getattr(self, f'{modality}_backbone')

    def _check_mask_ratio(self) -> None:
        """Both views must fit: ``mask_ratio`` leaves a visible token, and with the intra-modal
        term a disjoint second view of as many tokens (``mask_ratio >= 0.5``)."""
        for m in MODALITIES:
            num_tokens = self._backbone(m).num_patches
            num_keep = num_visible_tokens(num_tokens, self.mask_ratio)
            if num_keep < 1:
                raise ValueError(f'MAViL: mask_ratio={self.mask_ratio} leaves no visible {m} '
                                 f'token of {num_tokens}')
            if self.intra_weight > 0 and 2 * num_keep > num_tokens:
                raise ValueError(
                    f'MAViL: the intra-modal contrast (intra_weight={self.intra_weight}) needs a '
                    f'disjoint second view, 2 x {num_keep} <= {num_tokens} {m} tokens, i.e. '
                    f'mask_ratio >= 0.5 (got {self.mask_ratio}); set intra_weight=0 to turn it '
                    'off')

    def _build_raw_target(self, cfg: dict) -> 'BaseTargetGenerator':
        if self.target_generator.target_space == 'input':
            raise ValueError(
                'MAViL: raw_weight > 0 adds a raw-input loss next to teacher targets, but the '
                f'target generator {type(self.target_generator).__name__} already makes '
                "input-space targets (RawTarget); set raw_weight=0")
        raw_target = MODELS.build(copy.deepcopy(dict(cfg)))
        if raw_target.target_space != 'input':
            raise ValueError(f'MAViL: raw_target must make input-space targets (RawTarget), '
                             f'got {type(raw_target).__name__}')
        raw_target.setup(self)
        return raw_target

    # ------------------------------------------------------------------ Eq. 4, step by step
    @staticmethod
    def _check_inputs(inputs: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(inputs, dict) or any(m not in inputs for m in MODALITIES):
            keys = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise KeyError(f'MAViL needs inputs with both "audio" and "video", got {keys}')
        return inputs['audio'], inputs['video']

    def _mask_and_encode(
            self, backbone: 'BaseViT', x: torch.Tensor, second_view: bool,
            mask_ratio: float) -> Tuple[MaskInfo, torch.Tensor, Optional[torch.Tensor]]:
        """Mask, then encode the visible tokens (and the second view in the same call)."""
        B = x.shape[0]
        mask = random_masking(B, backbone.num_patches, mask_ratio, x.device, second_view)
        encoded = backbone(x, mask.ids_keep, mask.ids_keep_second)
        return mask, encoded[:B], (encoded[B:] if second_view else None)

    def _reconstruct(self, inputs: Dict[str, torch.Tensor], second_view: bool,
                     mask_ratio: Optional[float] = None) -> MaskedForward:
        """Mask (audio first, then video), encode, fuse, decode every patch."""
        audio, video = self._check_inputs(inputs)
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        mask_a, a_um, a_second = self._mask_and_encode(self.audio_backbone, audio, second_view,
                                                       ratio)
        mask_v, v_um, v_second = self._mask_and_encode(self.video_backbone, video, second_view,
                                                       ratio)
        a_mm, v_mm = self.neck(a_um, v_um)
        preds = dict(
            audio=self.audio_decoder(a_mm, mask_a.ids_restore),
            video=self.video_decoder(v_mm, mask_v.ids_restore))
        if self.raw_target is not None:
            preds['audio_raw'] = self.audio_raw_decoder(a_mm, mask_a.ids_restore)
            preds['video_raw'] = self.video_raw_decoder(v_mm, mask_v.ids_restore)
        return MaskedForward(dict(audio=mask_a, video=mask_v), preds, (a_um, v_um),
                             (a_second, v_second))

    # ------------------------------------------------------------------ API
    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``mode='loss'``: the loss dict of Eq. 4; ``mode='tensor'``: reconstructions.

        ``'tensor'`` returns ``dict(audio_pred, video_pred, audio_mask, video_mask,
        audio_target, video_target)``: per-patch predictions for every patch, the masks
        (1 = removed) and the targets, from one random masking.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            masks, preds = self._reconstruct(inputs, second_view=False)[:2]
            targets = self.target_generator(inputs)
            out = {}
            for m in MODALITIES:
                out.update({f'{m}_pred': preds[m], f'{m}_mask': masks[m].mask,
                            f'{m}_target': targets[m]})
            return out
        raise RuntimeError(f'MAViL supports mode "loss" or "tensor", got {mode!r}')

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        """Eq. 4 (Eq. 6 with teacher targets), weights applied.

        Returns:
            dict: ``loss_rec_audio``, ``loss_rec_video``, and when their weights are > 0
            ``loss_inter`` (+ ``acc_inter``) and ``loss_intra`` (+ ``acc_intra_audio``,
            ``acc_intra_video``); ``acc_*`` are top-1 contrastive accuracies (%) for logging.
        """
        masks, preds, (a_um, v_um), (a_second, v_second) = self._reconstruct(
            inputs, second_view=self.intra_loss is not None)
        targets = self.target_generator(inputs)
        losses = {
            f'loss_rec_{m}': self.rec_loss(preds[m], targets[m], masks[m].mask)
            for m in MODALITIES
        }
        if self.raw_target is not None:
            raw_targets = self.raw_target(inputs)
            for m in MODALITIES:
                losses[f'loss_raw_{m}'] = self.raw_weight * self.rec_loss(
                    preds[f'{m}_raw'], raw_targets[m], masks[m].mask)
        a_emb, v_emb = mean_pool(a_um), mean_pool(v_um)  # CLS excluded, before the fusion
        if self.inter_loss is not None:
            loss, acc = self.inter_loss(a_emb, v_emb, with_accuracy=True)
            losses['loss_inter'] = self.inter_weight * loss
            losses['acc_inter'] = acc
        if self.intra_loss is not None:
            assert a_second is not None and v_second is not None  # drawn when intra_loss is set
            loss_a, acc_a = self.intra_loss(a_emb, mean_pool(a_second), with_accuracy=True)
            loss_v, acc_v = self.intra_loss(v_emb, mean_pool(v_second), with_accuracy=True)
            losses['loss_intra'] = self.intra_weight * 0.5 * (loss_a + loss_v)
            losses['acc_intra_audio'] = acc_a
            losses['acc_intra_video'] = acc_v
        return losses

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Complete view (no masking) through encoders and fusion, CLS/bottlenecks removed.

        Gradients are not turned off here; frozen teachers call it under ``torch.no_grad()``.

        Returns:
            dict: ``audio_uni (B, N, D)``, ``video_uni (B, M, D)``, ``audio_fused``,
            ``video_fused`` (same shapes).
        """
        audio, video = self._check_inputs(inputs)
        a_um, v_um = self.audio_backbone(audio), self.video_backbone(video)
        a_mm, v_mm = self.neck(a_um, v_um)
        return dict(audio_uni=drop_cls(a_um), video_uni=drop_cls(v_um),
                    audio_fused=drop_cls(a_mm), video_fused=drop_cls(v_mm))

    @torch.no_grad()
    def reconstruct(self, inputs: Dict[str, torch.Tensor],
                    mask_ratio: Optional[float] = None) -> Dict[str, Reconstruction]:
        """One random masking, decoded and turned back into the input layout (Fig. 3).

        Runs in the model's current mode (call ``eval()`` first for drawing) without gradient;
        the model is not changed (its ``mask_ratio`` stays).

        Args:
            inputs (dict): ``dict(audio=(B, 1, T, F), video=(B, C, T, H, W))`` as after the data
                preprocessor.
            mask_ratio (float, optional): Fraction of tokens removed, in (0, 1); the model's
                own ``mask_ratio`` when None (Fig. 3 uses 0.7).

        Returns:
            dict: ``audio`` and ``video`` :class:`Reconstruction` (original, reconstruction,
            mask), each in the input's shape.

        Raises:
            ValueError: The targets are features (stage 2), so there is no input to show, or
                ``mask_ratio`` is outside (0, 1).
        """
        if self.target_generator.target_space != 'input':
            raise ValueError(
                f'MAViL.reconstruct: the target generator {type(self.target_generator).__name__} '
                f"makes {self.target_generator.target_space}-space targets; only input-space "
                'targets (RawTarget, stage 1) can be shown as spectrograms and frames')
        if mask_ratio is not None and not 0 < mask_ratio < 1:
            raise ValueError(f'MAViL.reconstruct: mask_ratio must be in (0, 1), got {mask_ratio}')
        masks, preds = self._reconstruct(inputs, second_view=False, mask_ratio=mask_ratio)[:2]
        patches = self.target_generator.invert({m: preds[m] for m in MODALITIES}, inputs,
                                               {m: masks[m].mask for m in MODALITIES})
        out = {}
        for m in MODALITIES:
            backbone = self._backbone(m)
            removed = masks[m].mask.unsqueeze(-1).expand(-1, -1, patches[m].shape[-1])
            out[m] = Reconstruction(inputs[m].float(), backbone.unpatchify(patches[m]),
                                    backbone.unpatchify(removed).bool())
        return out
