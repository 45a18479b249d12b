"""The python blocks of docs/en/advanced_guides/add_target_generator.md run as written."""
import os.path as osp
import re

import pytest
import torch

from mavilkit.registry import MODELS

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGE = osp.join(REPO, 'docs', 'en', 'advanced_guides', 'add_target_generator.md')


def python_blocks(path):
    with open(path, encoding='utf-8') as f:
        return re.findall(r'^```python\n(.*?)^```', f.read(), flags=re.S | re.M)


def test_add_target_generator_page_runs(monkeypatch):
    blocks = python_blocks(PAGE)
    assert len(blocks) == 3
    # the page registers RandomProjectionTarget; a re-run in one process must not clash
    MODELS._module_dict.pop('RandomProjectionTarget', None)
    monkeypatch.chdir(REPO)
    namespace = {'__name__': 'add_target_generator_doc'}
    torch.manual_seed(0)
    for i, block in enumerate(blocks):
        exec(compile(block, f'{PAGE}:block{i}', 'exec'), namespace)
    # the page's config block selects the class registered by its first block
    assert namespace['model']['target_generator']['type'] == 'RandomProjectionTarget'
    assert MODELS.get('RandomProjectionTarget') is namespace['RandomProjectionTarget']
    # independent check of the targets: patch · Wᵀ, then layer norm without affine
    student, inputs = namespace['student'], namespace['inputs']
    weight = student.target_generator.teacher('video').weight
    patches = student.video_backbone.patchify(inputs['video'])
    raw = patches @ weight.T
    mean = raw.mean(-1, keepdim=True)
    expected = (raw - mean) / torch.sqrt(((raw - mean)**2).mean(-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(student.target_generator(inputs)['video'], expected,
                               rtol=0, atol=1e-5)
