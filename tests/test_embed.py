"""Embedding service: ONNX export fidelity, torch-free query path, factory choice, stale/corrupt exports."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer import embed
from indexer.embed import (
    BUNDLED_NAME,
    OnnxQueryEncoder,
    QueryEncoderError,
    ensure_query_encoder,
    export_query_encoder,
    make_embedder,
    model_identity,
    resolve_model_path,
)
from indexer.errors import ConfigError
from indexer.query_encoder import CONFIG_FILE, EXPORT_FORMAT, MODEL_FILE, TOKENIZER_FILE
from indexer.settings import Settings

REPO = Path(__file__).resolve().parent.parent
BUNDLED = "bundled:" + BUNDLED_NAME
EN = [
    "Which authority approves cross-border transfers of personal information?",
    "The draft standard was published for comment on 3 March.",
]
ZH = ["数据出境安全评估办法第七条规定了什么？", "个人信息处理者应当履行哪些义务？"]
# ~600 word-piece tokens: far beyond all-MiniLM-L6-v2's max_seq_length of 256.
LONG = "Article 12. " + "Operators shall store personal information collected within the territory. " * 60
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _settings(data_dir: Path, **kw: Any) -> Settings:
    return Settings(data_dir=data_dir, embedding_model=kw.pop("embedding_model", BUNDLED), **kw)


def _cos(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class _StubST:
    """Stands in for SentenceTransformerEmbedder in factory tests, so they need no torch."""

    model_id = "stub"
    dim = 3

    def __init__(self, model: str, **_: Any) -> None:
        self.model = model


@pytest.fixture
def stub_st(monkeypatch: pytest.MonkeyPatch) -> type[_StubST]:
    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", _StubST)
    return _StubST


def _fake_export(directory: Path, **overrides: Any) -> Path:
    """An export dir with a real tokenizer but a 16-byte 'model', for the checks done before onnxruntime."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(resolve_model_path(BUNDLED)) / TOKENIZER_FILE, directory / TOKENIZER_FILE)
    (directory / MODEL_FILE).write_bytes(b"not an onnx file")
    cfg = {
        "format": EXPORT_FORMAT,
        "model_id": model_identity(BUNDLED),
        "pooling": "mean",
        "normalize": True,
        "max_seq_length": 256,
        "dim": 384,
        "input_names": ["input_ids", "attention_mask"],
        "pad_id": 0,
        "pad_token": "[PAD]",
        "onnx_bytes": 16,
    }
    cfg.update(overrides)
    (directory / CONFIG_FILE).write_text(json.dumps(cfg), encoding="utf-8")
    return directory


# --- fast: paths, identity, factory decisions ------------------------------------------------------------


def test_resolve_model_path() -> None:
    assert (Path(resolve_model_path(BUNDLED)) / "modules.json").is_file()
    assert (
        resolve_model_path("sentence-transformers/all-mpnet-base-v2")
        == "sentence-transformers/all-mpnet-base-v2"
    )
    assert resolve_model_path("/models/x") == "/models/x"
    with pytest.raises(ConfigError):
        resolve_model_path("bundled:no-such-model")


def test_model_identity_is_stable_and_path_independent() -> None:
    ident = model_identity(BUNDLED)
    assert ident == model_identity(BUNDLED)
    assert ident == model_identity(resolve_model_path(BUNDLED))  # same model by name or by path
    assert ident.startswith(BUNDLED_NAME + "@") and ident.endswith("+l2")
    assert model_identity("org/model-a") != model_identity("org/model-b")


def test_model_identity_changes_with_model_content(tmp_path: Path) -> None:
    src = Path(resolve_model_path(BUNDLED))
    model = tmp_path / "m"
    shutil.copytree(src, model, ignore=shutil.ignore_patterns("*.safetensors"))
    (model / "model.safetensors").symlink_to(src / "model.safetensors")
    before = model_identity(str(model))
    assert before.split("@")[1] == model_identity(BUNDLED).split("@")[1]  # same content, same digest
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode": "cls"}')
    changed = model_identity(str(model))
    assert changed != before
    (model / "README.md").write_text("docs do not change the model")
    assert model_identity(str(model)) == changed


def test_index_purpose_always_uses_sentence_transformers(tmp_path: Path, stub_st: type[_StubST]) -> None:
    _fake_export(_settings(tmp_path).onnx_dir)
    assert isinstance(make_embedder(_settings(tmp_path), purpose="index"), stub_st)


