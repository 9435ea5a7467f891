"""Ray for work that one process cannot do fast enough (compiler/sweep.py, compiler/dataset.py): a
local Ray with one worker per core by default, the cluster at RAY_ADDRESS when it is set. Tasks get
the same inputs and write the same files either way, so results do not depend on where they ran."""
import contextlib
import os

from models.errors import whole_number


@contextlib.contextmanager
def ray_session(workers=None):
    """ray, initialised for the duration: `workers` CPUs of this machine (default: all), or the cluster
    at RAY_ADDRESS (then `workers` does not apply)."""
    import ray

    if workers not in (None, ""):
        workers = whole_number(workers, "WORKERS")
    if os.environ.get("RAY_ADDRESS"):          # the cluster's nodes need this project installed, as here
        ray.init(log_to_driver=False)
    else:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_tasks(ray, function, jobs, on_result, describe):
    """Run function(*job) for every job as a Ray task (one CPU each); on_result(job, result, error)
    as each finishes, in the order they finish, with a progress line. A task's exception is passed
    on as `error` (the others go on); Ctrl-C cancels what is left and raises KeyboardInterrupt."""
    remote = ray.remote(num_cpus=1, max_retries=0)(function)
    pending = {remote.remote(*job): job for job in jobs}
    done = 0
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ref)
            try:
                result, error = ray.get(ref), None
            except ray.exceptions.RayTaskError as failure:
                result, error = None, failure.cause if failure.cause is not None else failure
            done += 1
            print(f"[{done}/{done + len(pending)}] {describe(job)}: {'failed: ' + _one_line(error) if error else 'done'}",
                  flush=True)
            on_result(job, result, error)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _one_line(error):
    text = " ".join(str(error).split())
    return text if len(text) < 200 else text[:200] + " ..."

