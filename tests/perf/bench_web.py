"""Web app figures (printed, never asserted): JavaScript each route sends, gzipped, and the time from
navigation to the student dashboard's data on screen.

    npm run --prefix web build                    # the sizes read web/dist/.vite/manifest.json
    COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL=100000 make run   # the timing's platform (20 page loads
                                                  # in a minute exceed the default per-principal API limit)
    uv run python tests/perf/bench_web.py [--url http://127.0.0.1:4000] [--runs 20] [--sizes-only]

Goals (issue 11): sign-in route <= 200 KB gzipped, the rest code-split per role; dashboard data < 1 s p50.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
ROUTES = {
    "sign-in": "src/pages/auth/SignIn.tsx",
    "student dashboard": "src/pages/student/Dashboard.tsx",
    "course page": "src/pages/student/CoursePage.tsx",
    "lesson reader (+ Markdown on first render)": "src/pages/student/LessonReader.tsx",
    "quiz": "src/pages/student/QuizPage.tsx",
}


def chunk_files(manifest: dict, key: str, seen: set[str]) -> None:
    """A chunk and everything it imports statically (what loads before the page can render)."""
    if key in seen:
        return
    seen.add(key)
    for imported in manifest[key].get("imports", []):
        chunk_files(manifest, imported, seen)


def route_bytes(manifest: dict, source: str, *, with_markdown: bool = False) -> tuple[int, int]:
    keys: set[str] = set()
    chunk_files(manifest, "index.html", keys)
    chunk_files(manifest, source, keys)
    if with_markdown:
        chunk_files(manifest, "src/lib/markdown.tsx", keys)
    files = {manifest[key]["file"] for key in keys}
    files |= {css for key in keys for css in manifest[key].get("css", [])}
    raw = sum((WEB / "dist" / f).stat().st_size for f in files)
    zipped = sum(len(gzip.compress((WEB / "dist" / f).read_bytes(), 9)) for f in files)
    return raw, zipped


def print_sizes() -> None:
    manifest = json.loads((WEB / "dist" / ".vite" / "manifest.json").read_text())
    print("JavaScript and CSS a route loads before it renders (entry + route chunk + their imports):")
    print(f"  {'route':45} {'raw KB':>8} {'gzip KB':>8}")
    for name, source in ROUTES.items():
        raw, zipped = route_bytes(manifest, source, with_markdown="Markdown" in name)
        print(f"  {name:45} {raw / 1024:8.1f} {zipped / 1024:8.1f}")


def print_timing(url: str, runs: int) -> None:
    out = subprocess.run(
        [
            "node",
            str(Path(__file__).with_name("web_dashboard_timing.mjs")),
            str(WEB),
            url,
            os.environ.get("BENCH_EMAIL", "student@coursegraph.dev"),
            os.environ.get("BENCH_PASSWORD", "coursegraph-demo"),
            str(runs),
        ],
        check=True,
        stdout=subprocess.PIPE,  # its errors (what the page showed) go to stderr
        text=True,
    ).stdout
    timings = sorted(json.loads(out.strip().splitlines()[-1]))
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    print(f"navigation -> dashboard data on screen, {runs} full page loads (refresh cookie, then one query):")
    p50 = statistics.median(timings)
    print(f"  p50 {p50:.0f} ms, p95 {p95:.0f} ms, min {timings[0]} ms, max {timings[-1]} ms")
    print(f"  load average during the run: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:4000")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes-only", action="store_true")
    args = parser.parse_args()
    print_sizes()
    if not args.sizes_only:
        print_timing(args.url, args.runs)


if __name__ == "__main__":
    main()
