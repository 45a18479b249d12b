from .av_retriever import AVRetriever

__all__ = ['AVRetriever']