def test_query_without_export_falls_back_in_auto_and_raises_in_onnx_mode(
    tmp_path: Path, stub_st: type[_StubST]
) -> None:
    emb = make_embedder(_settings(tmp_path), purpose="query")
    assert isinstance(emb, stub_st) and emb.model == BUNDLED
    with pytest.raises(QueryEncoderError) as err:
        make_embedder(_settings(tmp_path, query_encoder="onnx"), purpose="query")
    assert err.value.hint and "regwatch index" in err.value.hint


def test_sentence_transformers_mode_ignores_export(tmp_path: Path, stub_st: type[_StubST]) -> None:
    _fake_export(_settings(tmp_path).onnx_dir)
    emb = make_embedder(_settings(tmp_path, query_encoder="sentence-transformers"), purpose="query")
    assert isinstance(emb, stub_st)


@pytest.mark.parametrize(
    "damage",
    [
        "config_garbage",
        "config_missing_key",
        "old_format",
        "truncated_model",
        "garbage_model",
        "no_tokenizer",
    ],
)
def test_corrupt_export_is_detected(
    tmp_path: Path, stub_st: type[_StubST], caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """Documented choice: 'auto' falls back to sentence-transformers with a warning; 'onnx' raises."""
    d = _fake_export(_settings(tmp_path).onnx_dir)
    if damage == "config_garbage":
        (d / CONFIG_FILE).write_text("{ half a json")
    elif damage == "config_missing_key":
        cfg = json.loads((d / CONFIG_FILE).read_text())
        del cfg["max_seq_length"]
        (d / CONFIG_FILE).write_text(json.dumps(cfg))
    elif damage == "old_format":
        _fake_export(d, format=EXPORT_FORMAT - 1)
    elif damage == "truncated_model":
        (d / MODEL_FILE).write_bytes(b"not an onnx")  # shorter than encoder.json says
    elif damage == "no_tokenizer":
        (d / TOKENIZER_FILE).unlink()
    # garbage_model: right size, wrong bytes -> only onnxruntime can tell
    with caplog.at_level(logging.WARNING, logger="indexer.embed"):
        assert isinstance(make_embedder(_settings(tmp_path), purpose="query"), stub_st)
    assert "ignoring the ONNX query encoder" in caplog.text
    with pytest.raises(QueryEncoderError):
        make_embedder(_settings(tmp_path, query_encoder="onnx"), purpose="query")


def test_export_from_another_model_is_stale(tmp_path: Path, stub_st: type[_StubST]) -> None:
    _fake_export(_settings(tmp_path).onnx_dir, model_id="some-other-model@0123456789ab+l2")
    assert isinstance(make_embedder(_settings(tmp_path), purpose="query"), stub_st)
    with pytest.raises(QueryEncoderError, match="some-other-model"):
        make_embedder(_settings(tmp_path, query_encoder="onnx"), purpose="query")


def test_ensure_query_encoder_never_fails_the_index_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Any] = []

    def boom(*_: Any, **__: Any) -> Path:
        calls.append(1)
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(embed, "export_query_encoder", boom)
    fake = type("E", (), {"model_path": "x", "st_model": None, "model_id": "x@0+l2"})()
    with caplog.at_level(logging.WARNING, logger="indexer.embed"):
        assert ensure_query_encoder(_settings(tmp_path), fake) is None  # type: ignore[arg-type]
    assert "exporter exploded" in caplog.text and len(calls) == 1
    # Nothing to export when queries are configured to use sentence-transformers anyway: the exporter is not called.
    assert ensure_query_encoder(_settings(tmp_path, query_encoder="sentence-transformers"), fake) is None  # type: ignore[arg-type]
    assert len(calls) == 1


# --- slow: a real export of the bundled model --------------------------------------------------------------


@pytest.fixture(scope="session")
def st_embedder() -> embed.SentenceTransformerEmbedder:
    return embed.SentenceTransformerEmbedder(BUNDLED)


@pytest.fixture(scope="session")
def data_dir(
    tmp_path_factory: pytest.TempPathFactory, st_embedder: embed.SentenceTransformerEmbedder
) -> Path:
    """A data dir whose onnx_dir holds a real export (made once per session: ~10 s)."""
    d = tmp_path_factory.mktemp("data")
    out = ensure_query_encoder(_settings(d), st_embedder)
    assert out == _settings(d).onnx_dir
    return d


