from .av_classifier import AVClassifier, mean_pool
from .av_retriever import AVRetriever
from .finetune_masking import finetune_ids_keep, grid_masking

__all__ = ['AVClassifier', 'AVRetriever', 'finetune_ids_keep', 'grid_masking', 'mean_pool']
