from .av_classifier import AVClassifier

__all__ = ['AVClassifier']
