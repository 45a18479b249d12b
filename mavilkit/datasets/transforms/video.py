"""Video transforms on uint8 frame stacks ``(N, H, W, 3)``; every frame gets the same crop."""
import math
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mavilkit.registry import TRANSFORMS


def _pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def resize_frames(imgs: np.ndarray, size_hw: Tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``(N, H, W, C)`` uint8 frames to ``size_hw`` in one OpenCV call.

    The frames are stacked along the channel axis (OpenCV resizes up to 128 channels per call),
    which avoids a Python loop over frames.
    """
    n, h, w, c = imgs.shape
    if (h, w) == tuple(size_hw):
        return imgs
    stacked = np.ascontiguousarray(imgs.transpose(1, 2, 0, 3).reshape(h, w, n * c))
    chunks = [
        cv2.resize(np.ascontiguousarray(stacked[..., i:i + 120]), (size_hw[1], size_hw[0]),
                   interpolation=cv2.INTER_LINEAR).reshape(size_hw[0], size_hw[1], -1)
        for i in range(0, n * c, 120)
    ]
    out = np.concatenate(chunks, axis=-1)
    return np.ascontiguousarray(out.reshape(size_hw[0], size_hw[1], n, c).transpose(2, 0, 1, 3))


@TRANSFORMS.register_module()
class VideoRandomResizedCrop(BaseTransform):
    """Multi-scale random crop resized to ``size`` (Appendix B: scale (0.2, 1.0), 224×224).

    The crop box follows torchvision's ``RandomResizedCrop`` (area fraction in ``scale``, aspect
    ratio log-uniform in ``ratio``, 10 tries, then a centre crop), and is shared by all frames.

    Required Keys: ``imgs``

    Modified Keys: ``imgs``, ``img_shape``

    Added Keys: ``crop_bbox`` (x1, y1, x2, y2)

    Args:
        size (int | tuple): output (h, w). Defaults to 224.
        scale (tuple): range of the crop area fraction. Defaults to (0.2, 1.0).
        ratio (tuple): range of the aspect ratio. Defaults to (3/4, 4/3).
    """

    def __init__(self, size=224, scale=(0.2, 1.0), ratio=(3. / 4., 4. / 3.)):
        self.size = _pair(size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)

    def crop_box(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """Random crop ``(y, x, crop_h, crop_w)`` for an ``h × w`` frame."""
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            cw = int(round(math.sqrt(target_area * aspect)))
            ch = int(round(math.sqrt(target_area / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return np.random.randint(0, h - ch + 1), np.random.randint(0, w - cw + 1), ch, cw
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            cw, ch = w, int(round(w / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            ch, cw = h, int(round(h * max(self.ratio)))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        y, x, ch, cw = self.crop_box(*imgs.shape[1:3])
        results['imgs'] = resize_frames(imgs[:, y:y + ch, x:x + cw], self.size)
        results['img_shape'] = self.size
        results['crop_bbox'] = (x, y, x + cw, y + ch)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, ' \
               f'ratio={self.ratio})'


@TRANSFORMS.register_module()
class VideoFlip(BaseTransform):
    """Horizontal flip of all frames with probability ``flip_ratio`` (Appendix B: 0.5).

    Required Keys: ``imgs``

    Modified Keys: ``imgs``

    Added Keys: ``flip``

    Args:
        flip_ratio (float): flip probability. Defaults to 0.5.
    """

    def __init__(self, flip_ratio: float = 0.5):
        self.flip_ratio = flip_ratio

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.flip_ratio)
        if flip:
            results['imgs'] = np.ascontiguousarray(results['imgs'][:, :, ::-1])
        results['flip'] = flip
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(flip_ratio={self.flip_ratio})'


@TRANSFORMS.register_module()
class VideoResizeCenterCrop(BaseTransform):
    """Test-time view: resize the short side to ``short_side``, then centre-crop ``size``.

    No augmentation (Appendix B). ``short_side`` defaults to the crop size, so the crop keeps
    the whole short side of the frame.

    Required Keys: ``imgs``

    Modified Keys: ``imgs``, ``img_shape``

    Args:
        size (int | tuple): crop (h, w). Defaults to 224.
        short_side (int, optional): short side after resizing. Defaults to ``max(size)``.
    """

    def __init__(self, size=224, short_side=None):
        self.size = _pair(size)
        self.short_side = short_side or max(self.size)

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        scale = self.short_side / min(h, w)
        new_h, new_w = max(int(round(h * scale)), self.size[0]), max(int(round(w * scale)),
                                                                     self.size[1])
        imgs = resize_frames(imgs, (new_h, new_w))
        y, x = (new_h - self.size[0]) // 2, (new_w - self.size[1]) // 2
        results['imgs'] = np.ascontiguousarray(imgs[:, y:y + self.size[0], x:x + self.size[1]])
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size}, short_side={self.short_side})'
