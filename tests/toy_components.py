"""A toy model and dataset registered for the foundation tests only (mavilkit ships no toys)."""
import random

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn

from mavilkit.datasets import BaseAVDataset
from mavilkit.registry import DATASETS, HOOKS, MODELS


@DATASETS.register_module()
class ToyRegressionDataset(BaseDataset):
    """``y = x @ w + 1`` on fixed random inputs."""

    def __init__(self, num_samples=32, **kwargs):
        self.num_samples = num_samples
        super().__init__(serialize_data=False, lazy_init=False, **kwargs)

    def load_data_list(self):
        g = torch.Generator().manual_seed(123)
        x = torch.randn(self.num_samples, 4, generator=g)
        y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 1.0
        return [dict(inputs=x[i], target=y[i]) for i in range(self.num_samples)]


@MODELS.register_module()
class ToyRegressor(BaseModel):
    """Linear regression whose inputs get random noise, so it consumes the global torch RNG."""

    def __init__(self, noise=0.1, **kwargs):
        super().__init__(**kwargs)
        self.linear = nn.Linear(4, 1)
        self.noise = noise

    def forward(self, inputs, target=None, mode='tensor', **unused):
        inputs = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        if self.training:
            inputs = inputs + self.noise * torch.randn_like(inputs)
        pred = self.linear(inputs).squeeze(-1)
        if mode == 'loss':
            target = torch.stack(target) if isinstance(target, (list, tuple)) else target
            return dict(loss_mse=((pred - target) ** 2).mean())
        return pred


@HOOKS.register_module()
class CrashAfterEpochHook(Hook):
    """Kills the run right after the checkpoint of ``epoch`` is written (a simulated crash)."""

    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:  # runner.epoch is 0-based until the epoch ends
            raise RuntimeError(f'simulated crash after epoch {self.epoch}')


@DATASETS.register_module()
class ToyAugmentedDataset(BaseAVDataset):
    """The regression pairs of ``ToyRegressionDataset`` with a random augmentation drawn in the
    dataloader workers from NumPy, ``random`` and torch, as crops, flips and rolls are."""

    def __init__(self, num_samples=32, **kwargs):
        self.num_samples = num_samples
        super().__init__(ann_file='', pipeline=[_augment], **kwargs)

    def load_data_list(self):
        g = torch.Generator().manual_seed(123)
        x = torch.randn(self.num_samples, 4, generator=g)
        y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 1.0
        return [dict(inputs=x[i], target=y[i]) for i in range(self.num_samples)]


def _augment(results):
    noise = 0.1 * (torch.from_numpy(np.random.normal(size=4)).float() + random.gauss(0., 1.)
                   + torch.randn(4))
    return dict(inputs=results['inputs'] + noise, target=results['target'])
