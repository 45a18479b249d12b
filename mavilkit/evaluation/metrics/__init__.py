from .accuracy import Accuracy
from .map import AudioSetMAP, average_precision
from .retrieval import RetrievalRecall, retrieval_ranks

__all__ = ['Accuracy', 'AudioSetMAP', 'average_precision', 'RetrievalRecall', 'retrieval_ranks']
