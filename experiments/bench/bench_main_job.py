"""Benchmark: the main job (the baseline planning run) step by step, wall and CPU time.

Runs ``kzmig run experiments/baseline.toml`` in this process, through the library (as the
command does: load the config, :func:`kzmig.studies.run`, then :func:`kzmig.reporting.save`), and prints
one row per step of the manifest -- ``run_steps`` (assessment, regression, forecast/<study>,
specialists, scenarios, targets, planning) and ``steps`` (save: writing the charts, workbooks,
report and model folders) -- with

- ``wall s``: the step's duration as the manifest records it;
- ``CPU s``: user + system time of all processes during the step: this one, its finished
  children (the backtest's local process pool, whose workers are joined at the end of each
  backtest) and any living descendants (a Dask LocalCluster's workers), read at the step
  boundaries (the run's progress callback reports each finished step; the CPU time of reading
  the data, which the run does once before its first step, is counted in the first step, whose
  manifest wall time does not include it);
- ``CPU / wall``: how many cores the step kept busy (at most 2 on the project's machine);
- ``share``: the step's part of the total wall time;
- ``norm``: the step's CPU time divided by the CPU time of a **reference run** made in the
  same process just before the main job (the regression study of
  ``experiments/migration_factors.toml``, alone, in-process: single-threaded and about as
  long as the regression step). The machine is shared, so raw times move with its load; the
  ratio to a reference measured under the same load is the steadier figure;

then the totals (import of kzmig, the run, the save, and the whole script), the peak
resident memory of this process (``VmHWM``) and of the largest child process
(``RUSAGE_CHILDREN.ru_maxrss``; the backtest's workers are forked from this process, so their
resident size counts the pages they share with it), and the 1-minute load average before and
after.

The run folder goes to ``--out`` (default ``runs/bench_main_job/run``, replaced each time).
``--charts report`` measures the run with ``[run] charts = "report"`` (as ``kzmig run --charts report``).
``--manifest RUN_DIR`` only prints the wall-time table of an existing run folder (no CPU).

Run from the repository root, kzmig installed::

    python experiments/bench/bench_main_job.py [--config experiments/baseline.toml]
        [--out runs/bench_main_job/run] [--no-reference] [--charts all|report] [--manifest RUN_DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

T_START = time.perf_counter()

AIM_SECONDS = 60.0  # issue 21: the main job under 60 s wall on 2 idle cores


def cpu_seconds() -> float:
    """User + system CPU time of this process, its finished children and its living descendants."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    living = 0.0
    try:
        import psutil
    except ImportError:  # without psutil, living descendants are not counted (none in a local run)
        psutil = None
    if psutil is not None:
        for child in psutil.Process().children(recursive=True):
            try:
                t = child.cpu_times()
                living += t.user + t.system
            except psutil.NoSuchProcess:  # exited meanwhile: then counted in RUSAGE_CHILDREN
                pass
    return own.ru_utime + own.ru_stime + done.ru_utime + done.ru_stime + living


