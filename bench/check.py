"""Benchmark `ocw check`: wall time for the real tree and for generated trees of 10 and 50 workspaces, beside the
bare `kubectl kustomize` builds of the same paths (run with the same parallelism as ocw's builds).

Targets: the real tree under 2 s; at most 50% over the bare builds; cost linear in the number of workspaces; a whole
cluster repository with the tree installed under 5 s. The cluster rows: the extract of jbaker48/k8s-cluster in
tests/fixtures, and the repository at $OCW_BENCH_CLUSTER_REPO when set (e.g. a checkout of the cluster repository),
each copied with the tree installed as `ocw install` writes it.
Writes bench/results/check.json and prints a table.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ocw import toolchain
from ocw.flux.build import remote_resources
from ocw.flux.kustomization import discover
from ocw.install.apply import install

REPO = Path(__file__).resolve().parents[1]
CLUSTER_FIXTURE = REPO / "tests" / "fixtures" / "jbaker48-k8s-cluster"
CLUSTER_ENV = "OCW_BENCH_CLUSTER_REPO"
TARGET_CLUSTER_SECONDS = 5.0
RESULTS = REPO / "bench" / "results" / "check.json"
RUNS = 3
SIZES = (10, 50)
TARGET_REAL_SECONDS = 2.0
TARGET_OVERHEAD = 0.5


def generated_tree(root: Path, workspaces: int) -> Path:
    """The real tree plus `workspaces` new workspaces, each the two small files a new workspace needs."""
    shutil.copytree(REPO / "kubernetes", root / "kubernetes")
    shutil.copy(REPO / "cluster-vars.example.yaml", root / "cluster-vars.example.yaml")
    apps = root / "kubernetes" / "apps" / "opencode"
    template_ks = (apps / "opencode-flux" / "ks.yaml").read_text()
    template_app = (apps / "opencode-flux" / "app" / "kustomization.yaml").read_text()
    aggregator = apps / "kustomization.yaml"
    entries = []
    for index in range(workspaces):
        name = f"opencode-w{index:03d}"
        ks = template_ks.replace("opencode-flux", name).replace("WORKSPACE_HOST: flux", f"WORKSPACE_HOST: w{index:03d}")
        ks = ks.replace("OPENCODE_FLUX", f"OPENCODE_W{index:03d}")
        (apps / name / "app").mkdir(parents=True)
        (apps / name / "ks.yaml").write_text(ks)
        (apps / name / "app" / "kustomization.yaml").write_text(template_app)
        entries.append(f"  - ./{name}/ks.yaml\n")
    aggregator.write_text(aggregator.read_text() + "".join(entries))
    return root


def cluster_with_tree(source: Path, destination: Path) -> Path:
    """A copy of a cluster repository's kubernetes/ with this tree installed by `ocw install`'s library entry point
    (forced, so a repository that holds an older copy of the tree is measured with this one)."""
    shutil.copytree(source / "kubernetes", destination / "kubernetes", symlinks=True)
    install(destination, force=True)
    return destination


def time_ocw_check(repo: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ocw", "check", "--repo", str(repo), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"ocw check could not run on {repo}: {result.stderr}")
    return elapsed


def time_bare_builds(repo: Path) -> float:
    builder = toolchain.kustomizer()
    # As ocw check, which builds nothing that kustomize would download.
    paths = [
        repo / ks.build_dir
        for ks in discover(repo)[0]
        if not remote_resources(repo / ks.build_dir / "kustomization.yaml")
    ]
    workers = max(2, (os.cpu_count() or 2) * 2)  # as ocw.flux.build
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: subprocess.run(builder.command(p), capture_output=True, check=False), paths))
    return time.perf_counter() - started


@dataclass
class Row:
    tree: str
    workspaces: int
    ocw_check_seconds: float
    bare_kustomize_seconds: float

    @property
    def overhead(self) -> float:
        return (self.ocw_check_seconds - self.bare_kustomize_seconds) / self.bare_kustomize_seconds

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "overhead": round(self.overhead, 3)}


def measure(label: str, repo: Path, workspaces: int) -> Row:
    ocw = statistics.median(time_ocw_check(repo) for _ in range(RUNS))
    bare = statistics.median(time_bare_builds(repo) for _ in range(RUNS))
    return Row(label, workspaces, round(ocw, 3), round(bare, 3))


def main() -> int:
    rows = [measure("real", REPO, 2)]
    with tempfile.TemporaryDirectory(prefix="ocw-bench-") as scratch:
        for size in SIZES:
            tree = generated_tree(Path(scratch) / f"tree-{size}", size)
            rows.append(measure(f"generated-{size}", tree, size + 2))
        generated = rows[1:]
        clusters = [("cluster-fixture", CLUSTER_FIXTURE)]
        if os.environ.get(CLUSTER_ENV):
            clusters.append(("cluster-env", Path(os.environ[CLUSTER_ENV])))
        for label, source in clusters:
            rows.append(measure(label, cluster_with_tree(source, Path(scratch) / label), 2))
    real, middle, largest = rows[0], generated[-2], generated[-1]
    cluster_rows = [row for row in rows if row.tree.startswith("cluster")]
    # Linear: the cost of each added workspace between the two generated sizes, beside the average per workspace.
    marginal = (largest.ocw_check_seconds - middle.ocw_check_seconds) / (largest.workspaces - middle.workspaces)
    verdict = {
        "real_tree_under_2s": real.ocw_check_seconds < TARGET_REAL_SECONDS,
        # A Python start (about 0.3 s) dwarfs two 30 ms builds: the overhead target applies to the generated trees.
        "overhead_at_most_50_percent": all(row.overhead <= TARGET_OVERHEAD for row in generated),
        "cluster_repository_under_5s": all(row.ocw_check_seconds < TARGET_CLUSTER_SECONDS for row in cluster_rows),
        "marginal_seconds_per_workspace": round(marginal, 4),
        "average_seconds_per_workspace_at_50": round(largest.ocw_check_seconds / largest.workspaces, 4),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "runs_per_point": RUNS,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "rows": [r.as_dict() for r in rows],
        "verdict": verdict,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{'tree':<14}{'workspaces':>11}{'ocw check s':>13}{'bare kustomize s':>18}{'overhead':>10}")
    for row in rows:
        print(
            f"{row.tree:<14}{row.workspaces:>11}{row.ocw_check_seconds:>13.3f}"
            f"{row.bare_kustomize_seconds:>18.3f}{row.overhead:>10.0%}"
        )
    print(json.dumps(verdict))
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
