"""Checking many signed forms in a process pool (pyHanko's checks are CPU-bound)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.documents.form import (
    FormJob,
    FormVerdict,
    check_form,
    check_serially,
    load_pyhanko,
)

#: Below this many forms to check, a pool costs more than it saves.
POOL_MIN_JOBS = 24


def _check_job(args: tuple[FormJob, tuple[bytes, ...]]) -> FormVerdict:
    job, anchors_der = args
    return check_form(job.data, anchors_der, job.parties, job.moment)


class PooledFormChecker:
    """A documents.form.FormChecker that forks `workers` processes for big batches."""

    def __init__(
        self,
        workers: int,
        min_jobs: int = POOL_MIN_JOBS,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.workers = workers
        self.min_jobs = min_jobs
        self.progress = progress  # told of each verdict (provisioner.runtime.progress)

    def __call__(
        self, jobs: Sequence[FormJob], anchors_der: tuple[bytes, ...]
    ) -> list[FormVerdict]:
        if self.workers <= 1 or len(jobs) < self.min_jobs:
            return check_serially(jobs, anchors_der)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        load_pyhanko()  # forked workers inherit the imported modules instead of paying again
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        chunk = max(1, len(jobs) // (self.workers * 4))
        try:
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
                work = [(job, anchors_der) for job in jobs]
                verdicts = []
                for verdict in pool.map(_check_job, work, chunksize=chunk):
                    verdicts.append(verdict)
                    if self.progress is not None:
                        self.progress("checking signed forms", len(verdicts), len(jobs))
                return verdicts
        except (OSError, BrokenProcessPool):  # no processes available: do it here
            return check_serially(jobs, anchors_der)
