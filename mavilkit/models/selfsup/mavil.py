"""MAViL: Masked Audio-Video Learners (Huang et al., 2023), the algorithm that wires the parts."""
import copy
import inspect
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mavilkit.registry import MODELS
from ..target_generators.raw import RawTarget
from ..utils.masking import MaskInfo, random_masking

MODALITIES = ('audio', 'video')


def _accepts(cfg: dict, arg: str) -> bool:
    """Whether the class named by ``cfg['type']`` takes the constructor argument ``arg``."""
    cls = cfg['type'] if inspect.isclass(cfg['type']) else MODELS.get(cfg['type'])
    if cls is None:
        raise KeyError(f'{cfg["type"]!r} is not registered in mavilkit MODELS')
    return arg in inspect.signature(cls.__init__).parameters


@MODELS.register_module()
class MAViL(BaseModel):
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

    Decoder configs may leave out ``grid_size``, ``in_dims`` and ``out_dims``: they are taken from
    the backbones and ``target_generator.out_dims``. Likewise the neck's ``embed_dims`` and
    ``num_heads`` default to the audio backbone's.

    Args:
        audio_backbone (dict): Audio encoder f_a, e.g. ``dict(type='AudioViT', arch='b')``.
        video_backbone (dict): Video encoder f_v, e.g. ``dict(type='VideoViT', arch='b')``.
        neck (dict): Fusion encoder g_av. Defaults to a 2-layer ``VanillaFusion`` (§4.2).
        audio_decoder (dict): Audio decoder. Defaults to ``MAEDecoder`` (8 × 512, 16 heads).
        video_decoder (dict): Video decoder. Defaults to ``MAEDecoder``.
        target_generator (dict): Reconstruction targets. Defaults to ``RawTarget``.
        rec_loss (dict): Per-modality masked reconstruction loss (Eq. 1).
        inter_loss (dict): Inter-modal InfoNCE, τ = 0.1.
        intra_loss (dict): Intra-modal InfoNCE, τ = 1.0.
        inter_weight (float): α of Eq. 4, 0.1; 0 turns the term off.
        intra_weight (float): β of Eq. 4, 0.01; 0 turns the term (and the second view) off.
        raw_weight (float): Weight of an extra raw-input reconstruction loss next to teacher
            targets, predicted by a second pair of decoders (``audio_raw_decoder``,
            ``video_raw_decoder``, built like the decoders with ``raw_target``'s widths).
            Defaults to 0 (off): stage 2 gains nothing from it (footnote 1). The one-stage EMA
            variant (Appendix B) sets 1.
        raw_target (dict): Target generator of that loss. Defaults to ``RawTarget``.
        mask_ratio (float): Fraction of tokens removed. Defaults to 0.8.
        with_cp (bool): Activation checkpointing in backbones, neck and decoders.
        data_preprocessor (dict | nn.Module, optional): Defaults to ``AVDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
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

        def part(cfg: dict) -> dict:
            cfg = copy.deepcopy(dict(cfg))
            if with_cp and _accepts(cfg, 'with_cp'):
                cfg['with_cp'] = True
            return cfg

        self.audio_backbone = MODELS.build(part(audio_backbone))
        self.video_backbone = MODELS.build(part(video_backbone))
        self.target_generator = MODELS.build(copy.deepcopy(dict(target_generator)))
        self.target_generator.setup(self.audio_backbone, self.video_backbone)

        neck = part(neck)
        if _accepts(neck, 'embed_dims'):
            dims = {self.audio_backbone.embed_dims, self.video_backbone.embed_dims}
            if len(dims) > 1:
                raise ValueError(f'{neck["type"]} fuses tokens of one width, but the audio and '
                                 f'video backbones have {sorted(dims)} dims')
            neck.setdefault('embed_dims', self.audio_backbone.embed_dims)
            neck.setdefault('num_heads', self.audio_backbone.num_heads)
        self.neck = MODELS.build(neck)

        for name, cfg in (('audio', audio_decoder), ('video', video_decoder)):
            backbone = getattr(self, f'{name}_backbone')
            cfg = part(cfg)
            cfg.setdefault('grid_size', backbone.grid_size)
            cfg.setdefault('in_dims', backbone.embed_dims)
            cfg.setdefault('out_dims', self.target_generator.out_dims[name])
            self.add_module(f'{name}_decoder', MODELS.build(cfg))

        # Stage 2 / one-stage EMA: an optional raw loss on its own decoders (footnote 1).
        self.raw_weight = raw_weight
        self.raw_target = None
        if raw_weight > 0:
            if isinstance(self.target_generator, RawTarget):
                raise ValueError('raw_weight > 0 adds a raw loss next to teacher targets, but the '
                                 'target generator is already RawTarget')
            self.raw_target = MODELS.build(copy.deepcopy(dict(raw_target)))
            self.raw_target.setup(self.audio_backbone, self.video_backbone)
            for name, cfg in (('audio', audio_decoder), ('video', video_decoder)):
                backbone = getattr(self, f'{name}_backbone')
                cfg = part(cfg)
                cfg.setdefault('grid_size', backbone.grid_size)
                cfg.setdefault('in_dims', backbone.embed_dims)
                cfg['out_dims'] = self.raw_target.out_dims[name]
                self.add_module(f'{name}_raw_decoder', MODELS.build(cfg))
        # A target generator that needs the student itself (EMATarget) gets it once built.
        bind_student = getattr(self.target_generator, 'bind_student', None)
        if callable(bind_student):
            bind_student(self)

        self.rec_loss = MODELS.build(rec_loss)
        self.inter_loss = MODELS.build(inter_loss) if inter_weight > 0 else None
        self.intra_loss = MODELS.build(intra_loss) if intra_weight > 0 else None

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _check_inputs(inputs: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(inputs, dict) or any(m not in inputs for m in MODALITIES):
            keys = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise KeyError(f'MAViL needs inputs with both "audio" and "video", got {keys}')
        return inputs['audio'], inputs['video']

    def _mask_and_encode(
            self, backbone: nn.Module, x: torch.Tensor,
            second_view: bool) -> Tuple[MaskInfo, torch.Tensor, Optional[torch.Tensor]]:
        """Mask, then encode the visible tokens (and the second view in the same call)."""
        B = x.shape[0]
        mask = random_masking(B, backbone.num_patches, self.mask_ratio, x.device, second_view)
        encoded = backbone(x, mask.ids_keep, mask.ids_keep_second)
        return mask, encoded[:B], (encoded[B:] if second_view else None)

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        """Mean over the encoded tokens, CLS excluded (§3.2, Table 3 discussion)."""
        return x[:, 1:].mean(dim=1)

    def _reconstruct(self, inputs: Dict[str, torch.Tensor], second_view: bool):
        audio, video = self._check_inputs(inputs)
        mask_a, a_um, a_second = self._mask_and_encode(self.audio_backbone, audio, second_view)
        mask_v, v_um, v_second = self._mask_and_encode(self.video_backbone, video, second_view)
        a_mm, v_mm = self.neck(a_um, v_um)
        preds = dict(
            audio=self.audio_decoder(a_mm, mask_a.ids_restore),
            video=self.video_decoder(v_mm, mask_v.ids_restore))
        if self.raw_target is not None:
            preds['audio_raw'] = self.audio_raw_decoder(a_mm, mask_a.ids_restore)
            preds['video_raw'] = self.video_raw_decoder(v_mm, mask_v.ids_restore)
        return dict(audio=mask_a, video=mask_v), preds, (a_um, v_um), (a_second, v_second)

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
            masks, preds, _, _ = self._reconstruct(inputs, second_view=False)
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
        a_emb, v_emb = self._pool(a_um), self._pool(v_um)
        if self.inter_loss is not None:
            loss, acc = self.inter_loss(a_emb, v_emb, with_accuracy=True)
            losses['loss_inter'] = self.inter_weight * loss
            losses['acc_inter'] = acc
        if self.intra_loss is not None:
            loss_a, acc_a = self.intra_loss(a_emb, self._pool(a_second), with_accuracy=True)
            loss_v, acc_v = self.intra_loss(v_emb, self._pool(v_second), with_accuracy=True)
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
        return dict(audio_uni=a_um[:, 1:], video_uni=v_um[:, 1:], audio_fused=a_mm[:, 1:],
                    video_fused=v_mm[:, 1:])
