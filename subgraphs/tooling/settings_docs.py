"""docs/settings.md, generated from `Settings` (`coursegraph docs settings`; a test fails when it is stale).

The variables, their sections and defaults come from the Settings model itself; what each one means is
written here, once (`MEANINGS`, by variable name). A new setting without a meaning fails the test.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from subgraphs.core.settings import Settings

PREFIX = "COURSEGRAPH_"

MEANINGS: dict[str, str] = {
    "DATABASE_URL": "PostgreSQL URL (also `COURSEGRAPH_DATABASE_URL`); empty starts the embedded one under the data dir",
    "REDIS_URL": "Redis URL (also `COURSEGRAPH_REDIS_URL`); empty starts the embedded one under the data dir",
    "COURSEGRAPH_ENVIRONMENT": "`development`, `test` or `production` (production refuses placeholder secrets and embedded services, hides introspection from callers without `schema:read`, requires the router secret)",
    "COURSEGRAPH_DATA_DIR": "embedded PostgreSQL/Redis data, dev signing keys and dev mail live here",
    "COURSEGRAPH_BIND_HOST": "address subgraphs listen on",
    "COURSEGRAPH_LOG_LEVEL": "Python log level",
    "COURSEGRAPH_TRUSTED_PROXIES": "peers whose `X-Forwarded-For` is believed (the router); JSON list of addresses/networks. The client is the right-most hop that is not one of them",
    "COURSEGRAPH_METRICS_TOKEN": "`/metrics` of every subgraph needs `Authorization: Bearer <this>` (32+ characters in production); empty: `/metrics` is open outside production and off (404) in production",
    "COURSEGRAPH_DATABASE__POOL_SIZE": "connections per process",
    "COURSEGRAPH_DATABASE__MAX_OVERFLOW": "extra connections under load (each is closed on return: churn, so 0 by default)",
    "COURSEGRAPH_DATABASE__PING_AFTER_IDLE_SECONDS": "a pooled connection idle longer than this is pinged before use (docs/performance.md)",
    "COURSEGRAPH_DATABASE__STATEMENT_TIMEOUT_MS": "PostgreSQL `statement_timeout`",
    "COURSEGRAPH_DATABASE__IDLE_IN_TRANSACTION_TIMEOUT_MS": "PostgreSQL `idle_in_transaction_session_timeout`",
    "COURSEGRAPH_DATABASE__ECHO": "log every SQL statement",
    "COURSEGRAPH_AUTH__ISSUER": "`iss` of access tokens",
    "COURSEGRAPH_AUTH__AUDIENCE": "`aud` of access tokens",
    "COURSEGRAPH_AUTH__ACCESS_TOKEN_TTL_SECONDS": "access token lifetime",
    "COURSEGRAPH_AUTH__REFRESH_TOKEN_TTL_SECONDS": "absolute refresh token lifetime",
    "COURSEGRAPH_AUTH__SESSION_TTL_SECONDS": "Redis session lifetime after the last sign-in or refresh (sliding)",
    "COURSEGRAPH_AUTH__EMAIL_TOKEN_TTL_SECONDS": "email verification link lifetime",
    "COURSEGRAPH_AUTH__PASSWORD_RESET_TTL_SECONDS": "password reset link lifetime",
    "COURSEGRAPH_AUTH__SIGNING_KEYS_FILE": "private Ed25519 JWK set (a mounted secret in production; generated in dev)",
    "COURSEGRAPH_AUTH__JWKS_URL": "where subgraphs and the router fetch public keys",
    "COURSEGRAPH_AUTH__JWKS_REFRESH_MIN_INTERVAL_SECONDS": "an unknown `kid` re-reads the JWKS at most this often",
    "COURSEGRAPH_AUTH__JWKS_CACHE_SECONDS": "JWKS cache lifetime",
    "COURSEGRAPH_AUTH__PASSWORD_MIN_LENGTH": "minimum password length",
    "COURSEGRAPH_AUTH__ARGON2_MEMORY_KIB": "argon2id memory cost (floor 19456)",
    "COURSEGRAPH_AUTH__ARGON2_TIME_COST": "argon2id iterations (floor 2)",
    "COURSEGRAPH_AUTH__CLIENT_SECRET_MIN_LENGTH": "minimum API client secret length",
    "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT": "rate limit: login per account from one source address",
    "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT_WINDOW_SECONDS": "rate limit: login per account window seconds",
    "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT_BACKSTOP": "login per account from all sources (the slower backstop)",
    "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT_BACKSTOP_WINDOW_SECONDS": "its window",
    "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_IP": "rate limit: login per ip",
    "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_IP_WINDOW_SECONDS": "rate limit: login per ip window seconds",
    "COURSEGRAPH_RATE_LIMITS__REGISTER_PER_IP": "rate limit: register per ip",
    "COURSEGRAPH_RATE_LIMITS__REGISTER_PER_IP_WINDOW_SECONDS": "rate limit: register per ip window seconds",
    "COURSEGRAPH_RATE_LIMITS__REGISTER_NOTICE_PER_RECIPIENT": '"you already have an account" notices to one address per window (more stay silent)',
    "COURSEGRAPH_RATE_LIMITS__REGISTER_NOTICE_PER_RECIPIENT_WINDOW_SECONDS": "its window",
    "COURSEGRAPH_RATE_LIMITS__RESET_PASSWORD_PER_IP": "`resetPassword` calls per source address (each alias counts)",
    "COURSEGRAPH_RATE_LIMITS__RESET_PASSWORD_PER_IP_WINDOW_SECONDS": "its window",
    "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL": "rate limit: api per principal",
    "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL_WINDOW_SECONDS": "rate limit: api per principal window seconds",
    "COURSEGRAPH_RATE_LIMITS__PASSWORD_RESET_PER_ACCOUNT": "rate limit: password reset per account",
    "COURSEGRAPH_RATE_LIMITS__PASSWORD_RESET_PER_ACCOUNT_WINDOW_SECONDS": "rate limit: password reset per account window seconds",
    "COURSEGRAPH_RATE_LIMITS__TOKEN_ENDPOINT_PER_CLIENT": "rate limit: `/oauth/token` per client id from one source address",
    "COURSEGRAPH_RATE_LIMITS__TOKEN_ENDPOINT_PER_CLIENT_WINDOW_SECONDS": "rate limit: token endpoint per client window seconds",
    "COURSEGRAPH_RATE_LIMITS__TOKEN_ENDPOINT_PER_CLIENT_BACKSTOP": "`/oauth/token` per client id from all sources (the backstop)",
    "COURSEGRAPH_RATE_LIMITS__TOKEN_ENDPOINT_PER_CLIENT_BACKSTOP_WINDOW_SECONDS": "its window",
    "COURSEGRAPH_RATE_LIMITS__LAB_CREATE_PER_USER": "labs one user may start per window",
    "COURSEGRAPH_RATE_LIMITS__LAB_CREATE_PER_USER_WINDOW_SECONDS": "its window",
    "COURSEGRAPH_RATE_LIMITS__TRACK_ACTIVITY_PER_USER": "`trackActivity` calls per user per window",
    "COURSEGRAPH_RATE_LIMITS__TRACK_ACTIVITY_PER_USER_WINDOW_SECONDS": "its window",
    "COURSEGRAPH_GRAPHQL__MAX_DEPTH": "query depth limit (subgraphs and router)",
    "COURSEGRAPH_GRAPHQL__MAX_ALIASES": "alias limit",
    "COURSEGRAPH_GRAPHQL__MAX_TOKENS": "token limit",
    "COURSEGRAPH_GRAPHQL__MAX_COST": "router demand-control cost limit: the estimated objects of one operation (connections count `first` items, plain lists their `@listSize`)",
    "COURSEGRAPH_GRAPHQL__MAX_PAGE_SIZE": "largest `first` of a connection",
    "COURSEGRAPH_GRAPHQL__MAX_BODY_BYTES": "largest request body (router and subgraphs: 413) and WebSocket message (subgraphs)",
    "COURSEGRAPH_GRAPHQL__BODY_TIMEOUT_SECONDS": "a request body must arrive within this time (router and subgraphs: 408, connection closed)",
    "COURSEGRAPH_GRAPHQL__MAX_JSON_DEPTH": "deepest nesting of a JSON body (router and subgraphs: 400)",
    "COURSEGRAPH_MAIL__BACKEND": "`file` (dev/tests: .eml files + log) or `smtp`",
    "COURSEGRAPH_MAIL__DIRECTORY": "where the file backend writes",
    "COURSEGRAPH_MAIL__SENDER": "From header",
    "COURSEGRAPH_MAIL__SMTP_HOST": "SMTP server",
    "COURSEGRAPH_MAIL__SMTP_PORT": "SMTP port",
    "COURSEGRAPH_MAIL__SMTP_USERNAME": "SMTP user",
    "COURSEGRAPH_MAIL__SMTP_PASSWORD": "SMTP password",
    "COURSEGRAPH_MAIL__SMTP_STARTTLS": "use STARTTLS",
    "COURSEGRAPH_MAIL__WEB_BASE_URL": "the router's public origin: links in mails open the web app's pages there (\"Links in mails\")",
    "COURSEGRAPH_ROUTER__HOST": "router address",
    "COURSEGRAPH_ROUTER__RESPONSE_CACHE_TTL_MS": "the router's per-caller response cache: an answer is kept this long (at most an hour) while nothing it shows by id changes; 0: off (docs/performance.md)",
    "COURSEGRAPH_ROUTER__PORT": "router port",
    "COURSEGRAPH_ROUTER__CORS_ORIGINS": "allowed browser origins (JSON list)",
    "COURSEGRAPH_ROUTER__SHARED_SECRET": "sent by the router to subgraphs; required (32+ chars) in production",
    "COURSEGRAPH_ROUTER__SUBGRAPH_URLS": "JSON object subgraph -> URL overriding the local ports",
    "COURSEGRAPH_EVENTS__RELAY_BATCH_SIZE": "outbox rows per relay batch",
    "COURSEGRAPH_EVENTS__RELAY_POLL_INTERVAL_SECONDS": "relay poll interval when idle",
    "COURSEGRAPH_EVENTS__CONSUMER_BLOCK_MS": "how long a consumer blocks on XREADGROUP",
    "COURSEGRAPH_EVENTS__CONSUMER_CLAIM_IDLE_MS": "pending messages idle this long are re-claimed from a dead consumer",
    "COURSEGRAPH_EVENTS__DEDUPE_TTL_SECONDS": "how long handled event ids are remembered",
    "COURSEGRAPH_EVENTS__STREAM_RECHECK_SECONDS": "an open subscription re-checks the subscriber's session and access this often, and ends with `SESSION_ENDED` / `ACCESS_REVOKED` once they are gone",
    "COURSEGRAPH_EVENTS__CONSUMER_MAX_ATTEMPTS": "a failing event is retried (every `CONSUMER_CLAIM_IDLE_MS`) this often, then moved to the stream `deadletter.<group>`",
    "COURSEGRAPH_EVENTS__READ_YOUR_WRITES_WAIT_SECONDS": "how long, at most, a subgraph that misses a row in a projection waits for its consumer to reach the end of the producing stream before it answers as if the row did not exist (docs/reliability.md)",
    "COURSEGRAPH_ORGANIZATIONS__INVITATION_TTL_SECONDS": "how long an emailed invitation to join an organization stays valid",
    "ANTHROPIC_API_KEY": "honoured when `COURSEGRAPH_GENERATOR__ANTHROPIC_API_KEY` is not set",
    "COURSEGRAPH_GENERATOR__ANTHROPIC_API_KEY": "Anthropic API key; empty: generation uses the deterministic OFFLINE provider",
    "COURSEGRAPH_GENERATOR__BASE_URL": "Anthropic API base URL (empty: the SDK default; tests point it at a local fake server)",
    "COURSEGRAPH_CONTENT__STORAGE": "`filesystem` (under `<data dir>/content`) or `s3`",
    "COURSEGRAPH_CONTENT__S3_ENDPOINT_URL": "an S3-compatible endpoint (MinIO, …); empty: AWS for the region",
    "COURSEGRAPH_CONTENT__S3_BUCKET": "the bucket (created beforehand)",
    "COURSEGRAPH_CONTENT__S3_REGION": "the region",
    "COURSEGRAPH_CONTENT__S3_ACCESS_KEY_ID": "credentials; empty: boto3's own chain (environment, instance role)",
    "COURSEGRAPH_CONTENT__S3_SECRET_ACCESS_KEY": "see above",
    "COURSEGRAPH_CONTENT__MAX_UPLOAD_BYTES": "one upload's size cap",
    "COURSEGRAPH_CONTENT__DEFAULT_QUOTA_BYTES": "an organization's storage when its `storage_quota_bytes` is null",
    "COURSEGRAPH_CONTENT__UPLOAD_URL_SECONDS": "lifetime of a signed upload URL",
    "COURSEGRAPH_CONTENT__DOWNLOAD_URL_SECONDS": "lifetime of a signed download URL",
    "COURSEGRAPH_CONTENT__URL_SECRET": "the URL signing secret, its own (32+ random chars; required in production); empty outside production: a random key in `<data dir>/keys/content-url.key`",
    "COURSEGRAPH_CONTENT__PUBLIC_URL": "the origin of signed file links: the router, which forwards `/content/*`",
    "COURSEGRAPH_CONTENT__ROUTER_URL": "where the worker reaches the router to read a course for an export",
    "COURSEGRAPH_CONTENT__EXPORT_LEASE_SECONDS": "an export job's lease, renewed at each step",
    "COURSEGRAPH_CONTENT__EXPORT_MAX_ATTEMPTS": "restarts of a job whose worker died before it fails",
    "COURSEGRAPH_AUTH__SERVICE_SECRET": "the platform processes' shared secret for service tokens (32+ random chars; required in production); empty outside production: a random key in `<data dir>/keys/service-token.key`",
    "COURSEGRAPH_GENERATOR__MODEL": "model of every generation call",
    "COURSEGRAPH_GENERATOR__OPENAI_BASE_URL": "an OpenAI-compatible Chat Completions server (e.g. `http://127.0.0.1:8080/v1`), tried after Anthropic; empty: not used",
    "COURSEGRAPH_GENERATOR__OPENAI_API_KEY": "its bearer token, if it wants one",
    "COURSEGRAPH_GENERATOR__OPENAI_MODEL": "the model name sent to it",
    "COURSEGRAPH_GENERATOR__MAX_TOKENS": "`max_tokens` of a generation call",
    "COURSEGRAPH_GENERATOR__TIMEOUT_SECONDS": "timeout of one call",
    "COURSEGRAPH_GENERATOR__RETRIES": "retries of one call on 429 / 529 / connection errors (jittered, honouring `retry-after`)",
    "COURSEGRAPH_GENERATOR__RETRY_BASE_SECONDS": "first backoff; doubles per retry, full jitter",
    "COURSEGRAPH_GENERATOR__RETRY_MAX_SECONDS": "longest wait between retries (also caps `retry-after`)",
    "COURSEGRAPH_GENERATOR__REASK_ATTEMPTS": "invalid structured output is re-asked with the validation errors this often, then the job fails",
    "COURSEGRAPH_GENERATOR__BREAKER_FAILURES": "consecutive failed calls that open the circuit breaker (the next provider answers)",
    "COURSEGRAPH_GENERATOR__BREAKER_RESET_SECONDS": "how long an open breaker stays open",
    "COURSEGRAPH_GENERATOR__INPUT_USD_PER_MTOK": "cost of a million input tokens (USD)",
    "COURSEGRAPH_GENERATOR__OUTPUT_USD_PER_MTOK": "cost of a million output tokens (USD)",
    "COURSEGRAPH_GENERATOR__DAILY_TOKEN_BUDGET": "tokens an organization may spend per UTC day, unless its `generationDailyTokenBudget` setting says otherwise",
    "COURSEGRAPH_GENERATOR__CACHE_TTL_SECONDS": "generation results cache lifetime",
    "COURSEGRAPH_GENERATOR__LEASE_SECONDS": "lease of a running job, renewed while it streams; an expired lease is requeued",
    "COURSEGRAPH_GENERATOR__MAX_ATTEMPTS": "a job that lost its worker this often fails with a reason instead of being requeued",
    "COURSEGRAPH_LABS__RUNTIME": "where labs run: `docker`, `process` (local processes, the embedded default), or `auto` (Docker when an engine answers)",
    "COURSEGRAPH_LABS__DOCKER_NETWORK": "the internal bridge network labs join (no route out, firewalled from the host's services)",
    "COURSEGRAPH_LABS__ALLOWED_IMAGES": "JSON list of the only images a lab may run",
    "COURSEGRAPH_LABS__WORKSPACE_DIR": "lab workspaces and the process runtime's state",
    "COURSEGRAPH_LABS__START_TIMEOUT_SECONDS": "a lab whose IDE does not answer its health check by then fails",
    "COURSEGRAPH_LABS__MAX_CONCURRENT_STARTS": "labs starting at once; more get `LabCapacityExceeded` with a retry-after",
    "COURSEGRAPH_LABS__PUBLIC_URL": "base URL of the authenticated lab proxy as browsers reach it",
    "COURSEGRAPH_LABS__MONITOR_INTERVAL_SECONDS": "the worker's lab lifecycle loop (idle → paused → stopped, dead environments, reconciliation with the runtime: adopt, finish, remove orphans) runs at start and this often",
    "COURSEGRAPH_LABS__INSTANCE": "a name for this platform: its Docker labs are labelled `coursegraph.instance=<name>` and only those are reconciled (platforms or test runs sharing one engine); empty: every lab on the engine",
    "COURSEGRAPH_LABS__ACTIVITY_THROTTLE_SECONDS": "proxied traffic records a lab's activity at most this often",
    "COURSEGRAPH_LABS__PROXY_COOKIE_SECONDS": "lifetime of the lab proxy's signed cookie (renewed while in use)",
    "COURSEGRAPH_LABS__SANDBOX": "the process runtime's sandbox: `bubblewrap` (required), `none` (plain processes, not isolated), `auto` (bubblewrap where it works, else none with a warning)",
    "COURSEGRAPH_LABS__SANDBOX_READ_ONLY_PATHS": "JSON list of more host paths a sandboxed lab sees read-only (an IDE installed outside Python's environment)",
    "COURSEGRAPH_LABS__PROXY_COOKIE_SECRET": "the lab proxy cookie's signing secret, its own (32+ random chars, not the router's secret; required in production); empty outside production: a random key made once in `<data dir>/keys/lab-proxy-cookie.key`",
    "COURSEGRAPH_LABS__PROXY_READ_TIMEOUT_SECONDS": "a lab's IDE silent this long while answering a proxied HTTP request is cut off (504 before the response headers)",
    "COURSEGRAPH_ANALYTICS__ENGAGEMENT_CACHE_SECONDS": "engagement scores are cached this long (and dropped on the student's next event)",
    "COURSEGRAPH_ANALYTICS__COURSE_STATS_CACHE_SECONDS": "course stats are cached this long (and dropped on the course's next event)",
    "COURSEGRAPH_ANALYTICS__RISK_SWEEP_INTERVAL_SECONDS": "how often the worker re-evaluates students inactive for a week or more (inactivity alone takes a student to HIGH after two weeks, and raises no event)",
    "COURSEGRAPH_ANALYTICS__PUBLIC_URL": "the origin of report CSV links (`csvUrl`, `dailyCsvUrl`): the router, which forwards `/reports/*` to the analytics subgraph's routes (they check the Bearer token themselves)",
    "COURSEGRAPH_DATABASE__URL": "the same as `DATABASE_URL` (either one)",
    "COURSEGRAPH_REDIS__URL": "the same as `REDIS_URL` (either one)",
}


def variables(model: type[BaseModel] = Settings, prefix: str = PREFIX) -> list[tuple[str, str, FieldInfo]]:
    """(section, variable, field) of every setting, in the order of the model."""
    found: list[tuple[str, str, FieldInfo]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += variables(annotation, f"{prefix}{name.upper()}__")
        elif field.validation_alias is not None:  # DATABASE_URL, REDIS_URL, ANTHROPIC_API_KEY
            # type: ignore: an AliasChoices here (settings.py declares them so), which the union type hides
            found.append((prefix, field.validation_alias.choices[0], field))  # type: ignore[union-attr]
        else:
            found.append((prefix, f"{prefix}{name.upper()}", field))
    return found


def _default(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if value == "" or value is None:
        return "empty"
    if isinstance(value, (list, dict)):
        return f"`{json.dumps(value)}`"
    if isinstance(value, Path):
        value = str(value)
    return f"`{value}`"


def settings_markdown() -> str:
    lines = [
        "# Settings",
        "",
        "<!-- Generated from subgraphs/core/settings.py by `coursegraph docs settings`; do not edit. -->",
        "",
        "One `Settings` object (`subgraphs/core/settings.py`) read from the environment (or `.env`); nested",
        "sections use `__` (`COURSEGRAPH_AUTH__ACCESS_TOKEN_TTL_SECONDS=600`). `DATABASE_URL`, `REDIS_URL` and",
        "`ANTHROPIC_API_KEY` are also read unprefixed. The router gets its `CG_*` variables from these (see",
        "`router/README.md`). Production refuses placeholder secrets (`COURSEGRAPH_ENVIRONMENT=production`).",
    ]
    section = None
    for prefix, name, field in variables():
        if prefix != section:
            section = prefix
            title = "General" if prefix == PREFIX else f"`{prefix}*`"
            lines += ["", f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        lines.append(
            f"| `{name}` | {_default(field.get_default(call_default_factory=True))} | {MEANINGS.get(name, '')} |"
        )
    return "\n".join(lines) + "\n"


def undocumented() -> list[str]:
    return [name for _, name, _ in variables() if not MEANINGS.get(name)]
