"""Input files ocw cannot read (not UTF-8, YAML that does not parse) are exit 2 with one error line naming the file,
in `ocw install` (before anything is written) and `ocw up` (before anything starts); and `--vars <(sops -d ...)`, a
pipe that can be read only once, gives install the same variables in each check it runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from install.conftest import CERTIFICATES, SCHEMAS, ClusterRepo, assert_installed
from ocw.cli import main
from support.cli import CliResult

FLUX_FILE = "kubernetes/apps/network/certificates/ks.yaml"  # a Flux Kustomization, read to follow the graph


def run(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def error_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": error: " in line]


@pytest.fixture
def not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "vars-latin1.yaml"
    path.write_bytes(b"SECRET_DOMAIN: caf\xe9.example\n")
    return path


@pytest.fixture
def unparsable(tmp_path: Path) -> Path:
    path = tmp_path / "vars-broken.yaml"
    path.write_text("SECRET_DOMAIN: [example.com\n")
    return path


@pytest.fixture
def piped(cluster: ClusterRepo) -> Iterator[Path]:
    """The variables behind `/dev/fd/N`, as bash's `<(...)` passes them: read once, then empty."""
    reader, writer = os.pipe()
    os.write(writer, cluster.vars_file.read_bytes())
    os.close(writer)
    try:
        yield Path(f"/dev/fd/{reader}")
    finally:
        os.close(reader)


def test_a_yaml_file_that_is_not_utf8_stops_install_before_it_writes(cluster: ClusterRepo) -> None:
    with (cluster.root / FLUX_FILE).open("ab") as stream:
        stream.write(b"# caf\xe9\n")
    last_line = (cluster.root / FLUX_FILE).read_bytes().count(b"\n")
    before = cluster.snapshot()

    result = cluster.install()

    assert result.code == 2, result.stderr
    assert error_lines(result) == [
        f"ocw install: error: YAML file {cluster.root / FLUX_FILE}: not UTF-8 text (byte 0xe9 on line {last_line})"
    ]
    assert cluster.snapshot() == before, "nothing written"


@pytest.mark.parametrize(
    ("bad", "expected"),
    [("not_utf8", "not UTF-8 text (byte 0xe9 on line 1)"), ("unparsable", "did not find expected ',' or ']'")],
)
def test_a_vars_file_it_cannot_read_stops_install_before_it_writes(
    cluster: ClusterRepo, capsys: pytest.CaptureFixture[str], bad: str, expected: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(bad)
    before = cluster.snapshot()

    result = run(capsys, "install", "--repo", str(cluster.root), "--vars", str(path))

    assert result.code == 2, result.stderr
    [line] = error_lines(result)
    assert str(path) in line and expected in line
    assert cluster.snapshot() == before, "nothing written"


@pytest.mark.parametrize("bad", ["not_utf8", "unparsable", "yaml"])
def test_up_refuses_an_input_it_cannot_read_before_it_starts(
    cluster: ClusterRepo, capsys: pytest.CaptureFixture[str], bad: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    extra: list[str] = []
    if bad == "yaml":
        named = cluster.root / FLUX_FILE
        with named.open("ab") as stream:
            stream.write(b"# caf\xe9\n")
    else:
        named = request.getfixturevalue(bad)
        extra = ["--vars", str(named)]
    state = tmp_path / "state"

    result = run(capsys, "up", "flux", "--repo", str(cluster.root), "--state-dir", str(state), *extra)

    assert result.code == 2, result.stderr
    [line] = error_lines(result)
    assert line.startswith("ocw up: error: ") and str(named) in line
    assert not state.exists(), "nothing started"


def test_vars_from_a_pipe_serve_every_check_install_runs(
    cluster: ClusterRepo, capsys: pytest.CaptureFixture[str], piped: Path
) -> None:
    # The fixture's own error makes install check the repository as it was before, a second read of --vars.
    result = run(capsys, "install", "--repo", str(cluster.root), "--vars", str(piped), "--schemas", str(SCHEMAS))

    assert "the install added no error" in result.stdout, result.stdout + result.stderr
    assert_installed(cluster, result)
    assert "./opencode.yaml" in cluster.text(CERTIFICATES)
