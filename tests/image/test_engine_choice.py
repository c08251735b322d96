"""`ocw up --engine auto` picks the container only when podman works and this checkout's image is built, and says
why it runs as processes otherwise; `--engine container` refuses instead of falling back."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocw.errors import EXIT_CANNOT_RUN, OcwError
from ocw.up import engine_choice
from ocw.up.defaults import EngineRequest
from support.image import WorkspaceImage


def test_auto_runs_the_built_image(workspace_image: WorkspaceImage) -> None:
    choice = engine_choice.choose_engine("auto")
    assert choice.image == workspace_image.name and choice.engine is not None and choice.note == ""


def test_an_unbuilt_image_means_processes_with_a_note(
    workspace_image: WorkspaceImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = f"{workspace_image.name}-never-built"
    monkeypatch.setattr(engine_choice, "local_image", lambda: absent)
    choice = engine_choice.choose_engine("auto")
    assert choice.engine is None and choice.image is None
    assert absent in choice.note and "make image" in choice.note
    with pytest.raises(OcwError) as refused:
        engine_choice.choose_engine("container")
    assert refused.value.exit_code == EXIT_CANNOT_RUN and "make image" in str(refused.value)


def test_no_podman_means_processes_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    choice = engine_choice.choose_engine("auto")
    assert choice.engine is None and "podman is not installed" in choice.note


def test_a_podman_that_fails_means_processes_with_its_own_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one engine call of a choice (`podman image exists`) tells a podman that cannot work from an image that
    is not built: here podman's storage configuration names no run root."""
    broken = tmp_path / "storage.conf"
    broken.write_text('[storage]\ndriver = "overlay"\n')
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(broken))
    choice = engine_choice.choose_engine("auto")
    assert choice.engine is None and choice.image is None
    assert "podman does not work here: " in choice.note and "runroot" in choice.note, choice.note
    assert "make image" not in choice.note
    with pytest.raises(OcwError) as refused:
        engine_choice.choose_engine("container")
    assert refused.value.exit_code == EXIT_CANNOT_RUN and "podman does not work here" in str(refused.value)


def test_process_is_taken_as_asked_without_probing() -> None:
    choice = engine_choice.choose_engine("process")
    assert (choice.engine, choice.image, choice.note) == (None, None, "")


@pytest.mark.parametrize("requested", ["process", "auto"])
def test_on_macos_processes_are_refused_in_one_line_naming_the_container_way(
    requested: EngineRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ocw up follows local processes through /proc, which macOS has not: there the workspace runs in its image."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no podman either: auto would fall back to processes
    with pytest.raises(OcwError) as refused:
        engine_choice.choose_engine(requested, platform="darwin")
    assert refused.value.exit_code == EXIT_CANNOT_RUN
    assert "\n" not in refused.value.message
    assert "podman machine" in refused.value.message and "--engine container" in refused.value.message
    assert engine_choice.choose_engine("process", platform="linux").engine is None
