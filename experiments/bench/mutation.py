"""Mutation testing of kzmig's core numeric modules with mutmut (outside the CI time budget).

mutmut changes one small thing at a time in a module (``<`` to ``<=``, ``+`` to ``-``, a constant
to another, an argument dropped ...) and runs the tests that reach the changed function; a
mutant that no test notices *survives*. Each surviving mutant is either a missing test or an
equivalent change (one that cannot alter any result); ``docs/development/mutation.md`` lists
them with the verdict.

mutmut derives a module's import name from its path, and kzmig maps the top-level folders
``features/``, ``models/`` and ``forecast/`` into ``kzmig.*`` (pyproject's ``package-dir``). So
the script lays out a workspace as the package is installed (``src/kzmig/forecast/...``, copies
of the sources and of the tests), runs ``mutmut run`` there for one module at a time, restricted
to that module's own test files, and collects ``mutmut results``. The checkout itself is never
changed.

Run from the repository root, with the ``test`` extra installed (it holds mutmut)::

    python experiments/bench/mutation.py                      # every module of MODULES
    python experiments/bench/mutation.py forecast/engine/conformal.py # one module
    python experiments/bench/mutation.py --max-children 2 --table docs/development/mutation.md

It writes ``runs/mutation/<module>.txt`` (every surviving mutant with its diff) and replaces the
table between the ``mutation-table`` markers of ``--table`` (default
``docs/development/mutation.md``). Modules run one after another; ``--max-children`` (default
1) is the number of mutants tested at once: the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: module (path in the checkout) -> its own test files (paths in the checkout)
MODULES: dict[str, list[str]] = {
    "models/forecasters/scale.py": ["tests/models/test_scale.py", "tests/forecast/test_evaluate_conformal.py"],
    "forecast/engine/evaluate.py": ["tests/forecast/test_evaluate_conformal.py"],
    "forecast/engine/conformal.py": ["tests/forecast/test_evaluate_conformal.py"],
    "forecast/engine/reconcile.py": ["tests/forecast/test_reconcile.py", "tests/forecast/test_reconcile_hand.py"],
    "features/assessment/balance.py": ["tests/features/test_balance.py"],
    "features/assessment/indicators.py": ["tests/features/test_indicators.py"],
    "features/assessment/typology.py": ["tests/features/test_typology.py"],
    "models/panel/__init__.py": ["tests/models/test_panel_estimators.py"],
}
#: top-level folder of the checkout -> folder of the installed package (pyproject package-dir)
PACKAGE_DIRS = {"kzmig": "kzmig", "features": "kzmig/features", "models": "kzmig/models",
                "forecast": "kzmig/forecast", "data": "kzmig/data", "experiments": "kzmig/experiments"}
START, END = "<!-- mutation-table:start -->", "<!-- mutation-table:end -->"


def installed_path(module: str) -> str:
    top, rest = module.split("/", 1)
    return f"src/{PACKAGE_DIRS[top]}/{rest}"


def make_workspace(ws: Path, module: str, tests: list[str], max_children: int) -> None:
    """``ws/src/kzmig/...`` as installed, ``ws/tests`` and a pyproject with mutmut's settings."""
    if ws.exists():
        shutil.rmtree(ws)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "versions")
    for top, dest in sorted(PACKAGE_DIRS.items(), key=lambda kv: kv[1].count("/")):
        shutil.copytree(ROOT / top, ws / "src" / dest, ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests", ws / "tests", ignore=ignore)
    quoted = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"  # noqa: E731
    (ws / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {quoted([installed_path(module)])}\n"
        f"pytest_add_cli_args_test_selection = {quoted(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        "use_git_change_detection = false\n"
        "\n[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n',
        encoding="utf-8")


def survivors(ws: Path, env: dict) -> tuple[dict[str, int], list[str]]:
    """Counts by status and the names of the surviving mutants (``mutmut results --all true``)."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=ws, env=env,
                         capture_output=True, text=True).stdout
    counts: dict[str, int] = {}
    names = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if not m:
            continue
        name, status = m.group(1), m.group(2).strip()
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            names.append(name)
    return counts, names


def run_module(module: str, max_children: int, outdir: Path) -> dict:
    tests = MODULES[module]
    ws = outdir / "ws" / module.replace("/", "__").removesuffix(".py")
    make_workspace(ws, module, tests, max_children)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", "import sys; from mutmut.__main__ import cli; "
                          "sys.argv = ['mutmut', 'run', '--max-children', sys.argv[1]]; cli()", str(max_children)],
                         cwd=ws, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    log = outdir / (module.replace("/", "__").removesuffix(".py") + ".log")
    log.write_text(run.stdout[-20000:] + "\n--- stderr ---\n" + run.stderr[-20000:], encoding="utf-8")
    counts, names = survivors(ws, env)
    diffs = []
    for name in names:
        d = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ws, env=env,
                           capture_output=True, text=True).stdout
        diffs.append(f"## {name}\n{d.strip()}\n")
    (outdir / (module.replace("/", "__").removesuffix(".py") + ".txt")).write_text(
        f"# surviving mutants of {module} (tests: {', '.join(tests)})\n\n" + "\n".join(diffs), encoding="utf-8")
    return {"module": module, "tests": tests, "seconds": seconds, "counts": counts, "survived": names,
            "exit": run.returncode}


def table(results: list[dict]) -> str:
    rows = ["| module | tests run | mutants | killed | survived | timeout | no tests | other | minutes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        c = dict(r["counts"])
        total = sum(c.values())
        main = {k: c.pop(k, 0) for k in ("killed", "survived", "timeout", "no tests")}
        other = sum(c.values())
        tests = ", ".join(f"`{Path(t).name}`" for t in r["tests"])
        rows.append(f"| `{r['module']}` | {tests} | {total} | {main['killed']} | {main['survived']} | "
                    f"{main['timeout']} | {main['no tests']} | {other} | {r['seconds'] / 60:.1f} |")
    return "\n".join(rows)


def write_table(path: Path, results: list[dict]) -> None:
    """Replace the rows of the modules just run between the markers of ``path`` (others kept)."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    block, tail = rest.split(END, 1)
    old = {m.group(1): line for line in block.splitlines() if (m := re.match(r"\| `([^`]+)` \|", line))}
    new = {r["module"]: line for r, line in zip(results, table(results).splitlines()[2:])}
    merged = {**old, **new}
    order = [m for m in MODULES if m in merged] + [m for m in merged if m not in MODULES]
    body = "\n".join(table([]).splitlines()[:2] + [merged[m] for m in order])
    path.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", help=f"modules to mutate (default: all of {list(MODULES)})")
    p.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1)")
    p.add_argument("--out", type=Path, default=Path("runs/mutation"), help="folder for logs and survivor diffs")
    p.add_argument("--table", type=Path, default=ROOT / "docs/development/mutation.md",
                   help="Markdown file whose mutation-table block is rewritten")
    a = p.parse_args(argv)
    unknown = [m for m in a.modules if m not in MODULES]
    if unknown:
        p.error(f"unknown module(s) {unknown}; choose from {list(MODULES)}")
    a.out.mkdir(parents=True, exist_ok=True)
    results = []
    for module in a.modules or list(MODULES):
        r = run_module(module, a.max_children, a.out.resolve())
        results.append(r)
        where = a.out / (module.replace("/", "__").removesuffix(".py") + ".txt")
        print(f"{module}: {r['counts']} in {r['seconds']:.0f} s; survivors in {where}", flush=True)
        write_table(a.table, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
