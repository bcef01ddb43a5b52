"""Tests for reading transcript exports into examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.data import read_examples
from training.errors import DataError, DataFileNotFoundError
from training.data import detect_language
from training.ingest import IngestConfig, ingest, read_export


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_columns_detected(tmp_path):
    export = write(tmp_path / "export.csv", "instruction,intent,response\nwhere is my order,track_order,It ships {{date}}\n")
    examples, rejects, mapping = read_export(export, IngestConfig())
    assert mapping == {"text": "instruction", "intent": "intent", "response": "response"}
    assert examples[0].text == "where is my order"
    assert examples[0].intent == "track_order"
    assert examples[0].language == "en"
    assert rejects == []


def test_quoted_newlines_kept(tmp_path):
    export = write(tmp_path / "export.csv", 'text,intent,response\n"hi",greet,"line one\r\nline two"\n')
    examples, _, _ = read_export(export, IngestConfig())
    assert examples[0].response == "line one\nline two"


def test_tsv_and_jsonl_read(tmp_path):
    tsv = write(tmp_path / "export.tsv", "message\tlabel\ncancel it please\tcancel_order\n")
    jsonl = write(tmp_path / "export.jsonl", json.dumps({"question": "退货怎么办", "intent": "return_item"}, ensure_ascii=False) + "\n")
    tsv_examples, _, _ = read_export(tsv, IngestConfig())
    jsonl_examples, _, _ = read_export(jsonl, IngestConfig())
    assert tsv_examples[0].intent == "cancel_order"
    assert jsonl_examples[0].text == "退货怎么办"
    assert jsonl_examples[0].language == "zh-CN"


def test_json_object_with_list(tmp_path):
    export = write(tmp_path / "export.json", json.dumps({"tickets": [{"body": "refund please", "topic": "refund"}]}))
    examples, _, mapping = read_export(export, IngestConfig())
    assert mapping["text"] == "body"
    assert examples[0].intent == "refund"


def test_unknown_columns_named(tmp_path):
    export = write(tmp_path / "export.csv", "foo,bar\n1,2\n")
    with pytest.raises(DataError) as caught:
        read_export(export, IngestConfig())
    message = str(caught.value)
    assert str(export) in message
    assert "['foo', 'bar']" in message
    assert "--text-column" in message


def test_explicit_column_used(tmp_path):
    export = write(tmp_path / "export.csv", "foo,bar\nhello there,greet\n")
    examples, _, _ = read_export(export, IngestConfig(text_column="foo", intent_column="bar"))
    assert examples[0].intent == "greet"


def test_empty_file_rejected(tmp_path):
    export = write(tmp_path / "empty.csv", "\n")
    with pytest.raises(DataError, match="empty.csv is empty"):
        read_export(export, IngestConfig())


def test_wrong_encoding_named(tmp_path):
    export = write(tmp_path / "latin.csv", "text,intent\ncafé crème brûlée déjà vu,order\n", encoding="latin-1")
    with pytest.raises(DataError) as caught:
        read_export(export, IngestConfig())
    assert "latin.csv is not valid utf-8" in str(caught.value)
    assert "--encoding" in str(caught.value)


def test_declared_encoding_read(tmp_path):
    export = write(tmp_path / "latin.csv", "text,intent\ncafé order,order\n", encoding="latin-1")
    examples, _, _ = read_export(export, IngestConfig(encoding="latin-1"))
    assert examples[0].text == "café order"


def test_missing_file_named(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="nope.csv not found"):
        read_export(tmp_path / "nope.csv", IngestConfig())


def test_unsupported_suffix(tmp_path):
    export = write(tmp_path / "export.xlsx", "x")
    with pytest.raises(DataError, match="unsupported file type"):
        read_export(export, IngestConfig())


def test_bad_rows_go_to_rejects(tmp_path):
    export = write(tmp_path / "export.csv", "text,intent\nfine,a\n,b\nfine,a\ntoo,many,fields\n")
    report = ingest([export], tmp_path / "out")
    rejects = [json.loads(line) for line in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    reasons = sorted(reject["reason"] for reject in rejects)
    assert report.examples == 1
    assert report.rejected == 3
    assert any("empty customer message" in reason for reason in reasons)
    assert any("duplicate of export.csv:2" in reason for reason in reasons)
    assert any("3 fields" in reason for reason in reasons)
    assert all(reject["file"] == str(export) for reject in rejects)


def test_ingest_round_trip(tmp_path):
    export = write(tmp_path / "export.csv", "customer_message,intent,agent_reply,language\n我的订单在哪,track_order,您的订单 {{order_number}} 已发货,zh-CN\n")
    ingest([export], tmp_path / "out")
    examples = read_examples(tmp_path / "out" / "examples.jsonl")
    assert examples[0].text == "我的订单在哪"
    assert examples[0].response == "您的订单 {{order_number}} 已发货"
    assert json.loads((tmp_path / "out" / "ingest.json").read_text())["languages"] == {"zh-CN": 1}


def test_failed_ingest_keeps_output(tmp_path):
    good = write(tmp_path / "good.csv", "text,intent\nhello,greet\n")
    ingest([good], tmp_path / "out")
    before = (tmp_path / "out" / "examples.jsonl").read_text()
    with pytest.raises(DataError):
        ingest([good, write(tmp_path / "bad.csv", "")], tmp_path / "out")
    assert (tmp_path / "out" / "examples.jsonl").read_text() == before


def test_invalid_encoding_config():
    with pytest.raises(ValueError, match="no such codec"):
        IngestConfig(encoding="utf-99")


@pytest.mark.parametrize(("text", "expected"), [("where is my parcel", "en"), ("我的包裹在哪里", "zh-CN"), ("订单 NW-123456 在哪", "zh-CN")])
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_bitext_export_read(shared_data):
    path = shared_data / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.shared90.csv"
    examples, rejects, mapping = read_export(path, IngestConfig())
    assert mapping["text"] == "instruction"
    assert mapping["intent"] == "intent"
    assert len(examples) == 4063
    assert len({example.intent for example in examples}) == 27
    assert rejects == []
