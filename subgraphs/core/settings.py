"""One Settings object for every process, read from `COURSEGRAPH_*` environment variables.

Nested sections use `__`: `COURSEGRAPH_AUTH__ACCESS_TOKEN_TTL_SECONDS=600`. `DATABASE_URL` and `REDIS_URL`
are also honoured unprefixed because every hosting platform sets them that way. README lists each setting.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from subgraphs.core.domains import SUBGRAPH_PORTS

PLACEHOLDER = "change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class DatabaseSettings(BaseModel):
    # Empty means "start the embedded PostgreSQL under data_dir" (dev) — see tooling/embedded.py.
    url: str = ""
    # Per process. No overflow by default: overflow connections are closed on return (connection churn).
    pool_size: int = 20
    max_overflow: int = 0
    # A pooled connection is pinged before use only after idling this long (core/db.py: ping_when_idle).
    ping_after_idle_seconds: float = 5.0
    statement_timeout_ms: int = 15_000
    idle_in_transaction_timeout_ms: int = 30_000
    echo: bool = False


class RedisSettings(BaseModel):
    url: str = ""  # empty: embedded redis-server under data_dir


class AuthSettings(BaseModel):
    issuer: str = "coursegraph"
    audience: str = "coursegraph-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    session_ttl_seconds: int = 24 * 3600
    email_token_ttl_seconds: int = 24 * 3600
    password_reset_ttl_seconds: int = 3600
    # Private signing keys (a JWK set, Ed25519). Generated on first run outside production.
    signing_keys_file: Path = Path(".coursegraph/keys/signing-keys.json")
    # Where other subgraphs fetch public keys; the users subgraph serves it.
    jwks_url: str = "http://127.0.0.1:4001/.well-known/jwks.json"
    # A verifier re-reads the JWKS at most this often when it meets an unknown `kid`.
    jwks_refresh_min_interval_seconds: float = 10.0
    jwks_cache_seconds: float = 300.0
    password_min_length: int = 10
    # argon2id cost; the floor (19 MiB, t=2) is OWASP's minimum.
    argon2_memory_kib: int = Field(default=65536, ge=19456)
    argon2_time_cost: int = Field(default=3, ge=2)
    client_secret_min_length: int = 32
    # Shared by the platform's processes: a worker presents it to get a service token (core.service_tokens).
    # 32+ random characters in production; empty elsewhere: a random key kept in <data_dir>/keys/.
    service_secret: str = ""


class RateLimitSettings(BaseModel):
    """`<count>/<seconds>` pairs. Every limit of the original design is one setting."""

    # Sign-in attempts per account from one source address, and for the account from everywhere (the
    # backstop, slower, so guessing from elsewhere cannot lock the owner out quickly).
    login_per_account: int = 5
    login_per_account_window_seconds: int = 60
    login_per_account_backstop: int = 100
    login_per_account_backstop_window_seconds: int = 3600
    login_per_ip: int = 100
    login_per_ip_window_seconds: int = 60
    register_per_ip: int = 3
    register_per_ip_window_seconds: int = 3600
    # "You already have an account" notices to one address (more registrations of it stay silent).
    register_notice_per_recipient: int = 1
    register_notice_per_recipient_window_seconds: int = 86400
    # resetPassword calls per source address (each alias counts).
    reset_password_per_ip: int = 10
    reset_password_per_ip_window_seconds: int = 60
    api_per_principal: int = 100
    api_per_principal_window_seconds: int = 60
    password_reset_per_account: int = 3
    password_reset_per_account_window_seconds: int = 3600
    # /oauth/token attempts per client id from one source address, and for the client from everywhere.
    token_endpoint_per_client: int = 60
    token_endpoint_per_client_window_seconds: int = 60
    token_endpoint_per_client_backstop: int = 1000
    token_endpoint_per_client_backstop_window_seconds: int = 3600
    lab_create_per_user: int = 10
    lab_create_per_user_window_seconds: int = 3600
    track_activity_per_user: int = 120
    track_activity_per_user_window_seconds: int = 60


class GraphQLSettings(BaseModel):
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_cost: int = 50_000
    max_page_size: int = 100
    # HTTP edge, router and subgraphs alike: the largest request body (uploads go through signed URLs),
    # how long a body may take to arrive (slow-body attacks), and the deepest JSON nesting.
    max_body_bytes: int = 1_048_576
    body_timeout_seconds: float = 10.0
    max_json_depth: int = 64


class MailSettings(BaseModel):
    # "file": write .eml files to `directory` and log them (dev, tests). "smtp": send through `smtp_*`.
    backend: str = "file"
    directory: Path = Path(".coursegraph/mail")
    sender: str = "CourseGraph <no-reply@coursegraph.local>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Links in mails point at the web app.
    web_base_url: str = "http://127.0.0.1:4000"


class RouterSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 4000
    cors_origins: list[str] = [
        "http://127.0.0.1:4000",
        "http://localhost:4000",
        "http://127.0.0.1:5173",
        "http://localhost:5173",
    ]
    # Sent by the router on every subgraph request; in production subgraphs refuse requests without it.
    shared_secret: str = PLACEHOLDER
    # Subgraph name -> URL, overriding the local defaults (production deploys).
    subgraph_urls: dict[str, str] = {}
    # The router's per-caller response cache (router/response-cache.ts, docs/performance.md): answers to a
    # token's queries kept this long (at most an hour) while nothing they show by id has changed; what
    # they do not show by id (a new item in a list) shows after at most this. 0: off.
    response_cache_ttl_ms: int = 5_000


class EventSettings(BaseModel):
    relay_batch_size: int = 200
    relay_poll_interval_seconds: float = 0.2
    consumer_block_ms: int = 1000
    # A message a consumer read but did not ack is re-claimed by another consumer after this long.
    consumer_claim_idle_ms: int = 30_000
    dedupe_ttl_seconds: int = 7 * 24 * 3600
    # A failing event is retried this many times, then moved to `deadletter.<consumer group>`.
    consumer_max_attempts: int = 5
    # An open subscription re-checks its session and access this often (then ends if they are gone).
    stream_recheck_seconds: float = 5.0
    # Read your writes across subgraphs: on a miss in a projection, how long a request waits at most for
    # the projection's consumer to reach the end of its stream (docs/reliability.md).
    read_your_writes_wait_seconds: float = 5.0


class OrganizationsSettings(BaseModel):
    # How long an emailed invitation to join an organization stays valid.
    invitation_ttl_seconds: int = 7 * 24 * 3600


class GeneratorSettings(BaseModel):
    # Empty: no Anthropic calls; jobs use the OFFLINE provider. Plain `ANTHROPIC_API_KEY` is honoured too.
    anthropic_api_key: str = ""
    # Empty: the SDK's default (https://api.anthropic.com); tests point it at a local fake server.
    base_url: str = ""
    model: str = "claude-sonnet-4-5"
    # An OpenAI-compatible Chat Completions server (e.g. a local inference server), tried after Anthropic.
    # Empty: not used.
    openai_base_url: str = ""
    openai_api_key: str = ""
    openai_model: str = ""
    max_tokens: int = 8192
    timeout_seconds: float = 120.0
    # Retries of one call on 429 / 529 / connection errors (jittered backoff honouring retry-after).
    retries: int = 3
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 20.0
    # Invalid structured output is re-asked with the validation errors this many times, then the job fails.
    reask_attempts: int = 2
    # Consecutive failed calls that open the circuit breaker (the next provider answers), and for how long.
    breaker_failures: int = 3
    breaker_reset_seconds: float = 60.0
    # Cost accounting, US dollars per million tokens.
    input_usd_per_mtok: float = 3.0
    output_usd_per_mtok: float = 15.0
    # Tokens an organization may spend per UTC day (organization settings will override it).
    daily_token_budget: int = 2_000_000
    cache_ttl_seconds: int = 24 * 3600
    # A running job's lease; a worker renews it while streaming, an expired lease is requeued.
    lease_seconds: float = 60.0
    # A job that lost its worker this many times fails instead of being requeued again.
    max_attempts: int = 3


class LabsSettings(BaseModel):
    # auto: Docker when an engine answers, else local processes (the embedded default).
    runtime: str = "auto"
    # The bridge network labs join; internal (no route out) and firewalled from the host's services.
    docker_network: str = "coursegraph-labs"
    # Images a lab may run (exact names); anything else is refused before a container is created.
    allowed_images: list[str] = [
        "coursegraph/lab-vscode:1",
        "coursegraph/lab-jupyter:1",
        "coursegraph/lab-terminal:1",
    ]
    # Workspaces (process runtime: directories; Docker: named volumes) and the process runtime's state.
    workspace_dir: Path = Path(".coursegraph/labs")
    start_timeout_seconds: float = 120.0
    max_concurrent_starts: int = 10
    # Base URL of the authenticated lab proxy as browsers reach it; accessUrl = <this>/labs/<session id>/.
    public_url: str = "http://127.0.0.1:4005"
    # The worker's lifecycle loop (idle, dead environments, reconciliation with runtime.list_managed()) runs
    # at worker start and this often.
    monitor_interval_seconds: float = 5.0
    # A name for this platform instance: its Docker labs carry the label coursegraph.instance=<name> and only
    # those are reconciled (several platforms or test runs sharing one engine). Empty: every lab.
    instance: str = ""
    # Proxied traffic updates a session's lastActivityAt at most this often.
    activity_throttle_seconds: int = 30
    # Lifetime of the proxy's signed session cookie (renewed while the IDE is used).
    proxy_cookie_seconds: int = 900
    # The process runtime's sandbox: bubblewrap (required), none (plain processes), auto (bubblewrap where it
    # works, else none with a warning).
    sandbox: str = "auto"
    # More host paths a sandboxed lab sees, read-only (an IDE installed outside Python's environment).
    sandbox_read_only_paths: list[Path] = []
    # The key that signs the proxy's cookie: a secret of its own (32+ random characters, no other
    # setting's value). Empty outside production: a random key is made once in <data_dir>/keys/.
    proxy_cookie_secret: str = ""
    # A lab's IDE silent this long while answering a proxied HTTP request gets cut off (504 before the
    # headers): a lab that never answers must not hold proxy connections forever.
    proxy_read_timeout_seconds: float = 60.0


class AnalyticsSettings(BaseModel):
    engagement_cache_seconds: int = 5 * 60  # the original design's caching layers
    course_stats_cache_seconds: int = 3600
    # How often the worker re-evaluates the risk of students inactive for a week or more (inactivity raises
    # no event, yet it alone takes a student to HIGH after two weeks).
    risk_sweep_interval_seconds: float = 600.0
    # Where browsers download report CSVs (`csvUrl`): the router's origin, which forwards /reports/* to this
    # subgraph's routes (they authenticate the Bearer token themselves). Empty: http://<router host>:<port>.
    public_url: str = ""


class ContentSettings(BaseModel):
    # Where bytes live: "filesystem" (under <data_dir>/content, the embedded default) or "s3".
    storage: str = "filesystem"
    # S3-compatible object storage (AWS, MinIO, ...): endpoint empty means AWS's own for the region.
    s3_endpoint_url: str = ""
    s3_bucket: str = "coursegraph-content"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # One upload's size cap, and an organization's storage when its `storage_quota_bytes` setting is null.
    max_upload_bytes: int = 2 * 1024**3
    default_quota_bytes: int = 10 * 1024**3
    # Lifetimes of the signed URLs.
    upload_url_seconds: int = 15 * 60
    download_url_seconds: int = 5 * 60
    # The key signing those URLs: 32+ random characters, no other setting's value. Empty outside
    # production: a random key is made once in <data_dir>/keys/content-url.key.
    url_secret: str = ""
    # Where browsers reach /content/* (the router's origin). Empty: http://<router host>:<port>.
    public_url: str = ""
    # Where the worker reaches the router to read a course for an export (a service token, see
    # core.service_tokens). Empty: http://<router host>:<port>.
    router_url: str = ""
    # An export job's lease (renewed at each step) and how often a job interrupted by a dying worker restarts.
    export_lease_seconds: float = 300.0
    export_max_attempts: int = 3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COURSEGRAPH_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".coursegraph")
    # Subgraph hosts bind here; the router is the public entry point.
    bind_host: str = "127.0.0.1"
    log_level: str = "INFO"
    # Client IPs are taken from X-Forwarded-For only when the peer is one of these (the router).
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    # `/metrics` needs `Authorization: Bearer <this>` when set; when empty it is served only outside
    # production (subgraphs listen on 127.0.0.1 there) and answers 404 in production.
    metrics_token: str = ""
    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "COURSEGRAPH_DATABASE_URL")
    )
    redis_url: str = Field(default="", validation_alias=AliasChoices("REDIS_URL", "COURSEGRAPH_REDIS_URL"))
    anthropic_api_key: str = Field(default="", validation_alias=AliasChoices("ANTHROPIC_API_KEY"))

    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    auth: AuthSettings = AuthSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    graphql: GraphQLSettings = GraphQLSettings()
    mail: MailSettings = MailSettings()
    router: RouterSettings = RouterSettings()
    events: EventSettings = EventSettings()
    organizations: OrganizationsSettings = OrganizationsSettings()
    generator: GeneratorSettings = GeneratorSettings()
    labs: LabsSettings = LabsSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    content: ContentSettings = ContentSettings()

    @model_validator(mode="after")
    def _apply_plain_urls(self) -> Settings:
        if self.database_url and not self.database.url:
            self.database.url = self.database_url
        if self.redis_url and not self.redis.url:
            self.redis.url = self.redis_url
        self.database.url = normalize_database_url(self.database.url)
        if self.anthropic_api_key and not self.generator.anthropic_api_key:
            self.generator.anthropic_api_key = self.anthropic_api_key
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.environment is not Environment.PRODUCTION:
            return self
        problems = []
        if self.router.shared_secret in ("", PLACEHOLDER) or len(self.router.shared_secret) < 32:
            problems.append("COURSEGRAPH_ROUTER__SHARED_SECRET must be a random value of 32+ characters")
        lab_secret = self.labs.proxy_cookie_secret
        if len(lab_secret) < 32:
            problems.append("COURSEGRAPH_LABS__PROXY_COOKIE_SECRET must be a random value of 32+ characters")
        elif lab_secret == self.router.shared_secret:
            # Every secret keys are derived from is its own: one leaked value must not open the other door.
            problems.append(
                "COURSEGRAPH_LABS__PROXY_COOKIE_SECRET must differ from the router's shared secret"
            )
        if len(self.auth.service_secret) < 32:
            problems.append("COURSEGRAPH_AUTH__SERVICE_SECRET must be a random value of 32+ characters")
        content_secret = self.content.url_secret
        if len(content_secret) < 32:
            problems.append("COURSEGRAPH_CONTENT__URL_SECRET must be a random value of 32+ characters")
        elif content_secret in (self.router.shared_secret, lab_secret, self.auth.service_secret):
            problems.append("COURSEGRAPH_CONTENT__URL_SECRET must differ from every other secret")
        if not self.database.url:
            problems.append("DATABASE_URL must point at a PostgreSQL server (no embedded database)")
        if not self.redis.url:
            problems.append("REDIS_URL must point at a Redis server (no embedded Redis)")
        if self.mail.backend != "smtp":
            problems.append("COURSEGRAPH_MAIL__BACKEND must be 'smtp'")
        if self.mail.smtp_password == PLACEHOLDER:
            problems.append("COURSEGRAPH_MAIL__SMTP_PASSWORD is a placeholder")
        if self.metrics_token and len(self.metrics_token) < 32:
            problems.append("COURSEGRAPH_METRICS_TOKEN must be a random value of 32+ characters (or empty)")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def subgraph_url(self, name: str) -> str:
        return self.router.subgraph_urls.get(name) or f"http://127.0.0.1:{SUBGRAPH_PORTS[name]}/graphql"


def normalize_database_url(url: str) -> str:
    """Accept the `postgres://` / `postgresql://` forms platforms hand out; we always speak asyncpg."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
