"""Python inference API: build a model from a config and a checkpoint, then embed, classify and
retrieve media files or already decoded arrays (as mmpretrain's ``get_model`` /
``inference_model`` / ``FeatureExtractor``).

Inputs go through the **test pipeline of the config** (``test_dataloader.dataset.pipeline``; for
a pre-training config without one, its ``test_pipeline`` variable) and the model's data
preprocessor, so a file gets exactly the view that ``tools/test.py`` gives it.
An input is one of:

- a path (``str`` or ``os.PathLike``): a video file with its audio track (or, for an audio-only
  model, any audio file);
- a dict with ``filename`` (video) and / or ``audio_path`` (separate audio file);
- a dict of decoded arrays: ``waveform`` (float ``(L,)`` mono at ``sample_rate``, which must be
  the pipeline's ``LoadAudio`` rate) and / or ``imgs`` (uint8 ``(T, H, W, 3)`` RGB frames of one
  clip, ``T`` = the pipeline's ``clip_len``); the loading steps are skipped for what is given.

Inputs are processed ``batch_size`` at a time. An input that cannot be read raises
:class:`InferenceInputError` naming it.
"""
import copy
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from .cfg_options import merge_cfg_options

MediaInput = Union[str, os.PathLike, dict]


class InferenceInputError(ValueError):
    """An input of the inference API cannot be read or does not fit the pipeline."""


