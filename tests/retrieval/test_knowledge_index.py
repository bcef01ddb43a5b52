"""KnowledgeIndex: build, search, save/load round trip, embedder checks and damaged folders."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval import index as index_module
from retrieval.config import RetrievalConfig
from retrieval.documents import CHINESE, Document, load_knowledge_base
from retrieval.embedder import Embedder
from retrieval.index import INDEX_FILES, KnowledgeIndex, QAPair
from training.errors import ArtifactError, ConfigError, DataError, IndexMismatchError


@pytest.fixture(scope="module")
def saved_index(sample_index: KnowledgeIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample index saved once; tests that damage it work on a copy."""
    return sample_index.save(tmp_path_factory.mktemp("index") / "kb-index")


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


def test_index_counts(sample_index: KnowledgeIndex) -> None:
    kinds = [record["kind"] for record in sample_index.records]
    assert sample_index.size == len(kinds)
    assert kinds.count("past_answer") == 2
    assert kinds.count("article") >= 4


def test_search_finds_article_with_source(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("How long do international parcels take to arrive?", kinds=["article"])
    assert hits[0].path == "en/shipping.md"
    assert hits[0].title == "Shipping times"
    assert hits[0].url == "https://help.example.com/shipping"
    assert hits[0].heading == "Shipping times > International delivery"


def test_search_best_first(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("refund to my card", k=4)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_search_past_answer(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("Can I change my delivery address once the order is placed?")
    assert hits[0].kind == "past_answer"
    assert hits[0].answer.startswith("Yes, as long as the order has not shipped")
    assert hits[0].path == "conversation en-0001"


def test_search_kind_filter(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("Can I change my delivery address?", k=5, kinds=["article"])
    assert hits
    assert {hit.kind for hit in hits} == {"article"}


def test_search_one_hit_per_article(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("refunds returns shipping", k=10, kinds=["article"])
    paths = [hit.path for hit in hits]
    assert len(paths) == len(set(paths))


def test_search_min_score_filter(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("Our office dog is called Rex.", k=5, min_score=0.99)
    assert hits == []


def test_search_blank_query(sample_index: KnowledgeIndex) -> None:
    assert sample_index.search("   ") == []


@pytest.mark.parametrize("k", [0, -1, True])
def test_search_invalid_k(sample_index: KnowledgeIndex, k: object) -> None:
    with pytest.raises(ConfigError):
        sample_index.search("refund", k=k)  # type: ignore[arg-type]


def test_search_unknown_kind(sample_index: KnowledgeIndex) -> None:
    with pytest.raises(ConfigError) as caught:
        sample_index.search("refund", kinds=["faq"])
    assert "faq" in str(caught.value)


def test_search_chinese_query_returns(sample_index: KnowledgeIndex) -> None:
    hits = sample_index.search("退款需要多长时间？", k=3)
    assert len(hits) == 3
    assert all(-1.0 <= hit.score <= 1.0 for hit in hits)


def test_search_batch_matches_single(sample_index: KnowledgeIndex) -> None:
    queries = ["shipping time", "reset my password", "退款"]
    batched = sample_index.search_batch(queries)
    single = [sample_index.search(query) for query in queries]
    assert [[hit.path for hit in hits] for hits in batched] == [[hit.path for hit in hits] for hits in single]


def test_search_concurrent_threads(sample_index: KnowledgeIndex) -> None:
    queries = ["shipping time", "reset my password", "refund to card", "退款"] * 3
    expected = [[hit.path for hit in sample_index.search(query)] for query in queries]
    results: dict[int, list[str]] = {}

    def run(number: int) -> None:
        results[number] = [hit.path for hit in sample_index.search(queries[number])]

    threads = [threading.Thread(target=run, args=(number,)) for number in range(len(queries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[number] for number in range(len(queries))] == expected


def test_save_exact_file_set(saved_index: Path) -> None:
    assert sorted(path.name for path in saved_index.iterdir()) == sorted(INDEX_FILES)


def test_save_records_provenance(saved_index: Path, embedder: Embedder) -> None:
    info = json.loads((saved_index / "index.json").read_text(encoding="utf-8"))
    assert info["embedder"] == {
        "name": embedder.name,
        "fingerprint": embedder.fingerprint,
        "dimension": 384,
        "max_seq_length": 256,
    }
    assert info["metric"] == "inner_product"
    assert info["normalized"] is True
    assert info["splitter"]["chunk_tokens"] == 200
    assert info["splitter"]["chunk_overlap_tokens"] == 30
    assert info["counts"]["past_answers"] == 2
    assert info["versions"]["faiss-cpu"]
    assert info["created"]


def test_save_load_same_results(sample_index: KnowledgeIndex, saved_index: Path, embedder: Embedder) -> None:
    loaded = KnowledgeIndex.load(saved_index, embedder)
    for query in ["international delivery", "refund to my card", "退款需要多长时间？"]:
        before = sample_index.search(query, k=4)
        after = loaded.search(query, k=4)
        assert [hit.to_dict() | {"score": 0} for hit in after] == [hit.to_dict() | {"score": 0} for hit in before]
        assert np.allclose([hit.score for hit in after], [hit.score for hit in before], atol=1e-6)


def test_save_load_chinese_unchanged(sample_kb: Path, saved_index: Path, embedder: Embedder) -> None:
    documents, _ = load_knowledge_base(sample_kb)
    chinese = next(document for document in documents if document.language == CHINESE)
    loaded = KnowledgeIndex.load(saved_index, embedder)
    chunks = [chunk for chunk in loaded.chunks if chunk.path == chinese.path]
    assert chunks
    assert all(chinese.text[chunk.start : chunk.start + len(chunk.text)] == chunk.text for chunk in chunks)
    assert loaded.qa_pairs[1].answer == "可以，请在订单页面点击“申请发票”。"
    assert "退款政策" in (saved_index / "chunks.jsonl").read_text(encoding="utf-8")


def test_save_writes_rejects(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "good.md").write_text("# Good\n\nShipping takes three days.", encoding="utf-8")
    (tmp_path / "kb" / "bad.md").write_bytes(b"caf\xe9")
    documents, rejects = load_knowledge_base(tmp_path / "kb")
    pairs = [QAPair("  ", "An answer", "conversation en-0009")]
    index = KnowledgeIndex.build(documents, pairs, embedder, RetrievalConfig(), rejects)
    index.save(tmp_path / "index")
    lines = (tmp_path / "index" / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["path"] for line in lines] == ["bad.md", "conversation en-0009"]


def test_build_deduplicates_past_answers(embedder: Embedder) -> None:
    pair = QAPair("Where is my order?", "Check the tracking link in your email.", "conversation en-1")
    copy = QAPair(" where is  my order? ", "Check the tracking link in your email.", "conversation en-2")
    index = KnowledgeIndex.build([], [pair, copy], embedder, RetrievalConfig())
    assert index.size == 1


def test_build_nothing_to_index(embedder: Embedder) -> None:
    with pytest.raises(DataError):
        KnowledgeIndex.build([], [QAPair("", "", "x")], embedder, RetrievalConfig())


def test_build_chunk_tokens_over_window(embedder: Embedder) -> None:
    document = Document(text="Text.", path="a.md", title="A")
    with pytest.raises(ConfigError) as caught:
        KnowledgeIndex.build([document], [], embedder, RetrievalConfig(chunk_tokens=512, chunk_overlap_tokens=30))
    assert "512" in str(caught.value)
    assert "256" in str(caught.value)


class _UnnormalisedEmbedder(Embedder):
    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return super().encode(texts, progress=progress) * 3.0


def test_build_rejects_unnormalised_vectors(embedder: Embedder) -> None:
    raw = _UnnormalisedEmbedder(device="cpu")
    raw._model = embedder.model
    document = Document(text="Text.", path="a.md", title="A")
    with pytest.raises(ArtifactError) as caught:
        KnowledgeIndex.build([document], [], raw, RetrievalConfig())
    assert "unit length" in str(caught.value)


def test_load_other_embedder_names_both(saved_index: Path, tiny_model_dir: Path, embedder: Embedder) -> None:
    tiny = Embedder(str(tiny_model_dir), device="cpu")
    with pytest.raises(IndexMismatchError) as caught:
        KnowledgeIndex.load(saved_index, tiny)
    message = str(caught.value)
    assert embedder.name in message
    assert str(tiny_model_dir) in message
    assert embedder.fingerprint in message
    assert tiny.fingerprint in message


def test_load_recorded_fingerprint_differs(saved_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    folder = _copy(saved_index, tmp_path)
    info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    info["embedder"]["fingerprint"] = "0123456789abcdef"
    (folder / "index.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(IndexMismatchError) as caught:
        KnowledgeIndex.load(folder, embedder)
    assert "0123456789abcdef" in str(caught.value)
    assert embedder.fingerprint in str(caught.value)


def test_load_recorded_dimension_differs(saved_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    folder = _copy(saved_index, tmp_path)
    info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    info["embedder"]["dimension"] = 768
    (folder / "index.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(IndexMismatchError) as caught:
        KnowledgeIndex.load(folder, embedder)
    assert "768" in str(caught.value)
    assert "384" in str(caught.value)


def test_load_same_weights_other_path(saved_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    from training.encoder import resolve_encoder

    alias = tmp_path / "minilm-link"
    alias.symlink_to(resolve_encoder(embedder.name), target_is_directory=True)
    other_name = Embedder(str(alias), device="cpu")
    other_name._model = embedder.model
    assert KnowledgeIndex.load(saved_index, other_name).size > 0


def test_load_corrupt_faiss_file(saved_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    folder = _copy(saved_index, tmp_path)
    (folder / "index.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(ArtifactError) as caught:
        KnowledgeIndex.load(folder, embedder)
    assert "index.faiss" in str(caught.value)
    assert "chatbot index" in str(caught.value)


def test_load_corrupt_faiss_with_matching_checksum(saved_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    from training.encoder import file_sha256

    folder = _copy(saved_index, tmp_path)
    (folder / "index.faiss").write_bytes(b"not a faiss index")
    info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    info["files"]["index.faiss"]["sha256"] = file_sha256(folder / "index.faiss")
    (folder / "index.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ArtifactError) as caught:
        KnowledgeIndex.load(folder, embedder)
    assert "not a FAISS index" in str(caught.value)


@pytest.mark.parametrize("name", ["index.faiss", "chunks.jsonl", "rejects.jsonl", "index.json"])
def test_load_missing_file(saved_index: Path, tmp_path: Path, embedder: Embedder, name: str) -> None:
    folder = _copy(saved_index, tmp_path)
    (folder / name).unlink()
    with pytest.raises(ArtifactError) as caught:
        KnowledgeIndex.load(folder, embedder)
    assert name in str(caught.value)


def test_load_edited_records(saved_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    folder = _copy(saved_index, tmp_path)
    with open(folder / "chunks.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"kind": "article", "text": "extra", "path": "x.md", "title": "X"}\n')
    with pytest.raises(ArtifactError) as caught:
        KnowledgeIndex.load(folder, embedder)
    assert "chunks.jsonl" in str(caught.value)


def test_load_missing_folder(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(ArtifactError) as caught:
        KnowledgeIndex.load(tmp_path / "nothing", embedder)
    assert "chatbot index" in str(caught.value)


def test_load_search_settings_from_config(saved_index: Path, embedder: Embedder) -> None:
    requested = RetrievalConfig(top_k=5, min_score=0.7, chunk_tokens=128, chunk_overlap_tokens=10)
    loaded = KnowledgeIndex.load(saved_index, embedder, requested)
    assert loaded.config.top_k == 5
    assert loaded.config.min_score == 0.7
    assert loaded.config.chunk_tokens == 200


def test_save_failure_keeps_old_index(
    sample_index: KnowledgeIndex, saved_index: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy(saved_index, tmp_path)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    def fail(*args: object, **kwargs: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(index_module, "write_jsonl", fail)
    with pytest.raises(OSError):
        sample_index.save(folder)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy"]


def test_save_replaces_existing_index(sample_index: KnowledgeIndex, saved_index: Path, tmp_path: Path) -> None:
    folder = _copy(saved_index, tmp_path)
    (folder / "stale.txt").write_text("old build", encoding="utf-8")
    sample_index.save(folder)
    assert sorted(path.name for path in folder.iterdir()) == sorted(INDEX_FILES)


def test_save_refuses_unrelated_folder(sample_index: KnowledgeIndex, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ArtifactError) as caught:
        sample_index.save(tmp_path)
    assert "not an index folder" in str(caught.value)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
