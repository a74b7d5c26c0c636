"""The federation router (Hive Gateway, router/) as a process: its command line and its environment."""

from __future__ import annotations

import json
import os

from subgraphs.core.settings import Settings
from subgraphs.tooling.paths import ROUTER_DIR, SCHEMA_DIR


def router_env(settings: Settings) -> dict[str, str]:
    """The router's configuration, derived from the one Settings (router/README.md lists the variables)."""
    g = settings.graphql
    env = {
        "CG_SUPERGRAPH": str(SCHEMA_DIR / "supergraph.graphql"),
        "CG_HOST": settings.router.host,
        "CG_PORT": str(settings.router.port),
        "CG_JWKS_URL": settings.auth.jwks_url,
        "CG_JWT_ISSUER": settings.auth.issuer,
        "CG_JWT_AUDIENCE": settings.auth.audience,
        "CG_PRODUCTION": "1" if settings.is_production else "0",
        "CG_MAX_DEPTH": str(g.max_depth),
        "CG_MAX_TOKENS": str(g.max_tokens),
        "CG_MAX_ALIASES": str(g.max_aliases),
        "CG_MAX_COST": str(g.max_cost),
        "CG_MAX_BODY_BYTES": str(g.max_body_bytes),
        "CG_BODY_TIMEOUT_MS": str(round(g.body_timeout_seconds * 1000)),
        "CG_MAX_JSON_DEPTH": str(g.max_json_depth),
        "CG_CORS_ORIGINS": ",".join(settings.router.cors_origins),
        "CG_ROUTER_SECRET": settings.router.shared_secret,
        "CG_RESPONSE_CACHE_TTL_MS": str(settings.router.response_cache_ttl_ms),
        "CG_REDIS_URL": settings.redis.url,  # the response cache's generations of callers
    }
    if settings.router.subgraph_urls:
        env["CG_SUBGRAPH_URLS"] = json.dumps(settings.router.subgraph_urls)
    if "GLIBC_TUNABLES" not in os.environ:
        env["GLIBC_TUNABLES"] = ROUTER_GLIBC_TUNABLES
    return env


# glibc raises its mmap threshold to the size of the largest block freed (up to 32 MiB): after the router's
# startup (module sources, parser buffers) big blocks stay in the malloc heap and its arenas, fragmented,
# and are never given back. A fixed threshold (which also fixes the trim threshold) keeps them mmapped and
# returned on free: ~45 MB less RSS at rest, ~60-80 MB less with 1,000 subscriptions (docs/performance.md).
ROUTER_GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=131072"


def router_argv() -> list[str]:
    gateway = ROUTER_DIR / "node_modules" / ".bin" / "hive-gateway"
    if not gateway.exists():
        raise RuntimeError(
            "router dependencies are missing: run `npm ci --prefix router` (or `make install`)"
        )
    # Hive Gateway auto-loads only gateway.{ts,js,...}: name the config explicitly. Run it with cwd=router/.
    return [str(gateway), "supergraph", "--config-path", str(ROUTER_DIR / "gateway.config.ts")]
