"""docs/en/index.md links every page under docs/en/ (a new guide is listed, CONTRIBUTING.md)."""
import glob
import os.path as osp
import re

from tool_helpers import REPO

DOCS = osp.join(REPO, 'docs', 'en')


def test_index_links_every_doc():
    with open(osp.join(DOCS, 'index.md'), encoding='utf-8') as f:
        links = {osp.normpath(osp.join(DOCS, target.split('#')[0]))
                 for target in re.findall(r'\]\(([^)\s]+\.md)(?:#[^)]*)?\)', f.read())}
    pages = {osp.normpath(p) for p in glob.glob(osp.join(DOCS, '**', '*.md'), recursive=True)}
    pages.discard(osp.normpath(osp.join(DOCS, 'index.md')))
    assert len(pages) >= 10
    assert sorted(osp.relpath(p, DOCS) for p in pages - links) == []
