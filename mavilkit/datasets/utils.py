"""Helpers shared by the dataset classes."""
import csv
import re
from typing import Dict, Iterator, List, Tuple

#: Byte-order marks that editors put at the start of a text file, and their encodings.
_BOMS = ((b'\xef\xbb\xbf', 'utf-8-sig'), (b'\xff\xfe', 'utf-16'), (b'\xfe\xff', 'utf-16'))


def read_annotation_text(path: str) -> str:
    """The text of an annotation file as editors and spreadsheets save it.

    Decoded as UTF-8, or as the encoding named by a leading byte-order mark (UTF-8 BOM as
    written by spreadsheets, UTF-16 as written by "Unicode text" exports), with the mark removed.
    Line ends (``\\n``, ``\\r\\n``, ``\\r``) all become ``\\n`` and trailing whitespace (spaces,
    tabs, no-break spaces) is removed from every line.

    Raises:
        ValueError: the file is not valid text in that encoding; the message names the file and
            the byte offset.
    """
    with open(path, 'rb') as f:
        raw = f.read()
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), 'utf-8')
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(f'{path!r} is not {encoding} text (byte {error.start}: '
                         f'{raw[error.start:error.start + 4]!r}); save it as UTF-8') from None
    lines = text.lstrip('\ufeff').replace('\r\n', '\n').replace('\r', '\n').split('\n')
    # Trailing blanks never belong to a value: JSON strings and our CSV records end on their line.
    return '\n'.join(line.rstrip() for line in lines)


def read_annotation_lines(path: str) -> Iterator[Tuple[int, str]]:
    """Yield ``(line number, line)`` of the non-blank lines of an annotation file.

    See :func:`read_annotation_text` for the encodings and line ends accepted. Each line has its
    leading and trailing whitespace removed (spaces, tabs, non-breaking spaces), so a file that
    an editor saved with a BOM, CRLF line ends or trailing blanks gives the same lines as the
    clean file. Line numbers count every line of the file, from 1.
    """
    for lineno, line in enumerate(read_annotation_text(path).split('\n'), 1):
        line = line.strip()
        if line:
            yield lineno, line


#: Blanks after a comma: a quoted field that follows them is still a quoted field.
_BLANKS_AFTER_COMMA = re.compile(r',[ \t\u00a0]+')


def split_csv_line(line: str) -> List[str]:
    """Fields of one comma-separated record, each stripped of surrounding blanks.

    Blanks (spaces, tabs, no-break spaces) between a comma and the next field are not part of
    the field, also before a quoted field: ``1, /m/0ytgt, "Child speech, kid speaking"`` gives
    three fields (:mod:`csv` alone would split the quoted name, whose quote is then not the
    field's first character).
    """
    row = next(csv.reader([_BLANKS_AFTER_COMMA.sub(', ', line)], skipinitialspace=True))
    return [field.strip() for field in row]


def delimiter_hint(line: str, expected: int) -> str:
    """A sentence to add to a wrong-field-count error when ``line`` has ``expected`` fields
    separated by ``;`` or tabs instead (spreadsheets save "CSV" with ``;`` in locales with a
    decimal comma); ``''`` otherwise."""
    for sep, name in ((';', "';'"), ('\t', 'tabs')):
        if sep in line and len(next(csv.reader([line], delimiter=sep))) == expected:
            return (f' The fields look separated by {name}, not commas (a spreadsheet in a '
                    f'locale with a decimal comma saves CSV so): save the file with commas.')
    return ''


def read_annotation_csv(path: str) -> Iterator[Tuple[int, List[str]]]:
    """Yield ``(line number, fields)`` of the non-blank lines of a CSV annotation file.

    Lines are those of :func:`read_annotation_lines` (one record per line: fields may be quoted
    but may not contain line breaks), split by :func:`split_csv_line` (every field stripped of
    surrounding blanks, blanks after a comma allowed before a quoted field).
    """
    for lineno, line in read_annotation_lines(path):
        yield lineno, split_csv_line(line)


def read_class_labels_indices(label_file: str) -> Tuple[Dict[str, int], List[str]]:
    """Read AudioSet's ``class_labels_indices.csv`` (``index,mid,display_name``).

    Returns:
        tuple: ``mid -> index`` and the display names in index order.
    """
    rows = list(read_annotation_csv(label_file))
    if not rows or rows[0][1] != ['index', 'mid', 'display_name']:
        hint = delimiter_hint(','.join(rows[0][1]), 3) if rows else ''
        raise ValueError(f'{label_file}: expected the header "index,mid,display_name", '
                         f'got {rows[0][1] if rows else "an empty file"}.{hint}')
    mid_to_index: Dict[str, int] = {}
    names: List[str] = []
    for lineno, row in rows[1:]:
        if len(row) != 3:
            raise ValueError(f'{label_file}:{lineno}: expected 3 fields, got {row}')
        try:
            index = int(row[0])
        except ValueError:
            raise ValueError(f'{label_file}:{lineno}: index {row[0]!r} is not an integer')
        if index != len(names):
            raise ValueError(f'{label_file}:{lineno}: indices must be 0, 1, 2, ... in order; '
                             f'expected {len(names)}, got {index}')
        mid_to_index[row[1]] = index
        names.append(row[2])
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
