"""Draw MAViL's reconstructions of media files from a checkpoint, in the layout of Fig. 3.

For each clip: the original fbank, the masked fbank (removed patches grey) and the
reconstruction (by default with the visible patches pasted back, as in Fig. 3), then the same
three rows for the video frames. Axes: time in seconds and mel bin for the spectrograms; the
time of each frame in the clip for the video. The panels come from
:func:`mavilkit.visualization.reconstruction_panels`, the code that also draws the
``ReconstructionVisualizationHook``'s TensorBoard images.

Usage::

    python tools/analysis/visualize_reconstruction.py configs/demo/mavil-s1_demo.py \\
        work_dirs/mavil-s1_demo/epoch_30.pth data/demo/eval/CLIP.mp4 --out fig.png \\
        [--mask-ratio 0.7] [--seed 0] [--no-paste-visible]

The model must reconstruct its inputs (a stage-1 MAViL with raw targets); the media go through
the config's test pipeline. With several media files, ``fig.png`` becomes ``fig_0.png``,
``fig_1.png`` ...
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config of a stage-1 MAViL (raw targets)')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('media', nargs='+', help='video files (with audio)')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--mask-ratio', type=float, default=None,
                        help="fraction of tokens removed (default: the model's; Fig. 3: 0.7)")
    parser.add_argument('--seed', type=int, default=0, help='seed of the random masking')
    parser.add_argument('--no-paste-visible', action='store_true',
                        help='show the raw decoder output at the visible patches too')
    parser.add_argument('--dpi', type=int, default=100)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def _fbank_shift_s(model) -> float:
    from mavilkit.apis.inference import _test_dataset_cfg
    for t in _test_dataset_cfg(model.cfg).get('pipeline', []):
        if t.get('type') == 'AudioFbank':
            return float(t.get('frame_shift', 10.)) / 1000.
    return 0.01


def draw_clip(recs, index: int, frame_times: Optional[np.ndarray], fbank_shift: float,
              paste_visible: bool, video_mean, video_std, title: str = ''):
    """A matplotlib figure of clip ``index``: 3 spectrogram rows, then 3 rows of frames."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mavilkit.visualization import reconstruction_panels
    audio = reconstruction_panels(recs['audio'], index, 'audio', paste_visible)
    video = reconstruction_panels(recs['video'], index, 'video', paste_visible, video_mean,
                                  video_std)
    frames = video.original.shape[0]
    if frame_times is None:
        frame_times = np.arange(frames, dtype=np.float64)
        frame_unit = 'frame'
    else:
        frame_times = np.asarray(frame_times, dtype=np.float64).reshape(-1)[:frames]
        frame_unit = 's'
    rows = ('original', 'masked', 'reconstruction' + (' + visible' if paste_visible else ''))
    fig = plt.figure(figsize=(max(8., 1.3 * frames), 9.), dpi=100)
    grid = fig.add_gridspec(6, frames, height_ratios=[1.2] * 3 + [1.] * 3, hspace=0.6,
                            wspace=0.05)
    cmap = plt.get_cmap('viridis').with_extremes(bad='0.5')
    vmin, vmax = float(np.nanmin(audio.original)), float(np.nanmax(audio.original))
    seconds = audio.original.shape[0] * fbank_shift
    for r, (name, spec) in enumerate(zip(rows, audio)):
        ax = fig.add_subplot(grid[r, :])
        ax.imshow(np.ma.masked_invalid(spec.T), origin='lower', aspect='auto', cmap=cmap,
                  vmin=vmin, vmax=vmax, extent=(0., seconds, -0.5, spec.shape[1] - 0.5),
                  interpolation='nearest')
        ax.set_ylabel('mel bin')
        ax.set_title(f'audio: {name}', fontsize=9, loc='left')
        if r == 2:
            ax.set_xlabel('time (s)')
    for r, (name, clip) in enumerate(zip(rows, video)):
        for k in range(frames):
            ax = fig.add_subplot(grid[3 + r, k])
            ax.imshow(clip[k])
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(f'video:\n{name.split(" ")[0]}', fontsize=8)
            if r == 2:
                value = frame_times[k]
                ax.set_xlabel(f'{value:.1f} s' if frame_unit == 's' else f'frame {int(value)}',
                              fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    from mavilkit.apis import init_model, prepare_inputs
    model = init_model(args.config, args.checkpoint, device=args.device)
    target_generator = getattr(model, 'target_generator', None)
    if getattr(target_generator, 'target_space', None) != 'input' or \
            not hasattr(model, 'reconstruct'):
        raise ValueError(f'{args.config}: the model does not reconstruct its inputs (target '
                         f'generator {type(target_generator).__name__}); use a stage-1 MAViL '
                         'config with raw targets')
    data = prepare_inputs(model, args.media)
    torch.manual_seed(args.seed)
    recs = model.reconstruct(data['inputs'], mask_ratio=args.mask_ratio)
    prep = model.data_preprocessor
    mean = tuple(prep.mean.flatten().tolist()) if hasattr(prep, 'mean') else None
    std = tuple(prep.std.flatten().tolist()) if hasattr(prep, 'std') else None
    kwargs = dict(video_mean=mean, video_std=std) if mean is not None else {}
    paths = []
    stem, ext = osp.splitext(args.out)
    ratio = args.mask_ratio if args.mask_ratio is not None else model.mask_ratio
    for k, media in enumerate(args.media):
        sample = data['data_samples'][k]
        frame_times = sample.metainfo.get('frame_times')
        fig = draw_clip(recs, k, frame_times, _fbank_shift_s(model), not args.no_paste_visible,
                        kwargs.get('video_mean', (123.675, 116.28, 103.53)),
                        kwargs.get('video_std', (58.395, 57.12, 57.375)),
                        title=f'{osp.basename(str(media))}: {ratio:.0%} of the tokens masked')
        out = args.out if len(args.media) == 1 else f'{stem}_{k}{ext}'
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        fig.savefig(out, dpi=args.dpi, bbox_inches='tight')
        import matplotlib.pyplot as plt
        plt.close(fig)
        paths.append(out)
        print(f'wrote {out}')
    return paths


if __name__ == '__main__':
    main()
