"""Benchmark (fine-tuning) configs carry Table 10's numbers and are mapped to Tables 6-9 in their
README; the A+V config builds the ×0.5 video lr group."""
import ast
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from data_helpers import audio_recipe

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG_DIR = osp.join(REPO, 'configs', 'mavil', 'benchmarks')
PREFIX = 'vit-base-p16_mavil-s2-as2m-pre_'

# dataset -> (base lr, total batch, epochs, warm-up epochs, mixup, loss, metric), Table 10
TABLE10 = {
    'as2m': (2e-4, 512, 100, 20, 0.5, 'bce', 'AudioSetMAP'),
    'as20k': (1e-3, 64, 60, 4, 0.5, 'bce', 'AudioSetMAP'),
    'vggsound': (2e-4, 256, 60, 4, 0.5, 'bce', 'Accuracy'),
    'esc50': (1e-3, 64, 60, 4, 0.0, 'ce', 'Accuracy'),
    'spc2': (1e-3, 256, 10, 1, 0.5, 'bce', 'Accuracy'),
    'spc1': (1e-3, 256, 10, 1, 0.5, 'bce', 'Accuracy'),
}
# dataset -> (weighted sampling size or None, augmentation, SpecAug time/freq, multilabel,
#             fbank mean, fbank std), the remaining rows of Table 10
TABLE10_DATA = {
    'as2m': (200000, 'R', (192, 48), True, -4.268, 4.569),
    'as20k': (None, 'R', (192, 48), True, -4.268, 4.569),
    'vggsound': (200000, 'R+N', (192, 48), False, -5.189, 3.260),
    'esc50': (None, 'R', (96, 24), False, -6.627, 5.359),
    'spc2': (None, 'R+N', (48, 48), False, -6.702, 5.448),
    'spc1': (None, 'R+N', (48, 48), False, -6.702, 5.448),
}
# Table 10 †: ViT-S fine-tunes at a larger lr (AS-2M 5e-4, AS-20K 2e-3); ViT-L keeps ViT-B's.
VIT_S_LR = {'as2m': 5e-4, 'as20k': 2e-3}
ARCH = {'vit-small-p16': 's', 'vit-base-p16': 'b', 'vit-large-p16': 'l'}
CLASSIFIER_CONFIGS = sorted(p for p in glob.glob(osp.join(CFG_DIR, '*.py'))
                            if not p.endswith('-ret.py'))
FINETUNE_CONFIGS = sorted(p for p in glob.glob(osp.join(CFG_DIR, '*.py'))
                          if 'zeroshot' not in p)
MODALITIES = {'a': 'audio', 'v': 'video', 'av': 'audio_video'}


def parse_name(name):
    """``{backbone}_{pre-training}_{N}xb{M}-coslr-{E}e_{dataset}-{a|v|av}.py`` → its fields."""
    backbone, pretrain, schedule, task = name[:-3].split('_')
    gpus, rest = schedule.split('xb')
    per_gpu, _, epochs = rest.split('-')
    dataset, modality = task.split('-')
    return dict(backbone=backbone, pretrain=pretrain, gpus=int(gpus), per_gpu=int(per_gpu),
                epochs=int(epochs[:-1]), dataset=dataset, modality=MODALITIES[modality])


def test_every_table10_column_and_modality_has_a_config():
    names = [osp.basename(p) for p in CLASSIFIER_CONFIGS]
    assert all(n.split('_', 1)[0] in ARCH for n in names), names
    names = [n for n in names if n.startswith(PREFIX)]
    tasks = {(parse_name(n)['dataset'], parse_name(n)['modality']) for n in names}
    for ds in ('as2m', 'as20k', 'vggsound'):
        for mod in ('audio', 'video', 'audio_video'):
            assert (ds, mod) in tasks
    for ds in ('esc50', 'spc1', 'spc2'):
        assert (ds, 'audio') in tasks
    for ds in ('msrvtt', 'youcook'):
        assert osp.isfile(osp.join(CFG_DIR, f'{PREFIX}8xb8-coslr-10e_{ds}-ret.py'))
        assert osp.isfile(osp.join(CFG_DIR, f'{PREFIX}zeroshot_{ds}-ret.py'))


