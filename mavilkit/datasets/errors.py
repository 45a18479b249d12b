"""Errors raised by the data pipeline."""


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
