from .gather import all_gather_with_grad, dist_rank_and_world_size
from .infonce import InfoNCELoss, contrastive_accuracy
from .reconstruction import MaskedReconstructionLoss

__all__ = [
    'InfoNCELoss', 'MaskedReconstructionLoss', 'all_gather_with_grad', 'contrastive_accuracy',
    'dist_rank_and_world_size'
]
