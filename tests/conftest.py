import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS_DIR = osp.dirname(osp.abspath(__file__))
for path in (REPO_ROOT, TESTS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)
# The tests mirror the package (tests/test_models/, tests/test_datasets/, ...) without
# __init__.py files, so test basenames are unique; a few tests import helpers from a test module in
# another folder (`from test_eval_metrics import reference_ap`): every folder is importable.
for name in sorted(os.listdir(TESTS_DIR)):
    folder = osp.join(TESTS_DIR, name)
    if name.startswith('test_') and osp.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)

# Keep test processes from oversubscribing the CI machine's cores.
os.environ.setdefault('OMP_NUM_THREADS', '1')
