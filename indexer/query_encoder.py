"""Torch-free query encoder: an ONNX export of the embedding model run with onnxruntime + tokenizers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from indexer.errors import StoreError

# This module is the whole query path: it must never import torch, transformers or sentence_transformers
# (their import alone costs seconds, which is what the ONNX export exists to avoid).

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
# Bump when the layout of an export changes, so old exports are re-made instead of misread.
EXPORT_FORMAT = 1
POOLING_MODES = ("mean", "cls", "max")

_REBUILD_HINT = "run `regwatch index` to rebuild it, or set REGWATCH_QUERY_ENCODER=sentence-transformers"


class QueryEncoderError(StoreError):
    """The ONNX query-encoder export is missing, stale, corrupt or does not reproduce the model."""


def read_export_config(directory: Path) -> dict[str, Any]:
    """encoder.json of an export, checked for shape and for the files it names; raises QueryEncoderError."""
    cfg_path = directory / CONFIG_FILE
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise QueryEncoderError(f"no query-encoder export in {directory}", hint=_REBUILD_HINT) from exc
    except (OSError, ValueError) as exc:
        raise QueryEncoderError(f"unreadable {cfg_path}: {exc}", hint=_REBUILD_HINT) from exc
    required = {
        "format": int,
        "model_id": str,
        "pooling": str,
        "normalize": bool,
        "max_seq_length": int,
        "dim": int,
        "input_names": list,
        "pad_id": int,
        "pad_token": str,
        "onnx_bytes": int,
    }
    if not isinstance(cfg, dict) or any(not isinstance(cfg.get(k), t) for k, t in required.items()):
        raise QueryEncoderError(f"malformed {cfg_path}", hint=_REBUILD_HINT)
    if cfg["format"] != EXPORT_FORMAT:
        raise QueryEncoderError(
            f"{cfg_path} has export format {cfg['format']}, expected {EXPORT_FORMAT}", hint=_REBUILD_HINT
        )
    if cfg["pooling"] not in POOLING_MODES:
        raise QueryEncoderError(f"{cfg_path}: unsupported pooling {cfg['pooling']!r}", hint=_REBUILD_HINT)
    onnx_path = directory / MODEL_FILE
    # A size check is free and catches truncated copies; a flipped byte is caught by onnxruntime's parser
    # or, failing that, not at all (a full hash would cost ~0.2 s of every cold start).
    if not onnx_path.is_file() or onnx_path.stat().st_size != cfg["onnx_bytes"]:
        raise QueryEncoderError(f"{onnx_path} is missing or truncated", hint=_REBUILD_HINT)
    if not (directory / TOKENIZER_FILE).is_file():
        raise QueryEncoderError(f"{directory / TOKENIZER_FILE} is missing", hint=_REBUILD_HINT)
    return cfg


class OnnxQueryEncoder:
    """Embeds text with an exported model: tokenizers -> onnxruntime -> pooling -> L2 normalisation."""

    def __init__(self, directory: Path, *, intra_op_threads: int = 2, batch_size: int = 32) -> None:
        self.directory = Path(directory)
        self.batch_size = max(1, batch_size)
        cfg = read_export_config(self.directory)
        self.model_id: str = cfg["model_id"]
        self.dim: int = cfg["dim"]
        self.pooling: str = cfg["pooling"]
        self.normalize: bool = cfg["normalize"]
        self.max_seq_length: int = cfg["max_seq_length"]
        self._input_names: list[str] = list(cfg["input_names"])
        try:
            tok = Tokenizer.from_file(str(self.directory / TOKENIZER_FILE))
        except Exception as exc:  # the Rust side raises plain Exception subclasses
            raise QueryEncoderError(
                f"unreadable tokenizer in {self.directory}: {exc}", hint=_REBUILD_HINT
            ) from exc
        # Set explicitly rather than trusting tokenizer.json: hub files often carry a fixed pad length
        # (all-MiniLM-L6-v2's pads everything to 128) or a truncation length other than the model's.
        tok.enable_truncation(self.max_seq_length)
        tok.enable_padding(pad_id=cfg["pad_id"], pad_token=cfg["pad_token"])
        self._tokenizer = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between runs: the bot shares its 2 cores with Chroma and Slack I/O, and spinning
        # workers measurably slowed everything else while saving well under a millisecond per query.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3  # onnxruntime warns about harmless initializer layout otherwise
        try:
            self._session = ort.InferenceSession(
                str(self.directory / MODEL_FILE), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad protobufs
            raise QueryEncoderError(
                f"corrupt ONNX model in {self.directory}: {exc}", hint=_REBUILD_HINT
            ) from exc
        have = {i.name for i in self._session.get_inputs()}
        if not set(self._input_names) <= have:
            raise QueryEncoderError(
                f"{self.directory}: model inputs {sorted(have)} do not match encoder.json", hint=_REBUILD_HINT
            )

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.encode(texts).tolist()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings as a float32 (n, dim) array, for callers that do their own maths."""
        if len(texts) <= self.batch_size:
            return self._encode(texts) if texts else np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length, so short texts are not padded to the longest one (and memory stays
        # bounded: one padded batch of everything would be n x 256 x dim floats).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._encode([texts[i] for i in idx])
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        # Same preprocessing as LangChain's HuggingFaceEmbeddings, which made the indexed vectors.
        encs = self._tokenizer.encode_batch([t.replace("\n", " ") for t in texts])
        columns = {
            "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
        }
        feeds = {name: columns[name] for name in self._input_names}
        hidden = self._session.run(None, feeds)[0].astype(np.float32, copy=False)
        mask = columns["attention_mask"][:, :, None].astype(np.float32)
        if self.pooling == "mean":
            vecs = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        elif self.pooling == "cls":
            vecs = hidden[:, 0, :]
        else:  # max: padding must never win, as in sentence-transformers
            vecs = np.where(mask > 0, hidden, -1e9).max(axis=1)
        if self.normalize:
            vecs = vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(vecs, dtype=np.float32)