@pytest.mark.parametrize('path', CLASSIFIER_CONFIGS, ids=osp.basename)
def test_table10_numbers(path):
    fields = parse_name(osp.basename(path))
    ds = fields['dataset']
    lr, batch, epochs, warmup, mixup, loss, metric = TABLE10[ds]
    arch = ARCH[fields['backbone']]
    if arch == 's':
        lr = VIT_S_LR[ds]
    cfg = Config.fromfile(path)
    for branch in ('audio', 'video'):
        if cfg.model.get(f'{branch}_backbone'):
            assert cfg.model[f'{branch}_backbone'].get('arch') == arch
    assert fields['gpus'] * fields['per_gpu'] == batch
    assert cfg.train_dataloader.batch_size == fields['per_gpu']
    assert fields['epochs'] == epochs and cfg.model.modality == fields['modality']
    assert cfg.model.init_cfg is not None or \
        cfg.model.audio_backbone.init_cfg.type == 'Pretrained'  # fine-tunes from a checkpoint
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.95)
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-5
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)
    assert cfg.train_cfg.max_epochs == epochs
    warm, cosine = cfg.param_scheduler
    assert warm.end == warmup and cosine.begin == warmup and cosine.end == epochs
    assert cosine.eta_min == 1e-6
    assert cfg.data_preprocessor.get('mixup_prob', 0.) == mixup  # a rate (issue 11 §1)
    assert cfg.model.head.loss == loss and cfg.val_evaluator.type == metric
    mod = cfg.model.modality
    for branch in ('audio', 'video'):
        backbone = cfg.model.get(f'{branch}_backbone')
        if branch in mod:
            assert backbone.drop_path_rate == 0.1
            assert tuple(cfg.model[f'{branch}_mask_ratios']) == (0.2, 0.2)
        else:
            assert backbone is None
    custom = cfg.optim_wrapper.paramwise_cfg.get('custom_keys', {})
    if mod == 'audio_video':
        assert cfg.model.fusion.num_layers == 3 and cfg.model.fusion.drop_path_rate == 0.1
        assert custom == {'video_backbone.': dict(lr_mult=0.5)}
    else:
        assert 'video_backbone.' not in custom
    check_table10_data(cfg, ds, mixup)
    if 'video' in mod:  # Table 11: 10 clips at test time
        clips = [t for t in cfg.test_dataloader.dataset.pipeline
                 if t['type'] == 'SampleVideoFrames']
        assert clips[0]['num_clips'] == 10
    else:
        assert not any(t['type'].startswith('Video') or t['type'] == 'SampleVideoFrames'
                       for t in cfg.train_dataloader.dataset.get(
                           'pipeline', cfg.train_dataloader.dataset.get('datasets', [{}])[0]
                           .get('pipeline', [])))


def _train_pipeline(cfg):
    dataset = cfg.train_dataloader.dataset
    return dataset.get('pipeline') or dataset.datasets[0].pipeline


def check_table10_data(cfg, ds, mixup):
    weighted, aug, specaug, multilabel, mean, std = TABLE10_DATA[ds]
    # Appendix B: BCE for multi-label data or with mixup, CE otherwise
    assert cfg.model.head.loss == ('bce' if multilabel or mixup > 0 else 'ce')
    sampler = cfg.train_dataloader.sampler
    if weighted:
        assert sampler.type == 'DistributedWeightedSampler' and sampler.num_samples == weighted
    else:
        assert sampler.type == 'DefaultSampler' and sampler.shuffle
    if 'audio' not in cfg.model.modality:
        return  # the audio augmentation rows do not apply to video-only fine-tuning
    recipe = audio_recipe(cfg, _train_pipeline(cfg))
    # R: random start with cyclic rolling, with magnitude augmentation (§4.3)
    assert recipe['magnitude_aug']
    # N: 20 dB noise on the spectrogram
    assert recipe['noise_snr_db'] == (20 if 'N' in aug else None)
    assert recipe['specaug'] == specaug and recipe['stats'] == (mean, std)
    # mixup is a rate with Beta(10, 10) draws, on waveforms: the fbank is then on the device
    assert recipe['mixup'] == ((mixup, 10.) if mixup else (0., 10.))
    assert recipe['device'] == (mixup > 0)
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    assert audio_recipe(cfg, test_pipeline)['stats'] == (mean, std)
    test_steps = {t['type'] for t in test_pipeline}
    assert not test_steps & {'SpecAugment', 'SpectrogramNoise', 'AudioRandomRoll'}