@pytest.fixture(scope="session")
def onnx_encoder(data_dir: Path) -> OnnxQueryEncoder:
    return OnnxQueryEncoder(_settings(data_dir).onnx_dir)


@pytest.mark.slow
def test_export_layout(data_dir: Path, st_embedder: embed.SentenceTransformerEmbedder) -> None:
    out = _settings(data_dir).onnx_dir
    assert sorted(p.name for p in out.iterdir()) == sorted([CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE])
    cfg = json.loads((out / CONFIG_FILE).read_text())
    assert cfg["model_id"] == st_embedder.model_id == model_identity(BUNDLED)
    assert (cfg["pooling"], cfg["normalize"], cfg["max_seq_length"], cfg["dim"]) == ("mean", True, 256, 384)
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []  # no temp dirs left behind


@pytest.mark.slow
@pytest.mark.parametrize("texts", [EN, ZH, EN + ZH], ids=["en", "zh", "mixed-batch"])
def test_onnx_matches_sentence_transformers(
    onnx_encoder: OnnxQueryEncoder, st_embedder: embed.SentenceTransformerEmbedder, texts: list[str]
) -> None:
    ref = st_embedder.st_model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
    got = onnx_encoder.embed_documents(texts)  # one padded batch
    for r, g, t in zip(ref, got, texts, strict=True):
        assert _cos(r, g) >= 0.9999
        assert _cos(r, onnx_encoder.embed_query(t)) >= 0.9999
    for r, lc in zip(ref, st_embedder.embed_documents(texts), strict=True):
        assert _cos(r, lc) >= 0.9999  # the LangChain path gives the same vectors as the bare model


@pytest.mark.slow
def test_onnx_batches_keep_input_order(data_dir: Path, onnx_encoder: OnnxQueryEncoder) -> None:
    texts = [LONG, *EN, "", *ZH, "x"]
    small = OnnxQueryEncoder(_settings(data_dir).onnx_dir, batch_size=2)  # length-sorted, several batches
    for a, b in zip(small.embed_documents(texts), onnx_encoder.embed_documents(texts), strict=True):
        assert _cos(a, b) >= 0.9999


@pytest.mark.slow
def test_documents_are_encoded_in_one_batched_call(
    st_embedder: embed.SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throughput: LangChain must hand all texts to one model.encode with our batch size, not loop per text."""
    calls: list[tuple[int, dict[str, Any]]] = []
    real = st_embedder.st_model.encode

    def spy(texts: Any, **kw: Any) -> Any:
        calls.append((len(texts), kw))
        return real(texts, **kw)

    monkeypatch.setattr(st_embedder.st_model, "encode", spy)
    assert len(st_embedder.embed_documents(EN + ZH + EN)) == 6
    assert [n for n, _ in calls] == [6]
    kw = calls[0][1]
    assert kw["batch_size"] == 64 and kw["normalize_embeddings"] is True and not kw["show_progress_bar"]


@pytest.mark.slow
def test_long_text_is_truncated_like_sentence_transformers(
    onnx_encoder: OnnxQueryEncoder, st_embedder: embed.SentenceTransformerEmbedder
) -> None:
    assert len(st_embedder.st_model.tokenizer(LONG)["input_ids"]) >= 600
    ref = st_embedder.embed_query(LONG)
    got = onnx_encoder.embed_query(LONG)
    assert _cos(ref, got) >= 0.9999
    # Past the 256-token limit the text no longer matters: proves the ONNX path truncates, not just agrees.
    assert (
        _cos(got, onnx_encoder.embed_query(LONG + " Completely different trailing words about fisheries."))
        > 0.99999
    )
    # ...and a long text inside a padded batch with a short one still matches.
    batch = onnx_encoder.embed_documents(["short", LONG])
    assert _cos(batch[1], ref) >= 0.9999


@pytest.mark.slow
def test_export_is_skipped_when_up_to_date(data_dir: Path) -> None:
    out = _settings(data_dir).onnx_dir
    stamp = (out / MODEL_FILE).stat().st_mtime_ns
    # No st_model given: if it did not skip it would load the model and rewrite the file.
    assert export_query_encoder(resolve_model_path(BUNDLED), out) == out
    assert (out / MODEL_FILE).stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_stale_export_is_replaced_and_failed_export_leaves_old_one(
    tmp_path: Path,
    data_dir: Path,
    st_embedder: embed.SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "query-encoder"
    shutil.copytree(_settings(data_dir).onnx_dir, out)
    cfg = json.loads((out / CONFIG_FILE).read_text())
    cfg["model_id"] = "previous-model@000000000000+l2"
    (out / CONFIG_FILE).write_text(json.dumps(cfg))

    # A verification failure must keep whatever was there and clean up its temp dir.
    monkeypatch.setattr(embed, "VERIFY_MIN_COSINE", 1.5)
    with pytest.raises(QueryEncoderError, match="does not reproduce"):
        export_query_encoder(
            st_embedder.model_path, out, st_model=st_embedder.st_model, model_id=st_embedder.model_id
        )
    assert json.loads((out / CONFIG_FILE).read_text())["model_id"] == "previous-model@000000000000+l2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["query-encoder"]

    monkeypatch.setattr(embed, "VERIFY_MIN_COSINE", 0.9999)
    export_query_encoder(
        st_embedder.model_path, out, st_model=st_embedder.st_model, model_id=st_embedder.model_id
    )
    assert OnnxQueryEncoder(out).model_id == st_embedder.model_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["query-encoder"]


@pytest.mark.slow
def test_factory_picks_onnx_when_export_matches(data_dir: Path) -> None:
    assert isinstance(make_embedder(_settings(data_dir), purpose="query"), OnnxQueryEncoder)
    assert isinstance(
        make_embedder(_settings(data_dir, query_encoder="onnx"), purpose="query"), OnnxQueryEncoder
    )


@pytest.mark.slow
def test_query_path_never_imports_torch(data_dir: Path, tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from indexer.embed import make_embedder
        from indexer.settings import Settings
        e = make_embedder(Settings(data_dir=Path({str(data_dir)!r}), embedding_model={BUNDLED!r}), purpose="query")
        v = e.embed_query("数据出境 security assessment")
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"torch", "transformers", "sentence_transformers"}})
        print(json.dumps({{"type": type(e).__name__, "dim": len(v), "heavy": heavy}}))
    """)
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO)}
    # cwd outside the repo so no .env file is picked up.
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"type": "OnnxQueryEncoder", "dim": 384, "heavy": []}


