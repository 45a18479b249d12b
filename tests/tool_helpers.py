"""Import a command-line script under ``tools/`` as a module (``tools/`` is not a package)."""
import importlib.util
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(relpath: str):
    """``load_tool('tools/train.py')`` → the script's module, imported once per process.

    Raises:
        FileNotFoundError: no such script in the checkout.
    """
    path = osp.join(REPO, relpath)
    if not osp.isfile(path):
        raise FileNotFoundError(f'no tool script {path}')
    name = 'mavilkit_tool_' + osp.splitext(relpath)[0].replace('/', '_').replace('.', '_')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before executing: dataclasses / pickling look it up
        spec.loader.exec_module(module)
    return sys.modules[name]