def test_av_config_builds_the_half_lr_video_group_with_layer_decay():
    from mmengine.optim import build_optim_wrapper

    from mavilkit.registry import MODELS
    from mavilkit.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{PREFIX}8xb8-coslr-60e_as20k-av.py'))
    model_cfg = dict(cfg.model, init_cfg=None)
    tiny = dict(arch='tiny')  # the real ViT-B structure is the same, only smaller
    model_cfg['audio_backbone'] = dict(model_cfg['audio_backbone'], **tiny)
    model_cfg['video_backbone'] = dict(model_cfg['video_backbone'], **tiny)
    model = MODELS.build(model_cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lrs[p] = group['lr']
    depth = 2  # the tiny ViT's blocks
    for n, p in model.named_parameters():
        # MAE's layer-wise decay written out: embeddings 0, blocks.i → i + 1, final norm
        # depth + 1; scale rate ** (depth + 1 − layer) inside the encoders, 1 outside.
        branch, _, rest = n.partition('.')
        if branch in ('audio_backbone', 'video_backbone'):
            first = rest.split('.')[0]
            layer = (0 if first in ('cls_token', 'pos_embed', 'patch_embed') else
                     int(rest.split('.')[1]) + 1 if first == 'blocks' else depth + 1)
            decay = 0.75**(depth + 1 - layer)
        else:
            decay = 1.
        half = 0.5 if branch == 'video_backbone' else 1.
        assert lrs[p] == pytest.approx(1e-3 * half * decay), n


# config → paper number of its README row (Tables 6-9, MAViL stage-2 row; None: not in the paper)
PAPER = {
    '8xb8-coslr-60e_as20k-a': 40.7, '8xb8-coslr-60e_as20k-v': 24.1,
    '8xb8-coslr-60e_as20k-av': 44.3, '64xb8-coslr-100e_as2m-a': 48.4,
    '64xb8-coslr-100e_as2m-v': 30.2, '64xb8-coslr-100e_as2m-av': 53.1,
    '32xb8-coslr-60e_vggsound-a': 60.8, '32xb8-coslr-60e_vggsound-v': 50.9,
    '32xb8-coslr-60e_vggsound-av': 67.1, '4xb16-coslr-60e_esc50-a': 94.3,
    '4xb64-coslr-10e_spc1-a': 97.4, '4xb64-coslr-10e_spc2-a': None,
    '8xb8-coslr-10e_msrvtt-ret': 22.2, '8xb8-coslr-10e_youcook-ret': 31.3,
    'zeroshot_msrvtt-ret': None, 'zeroshot_youcook-ret': None,
}


# the encoder-size ablation (Table 5e, AS-20K) and Table 10 †
PAPER_OTHER_SIZES = {
    'vit-small-p16_mavil-s2-as2m-pre_8xb8-coslr-60e_as20k-a.py': 36.2,
    'vit-small-p16_mavil-s2-as2m-pre_8xb8-coslr-60e_as20k-v.py': 20.5,
    'vit-small-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-a.py': None,
    'vit-large-p16_mavil-s2-as2m-pre_8xb8-coslr-60e_as20k-a.py': 41.8,
    'vit-large-p16_mavil-s2-as2m-pre_8xb8-coslr-60e_as20k-v.py': 25.2,
    # Table 9, MAViL pre-trained on HowTo100M
    'vit-base-p16_mavil-s2-ht100m-pre_8xb8-coslr-10e_msrvtt-ret.py': 23.5,
    'vit-base-p16_mavil-s2-ht100m-pre_8xb8-coslr-10e_youcook-ret.py': 33.0,
}


def test_readme_maps_every_benchmark_config_to_its_table_cell():
    on_disk = {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))}
    papers = {**{f'{PREFIX}{k}.py': v for k, v in PAPER.items()}, **PAPER_OTHER_SIZES}
    assert on_disk == set(papers)
    with open(osp.join(CFG_DIR, 'README.md'), encoding='utf-8') as f:
        rows = {line.split('`')[1]: line for line in f if line.startswith('| `')}
    assert set(rows) == on_disk
    for name, number in papers.items():
        row = rows[name]
        cells = [c.strip() for c in row.strip().strip('|').split('|')]
        assert cells[2] == ('not reported' if number is None else str(number)), row


def test_named_fbank_statistics_are_table10s():
    """The config's named statistics are Table 10's and the library's defaults."""
    from mavilkit.datasets.transforms.audio import FBANK_STATS
    stats = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', 'av_transforms.py')).fbank_stats
    table10 = {'audioset': (-4.268, 4.569), 'vggsound': (-5.189, 3.260),
               'esc50': (-6.627, 5.359), 'speechcommands': (-6.702, 5.448)}
    for name, (mean, std) in table10.items():
        assert (stats[name].mean, stats[name].std) == (mean, std) == FBANK_STATS[name]


@pytest.mark.parametrize('path', FINETUNE_CONFIGS, ids=osp.basename)
def test_layer_decay_is_one_documented_line_of_each_finetuning_config(path):
    """The paper is silent on layer-wise lr decay; every fine-tuning config fine-tunes with
    Audio-MAE's 0.75 and says so in its own file, unless it derives from another benchmark
    config that does (then it inherits the line)."""
    cfg = Config.fromfile(path)
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.75
    with open(path, encoding='utf-8') as f:
        text = f.read()
    bases = next(ast.literal_eval(node.value) for node in ast.parse(text).body
                 if isinstance(node, ast.Assign) and node.targets[0].id == '_base_')
    from_benchmark = any(osp.dirname(osp.abspath(osp.join(osp.dirname(path), b))) == CFG_DIR
                         for b in bases)
    if not from_benchmark:
        lines = [line for line in text.splitlines() if 'layer_decay_rate=0.75' in line]
        assert len(lines) == 1 and '#' in lines[0] and 'Audio-MAE' in lines[0], lines