# --- contract: the same behaviour from both implementations -----------------------------------------------


@pytest.fixture(params=["sentence-transformers", "onnx"])
def any_embedder(request: pytest.FixtureRequest) -> embed.Embedder:
    name = "st_embedder" if request.param == "sentence-transformers" else "onnx_encoder"
    emb: embed.Embedder = request.getfixturevalue(name)
    return emb


@pytest.mark.slow
def test_contract_dim_and_identity(any_embedder: embed.Embedder) -> None:
    assert any_embedder.dim == 384
    assert any_embedder.model_id == model_identity(BUNDLED)  # index and query sides agree on the model
    assert len(any_embedder.embed_query("hello")) == 384


@pytest.mark.slow
def test_contract_vectors_are_unit_length(any_embedder: embed.Embedder) -> None:
    for v in [*any_embedder.embed_documents(EN + ZH), any_embedder.embed_query(ZH[0])]:
        assert math.isclose(float(np.linalg.norm(v)), 1.0, abs_tol=1e-4)
        assert all(isinstance(x, float) for x in v[:3])


@pytest.mark.slow
def test_contract_query_and_document_agree(any_embedder: embed.Embedder) -> None:
    docs = any_embedder.embed_documents(EN + ZH)
    for text, doc in zip(EN + ZH, docs, strict=True):
        assert _cos(any_embedder.embed_query(text), doc) >= 0.9999
    # Retrieval sanity: a query is nearest to its own text among the others.
    q = any_embedder.embed_query(ZH[0])
    assert int(np.argmax([_cos(q, d) for d in docs])) == len(EN)


@pytest.mark.slow
def test_contract_deterministic(any_embedder: embed.Embedder) -> None:
    a, b = any_embedder.embed_query(EN[0]), any_embedder.embed_query(EN[0])
    assert np.allclose(a, b, atol=1e-6)


@pytest.mark.slow
def test_contract_empty_inputs(any_embedder: embed.Embedder) -> None:
    assert any_embedder.embed_documents([]) == []
    v = any_embedder.embed_query("")
    assert len(v) == 384 and all(math.isfinite(x) for x in v)
    assert math.isclose(float(np.linalg.norm(v)), 1.0, abs_tol=1e-4)
    assert np.allclose(any_embedder.embed_documents(["", "x"])[0], v, atol=1e-4)  # padding does not leak in
