"""Audio, video and audio+video classifiers for fine-tuning (MAViL §4.3, Appendix B)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mavilkit.registry import MODELS
from mavilkit.structures import AVDataSample
from ..utils.builders import accepts, build_fusion_neck
from ..utils.checkpoint import PretrainedInitMixin
from ..utils.masking import finetune_ids_keep
from ..utils.tokens import mean_pool

MODALITIES = ('audio', 'video', 'audio_video')


@MODELS.register_module()
class AVClassifier(PretrainedInitMixin, BaseModel):
    """Pre-trained encoder(s), mean pool, ``fc_norm``, linear head.

    - ``modality='audio'`` / ``'video'``: ``f_a`` or ``f_v`` → mean over tokens (CLS excluded) →
      ``fc_norm`` → linear (MAE / Audio-MAE fine-tuning with ``global_pool``).
    - ``modality='audio_video'``: both encoders → ``fusion`` (a 3-layer vanilla Transformer over
      both token sequences, :class:`VanillaFusion`) → audio and video tokens mean-pooled
      separately, concatenated → ``fc_norm`` over the ``2D`` vector → linear (the released MAViL
      A+V model: ``blocks_av``, ``fc_norm_av``, ``head_av``).

    With ``fc_norm=True`` (default) the encoders and the fusion are built without their final
    LayerNorms (``final_norm=False`` unless a config sets it): as in MAE's and Audio-MAE's
    ``global_pool`` fine-tuning, the pre-trained final norm is dropped and a new LayerNorm
    normalises the pooled vector. ``fc_norm=False`` keeps the final norms on every token and
    feeds the pooled vector to the head directly.

    Training encodes a fine-tuning-masked subset of tokens (``audio_mask_ratios`` of time and
    frequency, ``video_mask_ratios`` of time and space, 20 % each; see
    :func:`~mavilkit.models.utils.masking.finetune_ids_keep`); evaluation encodes every token.

    **Multi-clip testing** (Table 11): a video input ``(B, K, C, T, H, W)`` holds ``K`` clips of
    the same video; every clip is classified (with the same 10-s audio in A+V, encoded once) and
    the ``K`` class scores (sigmoid / softmax) are averaged into one ``pred_score`` per video. The
    metrics therefore receive one result per video.

    **Pre-trained weights** (a stage-1/2 :class:`MAViL` checkpoint): either per encoder,
    ``audio_backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint=CKPT,
    prefix='audio_backbone.'))``, or for the model, ``init_cfg=dict(type='Pretrained',
    checkpoint=CKPT)`` (the attribute names match MAViL's). Either way the weights go through
    :mod:`mavilkit.models.utils.checkpoint`: a missing encoder or a shape mismatch raises;
    loaded / missing / unexpected keys are logged. The fusion layers and
    the head start from scratch (Appendix B: the 3-layer Transformer is appended for fine-tuning).

    Args:
        modality (str): ``'audio'``, ``'video'`` or ``'audio_video'``.
        head (dict): :class:`AVClsHead` config; ``in_channels`` is filled in.
        audio_backbone (dict, optional): :class:`AudioViT` config (audio and A+V).
        video_backbone (dict, optional): :class:`VideoViT` config (video and A+V).
        fusion (dict, optional): A+V fusion config. Defaults to
            ``dict(type='VanillaFusion', num_layers=3)``; ``embed_dims`` / ``num_heads`` are
            filled in from the audio backbone.
        audio_mask_ratios (tuple[float]): Fraction of time steps and of frequency bands dropped
            in training. Defaults to (0.2, 0.2).
        video_mask_ratios (tuple[float]): Fraction of time steps and of spatial positions dropped
            in training. Defaults to (0.2, 0.2).
        fc_norm (bool): Global-pool recipe (see above). Defaults to True.
        data_preprocessor (dict, optional): Defaults to ``AVDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 modality: str,
                 head: dict,
                 audio_backbone: Optional[dict] = None,
                 video_backbone: Optional[dict] = None,
                 fusion: Optional[dict] = None,
                 audio_mask_ratios: Sequence[float] = (0.2, 0.2),
                 video_mask_ratios: Sequence[float] = (0.2, 0.2),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 fc_norm: bool = True) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='AVDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if modality not in MODALITIES:
            raise ValueError(f'AVClassifier: modality must be one of {MODALITIES}, got '
                             f'{modality!r}')
        self.modality = modality
        self.modalities = ('audio', 'video') if modality == 'audio_video' else (modality, )
        configs = dict(audio=audio_backbone, video=video_backbone)
        for name in self.modalities:
            given = configs[name]
            if given is None:
                raise ValueError(f"AVClassifier(modality={modality!r}) needs `{name}_backbone`")
            cfg = dict(given)
            if fc_norm and accepts(cfg, 'final_norm'):
                cfg.setdefault('final_norm', False)
            setattr(self, f'{name}_backbone', MODELS.build(cfg))
        self.mask_ratios = dict(audio=tuple(audio_mask_ratios), video=tuple(video_mask_ratios))

        if modality == 'audio_video':
            fusion = dict(fusion or dict(type='VanillaFusion', num_layers=3))
            if fc_norm and accepts(fusion, 'final_norm'):
                fusion.setdefault('final_norm', False)
            self.fusion = build_fusion_neck(fusion, self.audio_backbone, self.video_backbone,
                                            owner='AVClassifier')
        elif fusion is not None:
            raise ValueError(f"AVClassifier: `fusion` is only used with modality='audio_video', "
                             f'not {modality!r}')
        # one pooled vector per modality (the fusion keeps each modality's width)
        feat_dims = sum(getattr(self, f'{m}_backbone').embed_dims for m in self.modalities)
        self.fc_norm = nn.LayerNorm(feat_dims, eps=1e-6) if fc_norm else nn.Identity()
        head = dict(head)
        head.setdefault('in_channels', feat_dims)
        self.head = MODELS.build(head)

    # ------------------------------------------------------------------ weights
    check_state_dict_loads = True  # load_from / tools/test.py / resume must fill every part

    def required_weights(self) -> List[str]:
        """Encoders that a ``Pretrained`` checkpoint must fill; a whole-model load (load_from,
        ``tools/test.py``) needs every part, fusion and head included (see
        :class:`PretrainedInitMixin`)."""
        return [f'{name}_backbone' for name in self.modalities]

    # ------------------------------------------------------------------ features
    def _encode(self, inputs: Dict[str, torch.Tensor],
                masked: bool) -> Tuple[Dict[str, torch.Tensor], int]:
        """Encoder tokens per modality, and the number of clips ``K`` per video.

        Video tokens are ``(B·K, 1 + L, D)``; audio tokens ``(B, 1 + L, D)``.
        """
        tokens, num_clips = {}, 1
        for name in self.modalities:
            if name not in inputs:
                raise KeyError(f"AVClassifier(modality={self.modality!r}): the batch has no "
                               f"'{name}' input (keys: {sorted(inputs)})")
            x = inputs[name]
            if name == 'video' and x.dim() == 6:
                num_clips = x.shape[1]
                x = x.flatten(0, 1)
            backbone = getattr(self, f'{name}_backbone')
            ids_keep = finetune_ids_keep(backbone, x.shape[0], self.mask_ratios[name],
                                         x.device) if masked else None
            tokens[name] = backbone(x, ids_keep)
        return tokens, num_clips

    def _pooled(self, inputs: Dict[str, torch.Tensor],
                masked: bool) -> Tuple[Dict[str, torch.Tensor], int]:
        """Pooled features per clip: ``audio``/``video`` ``(B·K, D)``, ``fusion`` ``(B·K, 2D)``.

        The head's feature (``audio`` or ``video`` alone, ``fusion`` for A+V) has passed
        ``fc_norm``; the uni-modal means of an A+V model are the encoders' pooled outputs.
        """
        tokens, num_clips = self._encode(inputs, masked)
        if self.modality != 'audio_video':
            return {self.modality: self.fc_norm(mean_pool(tokens[self.modality]))}, num_clips
        audio = tokens['audio'].repeat_interleave(num_clips, dim=0)  # the same audio per clip
        audio_fused, video_fused = self.fusion(audio, tokens['video'])
        fusion = torch.cat([mean_pool(audio_fused), mean_pool(video_fused)], dim=1)
        pooled = dict(audio=mean_pool(tokens['audio']), video=mean_pool(tokens['video']),
                      fusion=self.fc_norm(fusion))
        return pooled, num_clips

    def head_input(self, pooled: Dict[str, torch.Tensor]) -> torch.Tensor:
        return pooled['fusion' if self.modality == 'audio_video' else self.modality]

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Pooled embeddings per video, without masking (feature export).

        Returns:
            dict: ``audio`` / ``video`` ``(B, D)`` for the modalities in use (a uni-modal model's
            head input, after ``fc_norm``; in A+V the encoders' mean-pooled outputs), and
            ``fusion`` ``(B, 2D)`` (the head's input, after ``fc_norm``) for A+V; multi-clip
            embeddings are averaged over the clips.
        """
        pooled, num_clips = self._pooled(inputs, masked=False)
        batch = next(iter(inputs.values())).shape[0]
        return {k: (v if k == 'audio' else v.view(batch, num_clips, -1).mean(dim=1))
                for k, v in pooled.items()}

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[AVDataSample]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("AVClassifier: mode='loss' needs data_samples with labels")
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            pooled, num_clips = self._pooled(inputs, masked=self.training)
            logits = self.head(self.head_input(pooled))
            return logits.view(-1, num_clips, logits.shape[-1]) if num_clips > 1 else logits
        raise ValueError(f"AVClassifier: unknown mode {mode!r} (use 'loss', 'predict', 'tensor')")

    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: List[AVDataSample]) -> dict:
        pooled, num_clips = self._pooled(inputs, masked=self.training)
        if num_clips > 1:
            raise ValueError('AVClassifier: multi-clip inputs (B, K, C, T, H, W) are for testing; '
                             'train with one clip per sample')
        return self.head.loss(self.head(self.head_input(pooled)), data_samples)

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[AVDataSample]] = None) -> List[AVDataSample]:
        """Set ``pred_score`` (clip scores averaged per video) on the data samples."""
        pooled, num_clips = self._pooled(inputs, masked=False)
        scores = self.head.scores(self.head(self.head_input(pooled)))
        scores = scores.view(-1, num_clips, scores.shape[-1]).mean(dim=1)
        if data_samples is None:
            data_samples = [AVDataSample() for _ in range(scores.shape[0])]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score)
        return data_samples
