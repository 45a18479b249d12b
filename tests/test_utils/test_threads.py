"""Thread budget: one thread per dataloader worker, the cores they leave to the main process."""
from functools import partial

import cv2
import pytest
import torch

from mavilkit.utils import threads
from mavilkit.utils.threads import plan_thread_budget


@pytest.fixture
def restore_threads():
    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(torch_threads)
    cv2.setNumThreads(cv2_threads)
    threads._MEDIA_THREADS = 1


def test_plan_thread_budget():
    # The main process gets the cores its workers leave: 16 cores - 6 workers × 1 thread.
    plan = plan_thread_budget(6, cores=16, local_world_size=1, env_threads='')
    assert (plan['main_threads'], plan['worker_threads'], plan['source']) == \
        (10, 1, 'cores left by the workers')
    # 4 ranks on 16 cores: 4 cores each, 2 of them taken by 2 workers.
    assert plan_thread_budget(2, cores=16, local_world_size=4, env_threads='')['main_threads'] == 2
    # 2 workers × 2 threads on 6 cores leave 2.
    assert plan_thread_budget(2, worker_threads=2, cores=6, local_world_size=1,
                              env_threads='')['main_threads'] == 2
    # More workers than cores: the main process still runs.
    assert plan_thread_budget(8, cores=2, local_world_size=1, env_threads='')['main_threads'] == 1
    # OMP_NUM_THREADS (user or torchrun) wins over the computed figure, the config over both.
    env = plan_thread_budget(2, cores=16, local_world_size=1, env_threads='3')
    assert (env['main_threads'], env['source']) == (3, 'OMP_NUM_THREADS')
    cfg = plan_thread_budget(2, main_threads=5, cores=16, local_world_size=1, env_threads='3')
    assert (cfg['main_threads'], cfg['source']) == (5, 'config')
    with pytest.raises(ValueError, match='main_threads'):
        plan_thread_budget(2, main_threads=0, cores=4, local_world_size=1, env_threads='')
    with pytest.raises(ValueError, match='worker_threads'):
        plan_thread_budget(2, worker_threads=0, cores=4, local_world_size=1, env_threads='')


class _ThreadCounts(torch.utils.data.Dataset):
    """Reports, from inside the worker, the thread counts its libraries will use."""

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return torch.tensor([torch.get_num_threads(), cv2.getNumThreads(),
                             threads.media_threads()])


def _worker_counts(worker_init_fn):
    loader = torch.utils.data.DataLoader(_ThreadCounts(), batch_size=1, num_workers=2,
                                         worker_init_fn=worker_init_fn)
    return torch.cat(list(loader)).tolist()


def test_worker_gets_its_thread_budget(restore_threads):
    from mavilkit.engine import av_worker_init_fn

    # A busy main process: several torch and OpenCV threads, which forked workers inherit.
    torch.set_num_threads(3)
    cv2.setNumThreads(3)
    threads._MEDIA_THREADS = 3
    inherited = _worker_counts(None)
    assert all(row[1:] == [3, 3] for row in inherited)  # OpenCV and FFmpeg would oversubscribe
    assert _worker_counts(partial(av_worker_init_fn, seed=0)) == [[1, 1, 1], [1, 1, 1]]
    assert _worker_counts(partial(av_worker_init_fn, seed=0, num_threads=2)) == [[2, 2, 2]] * 2
    # The main process keeps its own budget.
    assert (torch.get_num_threads(), cv2.getNumThreads()) == (3, 3)


def test_train_tool_applies_and_logs_the_budget(tmp_path, monkeypatch, restore_threads):
    from mmengine.config import Config

    from mavilkit.apis import build_runner
    from test_foundation import write_toy_config
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.setattr(threads, 'available_cores', lambda: 5)
    cfg = Config.fromfile(write_toy_config(tmp_path, 1))
    cfg.train_dataloader.num_workers = 2
    cfg.work_dir = str(tmp_path / 'w')
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    assert torch.get_num_threads() == 3  # 5 cores - 2 workers
    assert cfg.train_dataloader.worker_init_fn.num_threads == 1
    log = open(runner.logger.log_file).read()
    assert 'Thread budget: main process 3 thread(s) (cores left by the workers), ' \
        '2 dataloader worker(s) × 1 thread(s)' in log

    cfg = Config.fromfile(write_toy_config(tmp_path, 1))
    cfg.work_dir = str(tmp_path / 'w2')
    cfg.launcher = 'none'
    cfg.thread_budget = dict(main_threads=2)
    build_runner(cfg)
    assert torch.get_num_threads() == 2
    cfg.thread_budget = dict(main_thread=2)
    with pytest.raises(KeyError, match='thread_budget'):
        build_runner(cfg)
