"""Audio↔video retrieval with MAViL encoders: zero-shot and fine-tuned (§4.5, Table 9)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from mavilkit.registry import MODELS
from mavilkit.structures import AVDataSample
from ..utils.builders import build_fusion_neck
from ..utils.checkpoint import PretrainedInitMixin
from ..utils.masking import finetune_ids_keep
from ..utils.tokens import mean_pool


@MODELS.register_module()
class AVRetriever(PretrainedInitMixin, BaseModel):
    """Embed audio and video with the uni-modal encoders and compare them by cosine similarity.

    The embedding of a clip is the mean of its encoder's output tokens (CLS excluded), as the
    ``a_emb`` / ``v_emb`` of MAViL's inter-modal contrast (§3.2), L2-normalised. For multi-clip
    video inputs ``(B, K, C, T, H, W)`` the clip embeddings are averaged before normalising.

    - **Zero-shot** (``predict``): the pre-trained encoders as they are. Load a MAViL checkpoint
      directly (``tools/test.py CONFIG MAVIL_CKPT``; the attribute names match MAViL's) or through
      per-encoder ``init_cfg`` with a ``prefix``. A checkpoint without the encoders raises.
    - **Fine-tuned** (``loss``, §4.5 "we fine-tune MAViL with the audio-video pairs in the
      training sets"): the inter-modal InfoNCE of Eq. 2 between ``a_emb`` and ``v_emb`` over the
      global batch (τ = 0.1 by default), with the fine-tuning masking of the classifiers during
      training (the paper gives no further retrieval fine-tuning details; this follows its
      classification fine-tuning recipe).

    ``predict`` sets ``audio_embedding`` and ``video_embedding`` on each data sample (for
    :class:`RetrievalRecall`). With a ``neck`` (MAViL's pre-trained fusion, loaded with prefix
    ``neck.``), :meth:`extract_feat` also returns the pooled fused embedding.

    Args:
        audio_backbone (dict): :class:`AudioViT` config.
        video_backbone (dict): :class:`VideoViT` config.
        neck (dict, optional): Fusion neck, only for :meth:`extract_feat`'s ``fusion``.
        loss (dict): Contrastive loss for fine-tuning. Defaults to
            ``dict(type='InfoNCELoss', temperature=0.1, symmetric=True)``.
        audio_mask_ratios (tuple[float]): Fine-tuning masking of audio (time, frequency).
        video_mask_ratios (tuple[float]): Fine-tuning masking of video (time, space).
        data_preprocessor (dict, optional): Defaults to ``AVDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 audio_backbone: dict,
                 video_backbone: dict,
                 neck: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 audio_mask_ratios: Sequence[float] = (0.2, 0.2),
                 video_mask_ratios: Sequence[float] = (0.2, 0.2),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='AVDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.audio_backbone = MODELS.build(audio_backbone)
        self.video_backbone = MODELS.build(video_backbone)
        if self.audio_backbone.embed_dims != self.video_backbone.embed_dims:
            raise ValueError('AVRetriever: audio and video embeddings must have the same size '
                             f'({self.audio_backbone.embed_dims} vs '
                             f'{self.video_backbone.embed_dims})')
        self.neck = None
        if neck is not None:
            self.neck = build_fusion_neck(neck, self.audio_backbone, self.video_backbone,
                                          owner='AVRetriever')
        self.loss_module = MODELS.build(
            loss or dict(type='InfoNCELoss', temperature=0.1, symmetric=True))
        self.mask_ratios = dict(audio=tuple(audio_mask_ratios), video=tuple(video_mask_ratios))

    check_state_dict_loads = True  # load_from / tools/test.py / resume must fill every part

    def required_weights(self) -> List[str]:
        """Modules that a ``Pretrained`` checkpoint must fill (the neck when there is one); a
        whole-model load needs every part with tensors (:class:`PretrainedInitMixin`)."""
        return ['audio_backbone', 'video_backbone'] + (['neck'] if self.neck is not None else [])

    def _tokens(self, inputs: Dict[str, torch.Tensor], masked: bool):
        for name in ('audio', 'video'):
            if name not in inputs:
                raise KeyError(f"AVRetriever: the batch has no '{name}' input "
                               f'(keys: {sorted(inputs)})')
        audio, video = inputs['audio'], inputs['video']
        num_clips = video.shape[1] if video.dim() == 6 else 1
        video = video.flatten(0, 1) if video.dim() == 6 else video
        out = {}
        for name, x in (('audio', audio), ('video', video)):
            backbone = getattr(self, f'{name}_backbone')
            ids = finetune_ids_keep(backbone, x.shape[0], self.mask_ratios[name],
                                    x.device) if masked else None
            out[name] = backbone(x, ids)
        return out, num_clips

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """L2-normalised ``audio`` and ``video`` embeddings ``(B, D)``; ``fusion`` ``(B, 2D)``
        (pooled fused audio ‖ video, not normalised) when a neck is configured."""
        tokens, num_clips = self._tokens(inputs, masked=False)
        batch = tokens['audio'].shape[0]
        video = mean_pool(tokens['video']).view(batch, num_clips, -1).mean(dim=1)
        feats = dict(audio=F.normalize(mean_pool(tokens['audio']), dim=-1),
                     video=F.normalize(video, dim=-1))
        if self.neck is not None:
            audio_fused, video_fused = self.neck(
                tokens['audio'].repeat_interleave(num_clips, dim=0), tokens['video'])
            fusion = torch.cat([mean_pool(audio_fused), mean_pool(video_fused)], dim=1)
            feats['fusion'] = fusion.view(batch, num_clips, -1).mean(dim=1)
        return feats

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[AVDataSample]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            tokens, num_clips = self._tokens(inputs, masked=self.training)
            if num_clips > 1:
                raise ValueError('AVRetriever: train with one video clip per sample')
            loss, acc = self.loss_module(mean_pool(tokens['audio']), mean_pool(tokens['video']),
                                         with_accuracy=True)
            return dict(loss_retrieval=loss, acc_a2v=acc)
        if mode == 'predict':
            feats = self.extract_feat(inputs)
            if data_samples is None:
                data_samples = [AVDataSample() for _ in range(feats['audio'].shape[0])]
            for sample, audio, video in zip(data_samples, feats['audio'], feats['video']):
                sample.audio_embedding = audio
                sample.video_embedding = video
            return data_samples
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f"AVRetriever: unknown mode {mode!r} (use 'loss', 'predict', 'tensor')")