def _status_mib(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (``VmHWM``, ``VmRSS``) in MiB; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _load() -> float:
    return os.getloadavg()[0]


def step_rows(manifest: Mapping[str, Any], cpu: Mapping[str, float] | None = None,
              reference_cpu: float | None = None) -> list[dict[str, Any]]:
    """One row per step of a run manifest: ``run_steps`` then ``steps`` (``save``).

    Parameters
    ----------
    manifest : mapping
        A run folder's ``manifest.json`` (``run_steps``: the run's steps; ``steps``: the
        folder's own steps, ``save``), each step ``{"step", "started_at", "seconds"}``.
    cpu : mapping of step name to CPU seconds, optional
        Measured by this script; a step without a value gets ``None``.
    reference_cpu : float, optional
        CPU seconds of the reference run; ``norm`` = step CPU / reference CPU.

    Returns
    -------
    list of dict
        ``step``, ``wall``, ``cpu``, ``cores`` (cpu / wall), ``share`` (of the summed wall
        time), ``norm``; the last row is ``total`` (sums; cores and norm of the sums).
    """
    steps = [*manifest.get("run_steps", []), *manifest.get("steps", [])]
    if not steps:
        raise ValueError("the manifest has no run_steps and no steps: is it a run folder's manifest.json?")
    cpu = cpu or {}
    total_wall = sum(float(s["seconds"]) for s in steps)
    rows = []
    for s in steps:
        wall, c = float(s["seconds"]), cpu.get(s["step"])
        rows.append({"step": s["step"], "wall": wall, "cpu": c,
                     "cores": c / wall if c is not None and wall > 0 else None,
                     "share": wall / total_wall if total_wall > 0 else None,
                     "norm": c / reference_cpu if c is not None and reference_cpu else None})
    cpus = [r["cpu"] for r in rows]
    tc = sum(cpus) if all(c is not None for c in cpus) else None
    rows.append({"step": "total", "wall": total_wall, "cpu": tc,
                 "cores": tc / total_wall if tc is not None and total_wall > 0 else None,
                 "share": 1.0 if total_wall > 0 else None,
                 "norm": tc / reference_cpu if tc is not None and reference_cpu else None})
    return rows


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows of :func:`step_rows` as a fixed-width text table (``-`` where not measured)."""
    def f(v: float | None, spec: str) -> str:
        width = int(spec.split(".")[0])
        return f"{'-':>{width}}" if v is None else format(v, spec)

    header = f"{'step':<28} {'wall s':>8} {'CPU s':>8} {'CPU/wall':>8} {'share':>6} {'norm':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        if r["step"] == "total":
            lines.append("-" * len(header))
        share = "-" if r["share"] is None else f"{100 * r['share']:.0f} %"
        lines.append(f"{r['step']:<28} {f(r['wall'], '8.1f')} {f(r['cpu'], '8.1f')} {f(r['cores'], '8.2f')} "
                     f"{share:>6} {f(r['norm'], '7.1f')}")
    return "\n".join(lines)


class _StepClock:
    """Progress callback of :func:`kzmig.studies.run`: reads the CPU clock at every finished step."""

    def __init__(self) -> None:
        self.last = cpu_seconds()
        self.cpu: dict[str, float] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        if step.startswith("run: "):  # one event per finished step of the run (studies/run.py)
            now = cpu_seconds()
            self.cpu[step.removeprefix("run: ")] = now - self.last
            self.last = now


def reference_run() -> dict[str, float]:
    """Wall and CPU seconds of the regression study of ``migration_factors.toml``, in this process."""
    from kzmig.config import load_config
    from kzmig.core.resources import experiments_dir
    from kzmig.studies import regress

    cfg = load_config(experiments_dir() / "migration_factors.toml")
    c0, t0 = cpu_seconds(), time.perf_counter()
    regress(cfg)
    return {"wall": time.perf_counter() - t0, "cpu": cpu_seconds() - c0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="experiments/baseline.toml", help="run config (default: the main job's)")
    ap.add_argument("--out", default="runs/bench_main_job/run", help="run folder, replaced (default: %(default)s)")
    ap.add_argument("--no-reference", action="store_true", help="skip the reference run (no norm column)")
    ap.add_argument("--charts", choices=("all", "report"), help="the run's [run] charts for this measurement "
                    "(default: the config's)")
    ap.add_argument("--manifest", metavar="RUN_DIR", help="only print the wall-time table of an existing run folder")
    args = ap.parse_args(argv)

    if args.manifest:
        manifest = json.loads((Path(args.manifest) / "manifest.json").read_text(encoding="utf-8"))
        print(format_table(step_rows(manifest)))
        return 0

    load0 = _load()
    c_import, t_import = cpu_seconds(), time.perf_counter()
    from kzmig.config import load_config, with_run_options
    from kzmig.reporting import save
    from kzmig.studies import run

    import_wall, import_cpu = time.perf_counter() - t_import, cpu_seconds() - c_import
    ref = None if args.no_reference else reference_run()

    cfg = with_run_options(load_config(args.config), {"charts": args.charts})  # as kzmig run --charts does
    clock = _StepClock()
    t_run = time.perf_counter()
    result = run(cfg, progress=clock)
    run_wall = time.perf_counter() - t_run
    c_save, t_save = cpu_seconds(), time.perf_counter()
    folder = save(result, args.out, overwrite=True)
    clock.cpu["save"] = cpu_seconds() - c_save
    save_wall = time.perf_counter() - t_save
    manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))

    rows = step_rows(manifest, clock.cpu, ref["cpu"] if ref else None)
    print(f"main job: {args.config} (charts = {cfg.run.charts!r}) -> {folder}")
    print(format_table(rows))
    total = rows[-1]
    print(f"kzmig import: {import_wall:.1f} s wall, {import_cpu:.1f} s CPU")
    if ref:
        print(f"reference run (regression study alone, in this process, before the main job): "
              f"{ref['wall']:.1f} s wall, {ref['cpu']:.1f} s CPU; main job steps / reference: "
              f"{total['wall'] / ref['wall']:.1f}x wall, {total['cpu'] / ref['cpu']:.1f}x CPU")
    print(f"run() {run_wall:.1f} s + save {save_wall:.1f} s wall; whole script "
          f"{time.perf_counter() - T_START:.1f} s wall, {cpu_seconds():.1f} s CPU (all processes)")
    print(f"main job (steps, wall) / the aim of {AIM_SECONDS:.0f} s: {total['wall'] / AIM_SECONDS:.2f}")
    hwm = _status_mib("VmHWM")
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {'-' if hwm is None else f'{hwm:.0f}'} MiB, largest child process {child:.0f} MiB")
    print(f"1-minute load average: {load0:.2f} before, {_load():.2f} after (2-core machine shared with other users)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
