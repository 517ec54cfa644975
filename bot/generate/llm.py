"""The one interface to a configured chat model, and its factory over LangChain's ChatOpenAI.

Any OpenAI-compatible server works (llama.cpp, vLLM, Qwen, DeepSeek, OpenAI). Whatever goes wrong on the model's
side (a time-out, a 429, a 5xx, a refused connection, a malformed reply) becomes `ModelUnavailable` with a one-line
reason, so the caller can fall back to the extractive answer instead of showing an error.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from indexer.settings import Settings

log = logging.getLogger(__name__)

# (role, text) pairs: "system", "human" (user) or "ai" (assistant), as LangChain's message tuples take them.
Messages = Sequence[tuple[str, str]]
# The openai client wants some key; servers that need none ignore it.
NO_KEY = "not-needed"


class ModelUnavailable(Exception):  # noqa: N818 - it is a state, not a programming error
    """The model gave no usable answer in time; `reason` is one line for the user."""

    def __init__(self, reason: str, *, kind: str = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # timeout | rate_limited | server_error | unreachable | error


class ChatModel(Protocol):
    """What the generated answer needs from a model."""

    name: str

    def complete(self, messages: Messages, *, on_token: Callable[[str], None] | None = None,
                 timeout_s: float | None = None, max_tokens: int | None = None) -> str:
        """The whole reply, streamed to `on_token` as it comes; ModelUnavailable when it cannot be had within
        `timeout_s` (the whole reply, not one read)."""
        ...


class OpenAICompatibleModel:
    """LangChain's ChatOpenAI against `base_url`; no retries (a retry would blow the user's time budget)."""

    def __init__(self, *, base_url: str, model: str, api_key: str | None, timeout_s: float, max_tokens: int,
                 temperature: float = 0.0, seed: int | None = 0) -> None:
        from langchain_openai import ChatOpenAI

        self.name = model
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self._chat = ChatOpenAI(
            model=model, base_url=base_url, api_key=api_key or NO_KEY,  # type: ignore[arg-type]
            timeout=timeout_s, max_retries=0, temperature=temperature, seed=seed, streaming=True,
        )

    def complete(self, messages: Messages, *, on_token: Callable[[str], None] | None = None,
                 timeout_s: float | None = None, max_tokens: int | None = None) -> str:
        budget = timeout_s or self.timeout_s
        deadline = time.monotonic() + budget
        # The budget goes as `max_tokens`: ChatOpenAI would send only `max_completion_tokens`, which
        # llama-cpp-python's server ignores (it then writes until its context is full); DeepSeek, Qwen's API, vLLM
        # and llama.cpp read `max_tokens`.
        chat = self._chat.bind(extra_body={"max_tokens": max_tokens or self.max_tokens})
        chunks: queue.Queue[tuple[str, Any]] = queue.Queue()

        def pump() -> None:
            try:
                for chunk in chat.stream(list(messages)):
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        chunks.put(("text", text))
                chunks.put(("end", None))
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                chunks.put(("error", e))

        # A daemon thread: a server that stalls mid-stream must not hold the answer past its deadline; the thread
        # itself ends when the client's own time-out (the same budget) closes the connection.
        threading.Thread(target=pump, name="llm-stream", daemon=True).start()
        out: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ModelUnavailable(f"the model did not finish within {budget:g} s", kind="timeout")
            try:
                kind, value = chunks.get(timeout=left)
            except queue.Empty:
                raise ModelUnavailable(f"the model did not finish within {budget:g} s", kind="timeout") from None
            if kind == "text":
                out.append(value)
                if on_token is not None:
                    on_token(value)
            elif kind == "end":
                return "".join(out)
            else:
                raise unavailable(value, budget) from value


def unavailable(exc: BaseException, budget: float) -> ModelUnavailable:
    """The one-line reason for a failed model call."""
    import httpx
    import openai

    if isinstance(exc, ModelUnavailable):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return ModelUnavailable(f"the model did not finish within {budget:g} s", kind="timeout")
    if isinstance(exc, openai.RateLimitError):
        return ModelUnavailable("the model server is rate-limiting requests (HTTP 429)", kind="rate_limited")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        kind = "server_error" if code >= 500 else "error"
        return ModelUnavailable(f"the model server answered HTTP {code}", kind=kind)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return ModelUnavailable("the model server could not be reached", kind="unreachable")
    log.warning("the model call failed: %r", exc)
    return ModelUnavailable(f"the model call failed ({type(exc).__name__})")


def make_chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None when none is (then answers stay extractive and nothing is sent anywhere)."""
    if not settings.llm_configured:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAICompatibleModel(
        base_url=str(settings.llm_base_url), model=str(settings.llm_model), api_key=key,
        timeout_s=settings.llm_timeout_s, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature,
    )
