"""Tests for versioned model folders and the CURRENT pointer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.errors import ArtifactError
from training.registry import CURRENT_FILE, VERSION_PATTERN, ModelRegistry


def make_version(registry: ModelRegistry, data_hash: str = "ab12cd34ef") -> Path:
    """Create a complete (manifest-bearing) version folder through the staging context."""
    version = registry.new_version_path(data_hash)
    with registry.staging(version) as staging:
        (staging / "manifest.json").write_text("{}", encoding="utf-8")
    return version


def test_version_name_has_time_and_hash(tmp_path):
    version = ModelRegistry(tmp_path).new_version_path("AB12CD34EF56")
    assert VERSION_PATTERN.match(version.name)
    assert version.name.endswith("-ab12cd34")
    assert version.parent == tmp_path


def test_version_name_unique_within_second(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = make_version(registry)
    second = registry.new_version_path("ab12cd34ef")
    assert second != first
    assert VERSION_PATTERN.match(second.name)


def test_version_name_rejects_non_hex_hash(tmp_path):
    with pytest.raises(ValueError, match="data_hash"):
        ModelRegistry(tmp_path).new_version_path("not-a-hash")


def test_current_none_before_promote(tmp_path):
    assert ModelRegistry(tmp_path / "models").current() is None


def test_promote_then_current(tmp_path):
    registry = ModelRegistry(tmp_path)
    version = make_version(registry)
    registry.promote(version)
    assert registry.current() == version
    assert (tmp_path / CURRENT_FILE).read_text(encoding="utf-8") == version.name + "\n"


def test_promote_leaves_no_temporary_file(tmp_path):
    registry = ModelRegistry(tmp_path)
    registry.promote(make_version(registry))
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [CURRENT_FILE]


def test_promote_replaces_previous(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = make_version(registry)
    second = make_version(registry)
    registry.promote(first)
    registry.promote(second)
    assert registry.current() == second


def test_failed_pointer_write_keeps_current(tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path)
    first = make_version(registry)
    second = make_version(registry)
    registry.promote(first)

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        registry.promote(second)
    monkeypatch.undo()
    assert registry.current() == first
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [CURRENT_FILE]


def test_staging_renamed_on_success(tmp_path):
    registry = ModelRegistry(tmp_path)
    version = registry.new_version_path("ab12cd34")
    with registry.staging(version) as staging:
        assert staging.parent == tmp_path
        assert not version.exists()
        (staging / "manifest.json").write_text("{}", encoding="utf-8")
    assert (version / "manifest.json").is_file()
    assert not staging.exists()


def test_staging_removed_on_error(tmp_path):
    registry = ModelRegistry(tmp_path)
    version = registry.new_version_path("ab12cd34")
    with pytest.raises(RuntimeError, match="injected"):
        with registry.staging(version) as staging:
            (staging / "partial.bin").write_bytes(b"x")
            raise RuntimeError("injected")
    assert list(tmp_path.iterdir()) == []


def test_versions_exclude_staging(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = make_version(registry)
    (tmp_path / ".staging-20990101-000000-00000000-abc").mkdir()
    (tmp_path / "notes").mkdir()
    second = make_version(registry)
    assert registry.versions() == [first, second]


def test_versions_of_missing_root(tmp_path):
    assert ModelRegistry(tmp_path / "absent").versions() == []


def test_promote_rejects_incomplete_folder(tmp_path):
    registry = ModelRegistry(tmp_path)
    version = registry.new_version_path("ab12cd34")
    version.mkdir()
    with pytest.raises(ArtifactError, match="manifest.json"):
        registry.promote(version)


def test_promote_rejects_folder_outside_root(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    outside = tmp_path / "20261204-201530-ab12cd34"
    outside.mkdir()
    with pytest.raises(ArtifactError, match="registry root"):
        registry.promote(outside)


def test_current_pointing_to_missing_folder(tmp_path):
    (tmp_path / CURRENT_FILE).write_text("20261204-201530-ab12cd34\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match="does not exist"):
        ModelRegistry(tmp_path).current()


def test_current_with_garbage_pointer(tmp_path):
    (tmp_path / CURRENT_FILE).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match="not a version name"):
        ModelRegistry(tmp_path).current()
