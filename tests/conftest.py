import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS_DIR = osp.dirname(osp.abspath(__file__))
for path in (REPO_ROOT, TESTS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

# Keep test processes from oversubscribing the CI machine's cores.
os.environ.setdefault('OMP_NUM_THREADS', '1')
