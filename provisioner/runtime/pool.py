"""Checking many signed forms in a process pool (the checks are CPU-bound)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

# The form checks are imported when forms are checked: a run that checks none (or replays the
# last run's results) does not load them.
if TYPE_CHECKING:
    from provisioner.documents.form import FormJob, FormVerdict

#: Below this many forms to check, starting processes costs more than it saves: most forms are
#: proven in 1-2 ms (documents.signature_proof), and a pool takes tens of milliseconds to start.
POOL_MIN_JOBS = 48
#: Chunks per worker: small enough that a worker slowed by other work on the machine does not
#: leave the others idle at the end, large enough that sending them costs nothing.
CHUNKS_PER_WORKER = 12

# The trusted CAs of the run, given to each worker once when it starts (not with every job).
_anchors: tuple[bytes, ...] = ()


def _start_worker(anchors_der: tuple[bytes, ...]) -> None:
    global _anchors
    _anchors = anchors_der


def _check_job(job: FormJob) -> FormVerdict:
    from provisioner.documents.form import check_form

    return check_form(job.data, _anchors, job.parties, job.moment)


#: OpenSSL's variables naming the CA certificates a TLS context trusts by default.
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextlib.contextmanager
def no_system_trust() -> Iterator[None]:
    """While pyHanko is imported, OpenSSL's default trust is empty.

    pyHanko imports aiohttp (to fetch revocation data, which the form checks never do), and
    aiohttp makes two TLS contexts at import, each reading the system's CA bundle: tens of
    milliseconds of a cold run. Made with no CA, they trust no server, which suits checks that
    must not reach the network. The variables are restored at once.
    """
    before = {name: os.environ.get(name) for name in TRUST_VARIABLES}
    for name in TRUST_VARIABLES:
        os.environ[name] = os.devnull  # no certificate there (and not a folder)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
        from provisioner.documents.form import check_serially, load_pyhanko

        workers = min(self.workers, len(jobs))
        if workers <= 1 or len(jobs) < self.min_jobs:
            return check_serially(jobs, anchors_der)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        with no_system_trust():
            load_pyhanko()  # forked workers inherit the imported modules instead of paying again
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        chunk = max(1, len(jobs) // (workers * CHUNKS_PER_WORKER))
        try:
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(anchors_der,),
            ) as pool:
                verdicts = []
                for verdict in pool.map(_check_job, jobs, chunksize=chunk):
                    verdicts.append(verdict)
                    if self.progress is not None:
                        self.progress("checking signed forms", len(verdicts), len(jobs))
                return verdicts
        except (OSError, BrokenProcessPool):  # no processes available: do it here
            return check_serially(jobs, anchors_der)
