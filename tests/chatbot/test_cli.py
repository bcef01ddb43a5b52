"""Tests for the `chatbot` command's handling of bad input: exit status 2 and a message that names the fix."""

from __future__ import annotations

import pytest

from chatbot.cli import main


def run(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


def test_ingest_unknown_columns(capsys, tmp_path):
    export = tmp_path / "tickets.csv"
    export.write_text("foo,bar\n1,2\n", encoding="utf-8")
    status, error = run(capsys, "ingest", str(export), "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "tickets.csv" in error
    assert "--text-column" in error


def test_ingest_empty_file(capsys, tmp_path):
    export = tmp_path / "empty.csv"
    export.write_text("", encoding="utf-8")
    status, error = run(capsys, "ingest", str(export), "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "empty.csv is empty" in error


def test_ingest_without_files(capsys, tmp_path):
    status, error = run(capsys, "ingest", "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "No export files given" in error


def test_index_missing_kb_folder(capsys, tmp_path):
    status, error = run(capsys, "index", "--kb", str(tmp_path / "no-such-kb"), "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "no-such-kb" in error
    assert "--kb" in error


def test_serve_without_model(capsys, tmp_path):
    status, error = run(capsys, "serve", "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "Run 'chatbot train'" in error


def test_train_without_ingest(capsys, tmp_path):
    status, error = run(capsys, "train", "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "Run 'chatbot ingest' first" in error


def test_invalid_override(capsys, tmp_path):
    status, error = run(capsys, "train", "--set", "epochs=3", "--workdir", str(tmp_path / "work"))
    assert status == 2
    assert "TABLE.KEY=VALUE" in error


def test_missing_subcommand():
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
