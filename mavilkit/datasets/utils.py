"""Helpers shared by the dataset classes."""
import csv
from typing import Dict, List, Tuple


def read_class_labels_indices(label_file: str) -> Tuple[Dict[str, int], List[str]]:
    """Read AudioSet's ``class_labels_indices.csv`` (``index,mid,display_name``).

    Returns:
        tuple: ``mid -> index`` and the display names in index order.
    """
    with open(label_file, newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != ['index', 'mid', 'display_name']:
        raise ValueError(f'{label_file}: expected the header "index,mid,display_name", '
                         f'got {rows[0] if rows else "an empty file"}')
    mid_to_index, names = {}, []
    for lineno, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != 3:
            raise ValueError(f'{label_file}:{lineno}: expected 3 fields, got {row}')
        try:
            index = int(row[0])
        except ValueError:
            raise ValueError(f'{label_file}:{lineno}: index {row[0]!r} is not an integer')
        if index != len(names):
            raise ValueError(f'{label_file}:{lineno}: indices must be 0, 1, 2, ... in order; '
                             f'expected {len(names)}, got {index}')
        mid_to_index[row[1].strip()] = index
        names.append(row[2].strip())
    return mid_to_index, names


def mids_to_indices(mids: str, mid_to_index: Dict[str, int], where: str) -> List[int]:
    """Turn ``"/m/a,/m/b"`` into sorted class indices; unknown ids raise naming ``where``."""
    indices = []
    for mid in (m.strip() for m in mids.split(',')):
        if not mid:
            continue
        if mid not in mid_to_index:
            raise ValueError(f'{where}: label {mid!r} is not in the label file')
        indices.append(mid_to_index[mid])
    return sorted(set(indices))
