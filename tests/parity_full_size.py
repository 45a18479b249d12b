"""Converter parity at full size: seeded ViT-B checkpoints in each foreign layout, converted with
the converters' command lines against the configs that ship with mavilkit, compared with the
plain-PyTorch references of ``tests/foreign_models.py``. Prints the maximum absolute difference
of every compared output (fp32).

    python tests/parity_full_size.py [--device cpu] [--only release audio_mae ...]

The references are the in-test re-implementations written from the sources' descriptions, not
the original repositories' code (which is not run here).
``tests/test_tools/test_model_converters.py`` checks the same mappings on small models within 1e-5.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
for path in (REPO, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

import foreign_models as ref  # noqa: E402
from tool_helpers import load_tool  # noqa: E402

D, DEPTH, HEADS = 768, 12, 12
RELEASE_PRE = 'configs/mavil/mavil-release_vit-b-p16_vanilla2_as2m.py'
RELEASE_FT = 'configs/mavil/mavil-release_vit-b-p16_as2m-ft-av.py'
STAGE1 = 'configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
AUDIO_FT = 'configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-a.py'
CAVMAE = 'configs/mavil/mavil-cavmae_vit-b-p16_shared1_as2m.py'


def build(config, ckpt, device):
    from mmengine.config import Config

    from mavilkit.apis.inference import _without_init_cfg
    from mavilkit.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, config))
    model = MODELS.build(_without_init_cfg(cfg.model))
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    return model.to(device).eval()


def diff(got, want):
    return float((got.float().cpu() - want.float().cpu()).abs().max())


def convert(tool, weights, tmp, name, *args, config):
    src, dst = osp.join(tmp, f'{name}.pth'), osp.join(tmp, f'{name}_mavilkit.pth')
    torch.save({'model': ref.as_state(weights)}, src)
    load_tool(f'tools/model_converters/{tool}.py').main([src, dst, '--config',
                                                        osp.join(REPO, config), *args])
    return dst


def to(device, p):
    return {k: v.to(device) for k, v in p.items()}


def inputs(device, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(1, 1, 1024, 128, generator=g).to(device),
            torch.randn(1, 3, 8, 224, 224, generator=g).to(device))


@torch.no_grad()
def check_release(tmp, device):
    out = {}
    audio, video = inputs(device)
    p = ref.release_weights(1, D, DEPTH, 2, (16, 16), 512, (2, 16, 16), 784, 'pretrain')
    model = build(RELEASE_PRE, convert('mavil_release', p, tmp, 'release_pre', config=RELEASE_PRE),
                  device)
    want = ref.release_forward(to(device, p), audio, video, DEPTH, 2, HEADS)
    feats = model.extract_feat(dict(audio=audio, video=video))
    out['release pre-trained: audio encoder tokens'] = diff(model.audio_backbone(audio),
                                                            want['audio'])
    out['release pre-trained: video encoder tokens'] = diff(model.video_backbone(video),
                                                            want['video'])
    out['release pre-trained: fused audio tokens'] = diff(feats['audio_fused'],
                                                          want['audio_fused'][:, 1:])
    out['release pre-trained: fused video tokens'] = diff(feats['video_fused'],
                                                          want['video_fused'][:, 1:])
    del model
    p = ref.release_weights(2, D, DEPTH, 3, (16, 16), 512, (2, 16, 16), 784, 'ft_av',
                            num_classes=527)
    model = build(RELEASE_FT, convert('mavil_release', p, tmp, 'release_ft', config=RELEASE_FT),
                  device)
    want = ref.release_forward(to(device, p), audio, video, DEPTH, 3, HEADS)
    out['release A+V fine-tuned: logits (527)'] = diff(
        model(dict(audio=audio, video=video), mode='tensor'), want['logits'])
    return out


@torch.no_grad()
def check_audio_mae(tmp, device):
    out = {}
    audio, _ = inputs(device, 1)
    p = ref.mae_weights(3, D, DEPTH, 1, (16, 16), 512,
                        decoder=dict(dims=512, depth=8, out=256))
    model = build(STAGE1, convert('audio_mae', p, tmp, 'amae_pre', config=STAGE1), device)
    g = torch.Generator().manual_seed(0)
    shuffle = torch.argsort(torch.rand(1, 512, generator=g), dim=1)
    ids_keep, ids_restore = shuffle[:, :102].to(device), torch.argsort(shuffle, 1).to(device)
    pd = to(device, p)
    latent = model.audio_backbone(audio, ids_keep)
    out['Audio-MAE pre-trained: encoder tokens (80 % masked)'] = diff(
        latent, ref.mae_encoder(pd, audio, DEPTH, HEADS, ids_keep))
    out['Audio-MAE pre-trained: decoder predictions'] = diff(
        model.audio_decoder(latent, ids_restore),
        ref.mae_decoder(pd, latent, ids_restore, 8, 16))
    del model
    p = ref.mae_weights(4, D, DEPTH, 1, (16, 16), 512, finetuned=True, num_classes=527)
    model = build(AUDIO_FT, convert('audio_mae', p, tmp, 'amae_ft', config=AUDIO_FT), device)
    pd = to(device, p)
    tokens = ref.mae_encoder(pd, audio, DEPTH, HEADS, final_norm=False)
    want = ref.linear(ref.ln(pd, 'fc_norm', tokens[:, 1:].mean(1)), pd, 'head')
    out['Audio-MAE fine-tuned: logits (527)'] = diff(model(dict(audio=audio), mode='tensor'),
                                                     want)
    return out


@torch.no_grad()
def check_imagenet_mae(tmp, device):
    # the image grid (14 x 14) is kept on both targets so that the position code is the image's:
    # audio 224 x 224 one-channel, video 2 frames of 224 x 224
    p = ref.mae_weights(5, D, DEPTH, 3, (16, 16), 196)
    cfg = osp.join(tmp, 'imagenet_cfg.py')
    with open(cfg, 'w') as f:
        f.write(f"_base_ = ['{osp.join(REPO, STAGE1)}']\n"
                "model = dict(audio_backbone=dict(input_size=(224, 224)),\n"
                "             video_backbone=dict(input_size=(2, 224, 224), init_cfg=None))\n")
    src, dst = osp.join(tmp, 'mae.pth'), osp.join(tmp, 'mae_mavilkit.pth')
    torch.save({'model': ref.as_state(p)}, src)
    load_tool('tools/model_converters/imagenet_mae.py').main(
        [src, dst, '--config', cfg, '--video-pos', 'checkpoint'])
    model = build(cfg, dst, device)
    g = torch.Generator().manual_seed(2)
    image = torch.randn(1, 3, 224, 224, generator=g).to(device)
    grey = torch.randn(1, 1, 224, 224, generator=g).to(device)
    pd = to(device, p)
    return {
        'ImageNet MAE -> VideoViT: tokens of a static clip': diff(
            model.video_backbone(image.unsqueeze(2).repeat(1, 1, 2, 1, 1)),
            ref.mae_encoder(pd, image, DEPTH, HEADS)),
        'ImageNet MAE -> AudioViT: tokens of a grey image': diff(
            model.audio_backbone(grey), ref.mae_encoder(pd, grey.repeat(1, 3, 1, 1), DEPTH, HEADS)),
    }


@torch.no_grad()
def check_cav_mae(tmp, device):
    # one frame -> a static clip of 2 frames (one time step): the shared layer attends over audio
    # and video tokens together, so the video must not be repeated over several time steps
    p = ref.cavmae_weights(6, D, 11, 1, (8, 64), 196)
    cfg = osp.join(tmp, 'cav_cfg.py')
    with open(cfg, 'w') as f:
        f.write(f"_base_ = ['{osp.join(REPO, CAVMAE)}']\n"
                "model = dict(video_backbone=dict(input_size=(2, 224, 224)))\n")
    model = build(cfg, convert('cav_mae', p, tmp, 'cav', config=cfg), device)
    g = torch.Generator().manual_seed(3)
    fbank = torch.randn(1, 1024, 128, generator=g).to(device)
    image = torch.randn(1, 3, 224, 224, generator=g).to(device)
    want_a, want_v = ref.cavmae_forward(to(device, p), fbank, image, 11, 1, HEADS)
    a = model.audio_backbone.embed(fbank.unsqueeze(1))
    v = model.video_backbone.embed(image.unsqueeze(2).repeat(1, 1, 2, 1, 1))
    for blk in model.audio_backbone.blocks:
        a = blk(a)
    for blk in model.video_backbone.blocks:
        v = blk(v)
    x = torch.cat([a, v], 1)
    for blk in model.neck.blocks:
        x = blk(x)
    got_a, got_v = model.neck.norm_audio(x[:, :512]), model.neck.norm_video(x[:, 512:])
    order = torch.tensor([f * 64 + t for t in range(64) for f in range(8)], device=device)
    return {
        'CAV-MAE (no CLS): joint audio tokens': diff(got_a, want_a[:, order]),
        'CAV-MAE (no CLS): joint video tokens': diff(got_v, want_v),
    }


CHECKS = dict(release=check_release, audio_mae=check_audio_mae, imagenet_mae=check_imagenet_mae,
              cav_mae=check_cav_mae)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--only', nargs='+', choices=sorted(CHECKS), default=sorted(CHECKS))
    args = parser.parse_args(argv)
    from mavilkit.utils import register_all_modules
    register_all_modules()
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 everywhere
    torch.backends.cudnn.allow_tf32 = False
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            start = time.time()
            results.update(CHECKS[name](tmp, args.device))
            print(f'[{name}: {time.time() - start:.0f} s]', file=sys.stderr)
    width = max(map(len, results))
    print(f'{"output":<{width}}  max |mavilkit - reference|')
    for name, value in results.items():
        print(f'{name:<{width}}  {value:.2e}')
    return results


if __name__ == '__main__':
    os.chdir(REPO)
    main()
