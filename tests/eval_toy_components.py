"""A fixed-prediction model and an index dataset for the distributed evaluation tests only."""
import torch
from mmengine.dataset import BaseDataset
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from mavilkit.registry import DATASETS, MODELS

NUM_CLASSES = 5


def toy_table(num_samples):
    """Fixed scores, labels and embeddings per sample index (also used by the test)."""
    g = torch.Generator().manual_seed(7)
    scores = torch.rand(num_samples, NUM_CLASSES, generator=g)
    labels = [torch.tensor([i % NUM_CLASSES, (3 * i + 1) % NUM_CLASSES]).unique()
              for i in range(num_samples)]
    audio = torch.randn(num_samples, 8, generator=g)
    video = audio + 1.2 * torch.randn(num_samples, 8, generator=g)
    return scores, labels, audio, video


@DATASETS.register_module()
class ToyIndexDataset(BaseDataset):
    def __init__(self, num_samples=7, **kwargs):
        self.num_samples = num_samples
        super().__init__(serialize_data=False, lazy_init=False, **kwargs)

    def load_data_list(self):
        return [dict(index=i) for i in range(self.num_samples)]

    def prepare_data(self, idx):
        return dict(inputs=torch.tensor(idx))


@MODELS.register_module()
class ToyLookupModel(BaseModel):
    """Predicts from a fixed table by sample index, like a classifier's ``predict`` mode."""

    def __init__(self, num_samples=7, with_clip_index=True, **kwargs):
        super().__init__(**kwargs)
        self.table = toy_table(num_samples)
        self.with_clip_index = with_clip_index
        self.dummy = torch.nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        scores, labels, audio, video = self.table
        outputs = []
        for index in inputs:
            i = int(index)
            sample = BaseDataElement(pred_score=scores[i], gt_label=labels[i],
                                     audio_embedding=audio[i], video_embedding=video[i])
            if self.with_clip_index:
                sample.set_metainfo(dict(clip_index=i))
            outputs.append(sample)
        return outputs
