"""The bad-file limit judges distinct files, not repeated reads: a real mmengine Runner with 2
persistent DataLoader workers over many epochs. Reads are logged to a file by every worker so
the test counts the decoding attempts itself."""
import os
import re

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mavilkit.datasets.errors import MediaReadError
from mavilkit.utils.setup_env import register_all_modules

register_all_modules()


class _LoggedLoad:
    """Stands in for the media loaders: logs each read; the files named in ``bad`` fail."""

    def __init__(self, log, bad):
        self.log, self.bad = str(log), set(bad)

    def __call__(self, results):
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, (results['filename'] + '\n').encode())  # one write: atomic across workers
        os.close(fd)
        if results['filename'] in self.bad:
            raise MediaReadError(results['filename'], 'moov atom not found')
        return dict(results, audio=np.full((4, 4), results['clip_index'], np.float32))


class _Toy(BaseModel):
    def __init__(self):
        super().__init__(data_preprocessor=dict(type='AVDataPreprocessor'))
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=(self.w - inputs['audio'].mean()) ** 2)


def run(tmp_path, num_clips, num_bad, max_epochs):
    folder = tmp_path / 'clips'
    folder.mkdir()
    (folder / 'labels.csv').write_text('index,mid,display_name\n0,/m/a,A\n')
    names = [f'c{i:03d}' for i in range(num_clips)]
    (folder / 'seg.csv').write_text(''.join(f'{n}, 0.000, 10.000, "/m/a"\n' for n in names))
    for n in names:
        (folder / f'{n}_0_10.mp4').write_bytes(b'')
    bad = [str(folder / f'{names[i]}_0_10.mp4')
           for i in np.linspace(0, num_clips - 1, num_bad).round().astype(int)]
    log = tmp_path / 'reads.log'
    dataset = dict(type='AudioSetDataset', ann_file=str(folder / 'seg.csv'),
                   label_file=str(folder / 'labels.csv'), data_prefix=dict(video=str(folder)),
                   pipeline=[_LoggedLoad(log, bad), dict(type='PackAVInputs')])
    runner = Runner(
        model=_Toy(), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(batch_size=4, num_workers=2, persistent_workers=True,
                              dataset=dataset, sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=[dict(type='BadMediaHook')], randomness=dict(seed=0),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=100)),
        default_scope='mavilkit')
    return runner, bad, log


@pytest.mark.slow
def test_three_percent_unreadable_trains_to_the_end(tmp_path):
    runner, bad, log = run(tmp_path, num_clips=34, num_bad=1, max_epochs=8)  # 2.9 %
    runner.train()
    assert runner.epoch == 8
    reads = log.read_text().split()
    # every epoch draws each clip once; the bad one is decoded once in the whole run, and each
    # of its 8 draws costs one read of its replacement
    assert reads.count(bad[0]) == 1
    assert len(reads) == 8 * 33 + 1 + 8
    assert runner.message_hub.get_info('train/num_bad_media') == 1


@pytest.mark.slow
def test_ten_percent_unreadable_stops_naming_the_files(tmp_path):
    runner, bad, _ = run(tmp_path, num_clips=40, num_bad=4, max_epochs=3)  # 10 %
    with pytest.raises(RuntimeError, match=r'3 of the \d+ distinct clips .* are unreadable, '
                       r'more than max_failure_fraction=0.05') as info:
        runner.train()
    # all three files, whichever worker found them (the reason where this worker saw it)
    named = re.findall(r"'([^']*_0_10\.mp4)'", str(info.value).split('Unreadable files:')[1])
    assert len(named) == 3 and set(named) <= set(bad)
    assert '(moov atom not found)' in str(info.value)
