"""Errors raised by the data pipeline."""
from typing import Optional


class MediaReadError(RuntimeError):
    """A media file could not be read or decoded.

    Loading transforms raise it (never a decoder's own exception) so that
    :class:`~mavilkit.datasets.BaseAVDataset` can tell an unreadable clip, which it replaces by
    another sample and counts, from a bug in the pipeline, which must surface.

    Args:
        path (str): the file that failed.
        reason (str): what went wrong.
    """

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f'{path}: {reason}')

    def __reduce__(self):  # keep (path, reason) when sent back from a DataLoader worker
        return self.__class__, (self.path, self.reason)


class MissingStreamError(MediaReadError):
    """The file opens but holds no stream of ``modality`` (``'audio'`` or ``'video'``).

    A :class:`MediaReadError`, so a dataset treats it as an unreadable file unless its
    ``missing_modality`` option says otherwise.
    """

    def __init__(self, path: str, modality: str, reason: Optional[str] = None):
        self.modality = modality
        super().__init__(path, reason or f'no {modality} stream')

    def __reduce__(self):
        return self.__class__, (self.path, self.modality, self.reason)