# --------------------------------------------------------------------------- model
def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` into it, for inference.

    No ``init_cfg`` is applied (the weights come from ``checkpoint``; without one the model keeps
    its random initialisation, e.g. for tests). The checkpoint is read by
    :mod:`mavilkit.models.utils.checkpoint`: shapes must agree and every tensor of the encoders,
    fusion and head must be in it (a MAViL's decoders may be missing: released MAViL checkpoints
    have none).

    Args:
        config (str | Config): A config file or object.
        checkpoint (str, optional): A mavilkit checkpoint (a training checkpoint, a converted
            release, or one written by ``tools/model_converters/publish_model.py``).
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config, checked by
            :func:`mavilkit.apis.merge_cfg_options`.

    Returns:
        nn.Module: The model in eval mode on ``device``, with ``model.cfg`` (the config) and
        ``model.dataset_meta`` (``dict(classes=...)`` from the checkpoint's meta, or the label file
        of the config's test dataset when it exists; ``classes=None`` otherwise).

    Raises:
        FileNotFoundError: No such config or checkpoint.
        ValueError: A ``cfg_options`` key that would have no effect (a config variable, or a
            key neither in the config nor read by the Runner).
        CheckpointMismatchError: The checkpoint does not fit the model.
    """
    from mavilkit.models.utils.checkpoint import load_checked, load_state_dict
    from mavilkit.registry import MODELS
    from mavilkit.utils import register_all_modules
    register_all_modules()
    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'init_model: config {config} not found')
        cfg = Config.fromfile(str(config))
    else:
        cfg = copy.deepcopy(config)
    # test_pipeline: read by _test_dataset_cfg when the config has no test/val loader
    merge_cfg_options(cfg, cfg_options, readable=('test_pipeline', ))
    model_cfg = _without_init_cfg(cfg.model)
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner: a top-level one
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(dict(cfg.data_preprocessor)))
    model = MODELS.build(model_cfg)
    classes = None
    if checkpoint is not None:
        state = load_state_dict(checkpoint)
        required = [name for name, module in model.named_children()
                    if name != 'data_preprocessor' and not name.endswith('decoder')
                    and any(True for _ in module.parameters())]
        load_checked(model, state, source=str(checkpoint), required=required,
                     ignore=('data_preprocessor.', ), name=f'init_model({type(model).__name__})')
        classes = _checkpoint_classes(checkpoint)
    if classes is None:
        classes = _config_classes(cfg)
    model.cfg = cfg
    model.dataset_meta = dict(classes=None if classes is None else tuple(classes))
    return model.to(device).eval()


def _without_init_cfg(model_cfg) -> dict:
    """A copy of the model config with every ``init_cfg`` removed (no file is read at build)."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != 'init_cfg'}
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return node
    return strip(copy.deepcopy(dict(model_cfg)))


def _checkpoint_classes(checkpoint: str) -> Optional[Sequence[str]]:
    from mavilkit.utils.compat import load_local_checkpoint
    if '://' in str(checkpoint) or osp.isdir(checkpoint):
        return None
    raw = load_local_checkpoint(str(checkpoint), map_location='cpu')
    meta = raw.get('meta') if isinstance(raw, dict) else None
    dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    classes = dataset_meta.get('classes') if isinstance(dataset_meta, dict) else None
    return list(classes) if classes else None


def _test_dataset_cfg(cfg: Config) -> dict:
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if loader is None:
        # pre-training configs: the dataset configs' named test view
        if cfg.get('test_pipeline') is not None:
            return dict(pipeline=cfg.test_pipeline)
        raise KeyError('the config has no test_dataloader, val_dataloader or test_pipeline, so '
                       'there is no test pipeline for inference')
    dataset = loader['dataset']
    while 'pipeline' not in dataset and 'datasets' in dataset:  # concatenated datasets
        dataset = dataset['datasets'][0]
    while 'pipeline' not in dataset and 'dataset' in dataset:  # wrappers (repeat, ...)
        dataset = dataset['dataset']
    return dataset


def _config_classes(cfg: Config) -> Optional[Sequence[str]]:
    try:
        dataset = _test_dataset_cfg(cfg)
    except KeyError:
        return None
    label_file = dataset.get('label_file')
    if not label_file:
        return None
    if dataset.get('data_root') and not osp.isabs(label_file):
        label_file = osp.join(dataset['data_root'], label_file)
    if not osp.isfile(label_file):
        return None
    from mavilkit.datasets.utils import read_class_labels_indices
    return list(read_class_labels_indices(label_file)[1])


# --------------------------------------------------------------------------- inputs
def _pipeline(model: nn.Module) -> list:
    from mavilkit.registry import TRANSFORMS
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise AttributeError('the model has no `cfg`; build it with mavilkit.apis.init_model')
    return [TRANSFORMS.build(copy.deepcopy(t)) for t in _test_dataset_cfg(cfg)['pipeline']]


def _describe(item: MediaInput) -> str:
    if isinstance(item, dict):
        named = [str(item[k]) for k in ('filename', 'audio_path') if item.get(k)]
        return ', '.join(named) or f'decoded arrays ({", ".join(sorted(item))})'
    return str(item)


def _prepare(item: MediaInput, pipeline: list, index: int) -> dict:
    """One input through the test pipeline -> its packed sample (inputs + data sample)."""
    if isinstance(item, (str, os.PathLike)):
        results: Dict[str, Any] = dict(filename=str(item))
    elif isinstance(item, dict):
        results = dict(item)
    else:
        raise InferenceInputError(f'input {index}: expected a path or a dict, got '
                                  f'{type(item).__name__}')
    for key in ('filename', 'audio_path'):
        path = results.get(key)
        if path is not None and not osp.isfile(str(path)):
            raise InferenceInputError(f'input {index}: {path} is not a file')
    skip = set()
    if 'waveform' in results:
        wave = np.asarray(results['waveform'], dtype=np.float32)
        if wave.ndim != 1 or not np.isfinite(wave).all():
            raise InferenceInputError(f'input {index}: waveform must be a finite mono array '
                                      f'(L,), got shape {wave.shape}')
        results['waveform'] = wave
        skip.add('LoadAudio')
    if 'imgs' in results:
        imgs = np.asarray(results['imgs'])
        if imgs.ndim != 4 or imgs.shape[-1] != 3 or imgs.dtype != np.uint8:
            raise InferenceInputError(f'input {index}: imgs must be uint8 (T, H, W, 3) RGB '
                                      f'frames, got {imgs.dtype} {imgs.shape}')
        results.update(imgs=imgs, clip_len=len(imgs), num_clips=1, img_shape=imgs.shape[1:3],
                       ori_shape=imgs.shape[1:3],
                       frame_inds=np.arange(len(imgs))[None])
        skip.add('SampleVideoFrames')
    # The readers are matched by class, so that subclasses (SampleVideoFramesPyAV) count too.
    from mavilkit.datasets.transforms import LoadAudio, SampleVideoFrames
    readers = dict(LoadAudio=LoadAudio, SampleVideoFrames=SampleVideoFrames)
    if results.get('filename') is None:
        needs = dict(LoadAudio=("audio: give 'waveform' (L,) with 'sample_rate', or "
                                "'filename' / 'audio_path'"),
                     SampleVideoFrames="video: give 'imgs' (T, H, W, 3) uint8, or 'filename'")
        for name, cls in readers.items():
            given = name in skip or (name == 'LoadAudio' and results.get('audio_path'))
            if not given and any(isinstance(t, cls) for t in pipeline):
                raise InferenceInputError(f'input {index} ({_describe(item)}) has no '
                                          f'{needs[name]} (the pipeline reads it with {name})')
    frame_times = None
    for transform in pipeline:
        name = next((n for n, cls in readers.items() if isinstance(transform, cls)),
                    type(transform).__name__)
        if name in skip:
            if name == 'LoadAudio' and results.get('sample_rate') != transform.sample_rate:
                raise InferenceInputError(
                    f'input {index}: waveform at {results.get("sample_rate")} Hz, the pipeline '
                    f'reads audio at {transform.sample_rate} Hz (give sample_rate, resampled)')
            if name == 'SampleVideoFrames' and results['clip_len'] != transform.clip_len:
                raise InferenceInputError(
                    f'input {index}: {results["clip_len"]} frames given, the pipeline takes '
                    f'clips of {transform.clip_len}')
            continue
        try:
            results = transform(results)
        except InferenceInputError:
            raise
        except Exception as error:
            raise InferenceInputError(f'input {index} ({_describe(item)}) cannot be read by '
                                      f'{name}: {error}') from error
        if results is None:
            raise InferenceInputError(f'input {index} ({_describe(item)}) was dropped by {name}')
        if 'frame_times' in results:
            frame_times = results['frame_times']
    sample = results.get('data_samples') if isinstance(results, dict) else None
    if sample is not None and frame_times is not None:
        sample.set_metainfo(dict(frame_times=np.asarray(frame_times)))
    return results


def _batches(model: nn.Module, items: Sequence[MediaInput], batch_size: int):
    """Yield ``(start, preprocessed batch)`` for consecutive ``batch_size`` inputs."""
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    pipeline = _pipeline(model)
    for start in range(0, len(items), batch_size):
        packed = [_prepare(item, pipeline, start + i)
                  for i, item in enumerate(items[start:start + batch_size])]
        yield start, model.data_preprocessor(  # type: ignore[operator]  # a BaseModel's
            pseudo_collate(packed), False)


def prepare_inputs(model: nn.Module, files: Union[MediaInput, Sequence[MediaInput]]) -> dict:
    """Inputs through the config's test pipeline and the data preprocessor, as one batch.

    Returns:
        dict: ``inputs`` (``audio`` / ``video`` tensors on the model's device) and
        ``data_samples`` (with ``frame_times``, seconds of the sampled frames, when the pipeline
        samples video).

    Raises:
        InferenceInputError: An input cannot be read; names it.
    """
    items = _as_list(files)
    return next(_batches(model, items, len(items)))[1]


def _as_list(items) -> List[MediaInput]:
    if isinstance(items, (str, os.PathLike, dict)):
        return [items]
    items = list(items)
    if not items:
        raise ValueError('no inputs given')
    return items


# --------------------------------------------------------------------------- features
def _pooled_features(model: nn.Module, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Per-clip embeddings: ``audio`` / ``video`` ``(B, D)`` and, when the model fuses,
    ``fusion`` ``(B, 2D)``, whatever the model (classifier, retriever, pre-trained MAViL)."""
    feats = model.extract_feat(inputs)  # type: ignore[operator]  # mavilkit models have it
    if 'audio_uni' in feats:  # a pre-trained MAViL: token outputs, CLS removed
        return dict(audio=feats['audio_uni'].mean(1), video=feats['video_uni'].mean(1),
                    fusion=torch.cat([feats['audio_fused'].mean(1),
                                      feats['video_fused'].mean(1)], dim=1))
    return dict(feats)


@torch.no_grad()
def extract_features(model: nn.Module, files: Union[MediaInput, Sequence[MediaInput]],
                     batch_size: int = 8) -> List[Dict[str, torch.Tensor]]:
    """Audio, video and fused embeddings of media files (or decoded arrays).

    The embedding of a modality is the mean of its encoder's output tokens (CLS excluded), as
    MAViL's ``a_emb`` / ``v_emb`` (§3.2); ``fusion`` is the concatenation of the fused audio and
    video means. Per model: a pre-trained :class:`MAViL` gives ``audio``, ``video``, ``fusion``;
    an :class:`AVClassifier` gives its ``extract_feat`` (``fusion`` = the head's input, after
    ``fc_norm``); an :class:`AVRetriever` gives L2-normalised ``audio`` / ``video``. Multi-clip
    test pipelines are averaged over the clips.

    Args:
        model (nn.Module): From :func:`init_model`.
        files: One input or a list (see the module docstring).
        batch_size (int): Inputs per forward pass. Defaults to 8.

    Returns:
        list[dict]: One dict per input, ``{name: float32 tensor (D,) on the CPU}``.

    Raises:
        InferenceInputError: An input cannot be read; names it.
    """
    items = _as_list(files)
    out: List[Dict[str, torch.Tensor]] = []
    for _, data in _batches(model, items, batch_size):
        feats = _pooled_features(model, data['inputs'])
        batch = next(iter(feats.values())).shape[0]
        out.extend({k: v[i].float().cpu() for k, v in feats.items()} for i in range(batch))
    return out


@torch.no_grad()
def inference_classifier(model: nn.Module, file: Union[MediaInput, Sequence[MediaInput]],
                         topk: int = 5, batch_size: int = 8) -> Union[dict, List[dict]]:
    """Top-``k`` classes of a clip with their scores (sigmoid for BCE heads, softmax for CE).

    Args:
        model (nn.Module): An :class:`AVClassifier` from :func:`init_model`.
        file: One input (returns one dict) or a list (returns a list).
        topk (int): Classes returned per input. Defaults to 5.
        batch_size (int): Inputs per forward pass. Defaults to 8.

    Returns:
        dict | list[dict]: ``labels`` (class names from ``model.dataset_meta``, or the indices as
        strings when the names are unknown), ``indices``, ``scores`` (float, descending), and
        ``pred_score`` (all classes, tensor).

    Raises:
        TypeError: The model has no ``predict`` mode with class scores.
        InferenceInputError: An input cannot be read; names it.
    """
    single = isinstance(file, (str, os.PathLike, dict))
    items = _as_list(file)
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    results = []
    for _, data in _batches(model, items, batch_size):
        samples = model(data['inputs'], data['data_samples'], mode='predict')
        for sample in samples:
            if 'pred_score' not in sample:
                raise TypeError(f'{type(model).__name__} gives no pred_score; '
                                'inference_classifier needs a classifier')
            score = sample.pred_score.float().cpu()
            k = min(topk, score.numel())
            values, indices = score.topk(k)
            idx = indices.tolist()
            results.append(dict(
                labels=[classes[i] if classes is not None else str(i) for i in idx],
                indices=idx, scores=values.tolist(), pred_score=score))
    return results[0] if single else results


@torch.no_grad()
def retrieve(model: nn.Module, queries: Union[MediaInput, Sequence[MediaInput]],
             gallery: Sequence[MediaInput], direction: str = 'a2v', topk: int = 10,
             batch_size: int = 8) -> List[dict]:
    """Rank ``gallery`` clips for each query by cosine similarity of their embeddings.

    ``'a2v'``: the audio embedding of each query against the video embeddings of the gallery;
    ``'v2a'``: the reverse (MAViL's zero-shot retrieval, §4.5). Embeddings are those of
    :func:`extract_features`, L2-normalised.

    Returns:
        list[dict]: Per query, ``indices`` (into ``gallery``, best first) and ``scores``
        (cosine similarities), ``topk`` of each.

    Raises:
        ValueError: ``direction`` is not ``'a2v'`` or ``'v2a'``.
        InferenceInputError: An input cannot be read; names it.
    """
    if direction not in ('a2v', 'v2a'):
        raise ValueError(f"retrieve: direction must be 'a2v' or 'v2a', got {direction!r}")
    source, target = ('audio', 'video') if direction == 'a2v' else ('video', 'audio')
    q = torch.stack([f[source] for f in extract_features(model, queries, batch_size)])
    g = torch.stack([f[target] for f in extract_features(model, _as_list(gallery), batch_size)])
    sims = F.normalize(q, dim=-1) @ F.normalize(g, dim=-1).t()
    k = min(topk, g.shape[0])
    values, indices = sims.topk(k, dim=1)
    return [dict(indices=i.tolist(), scores=v.tolist()) for i, v in zip(indices, values)]
