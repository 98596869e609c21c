"""Run the benchmarks and record their figures in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench`; each section is replaced when its benchmark runs again.\n"
    "Figures depend on the machine they were taken on (named in each section).\n"
)


def available() -> list[str]:
    return sorted(p.stem[len("bench_") :] for p in Path(__file__).parent.glob("bench_*.py"))


def record(name: str, body: str) -> None:
    text = DOC.read_text() if DOC.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text}\n{section}\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)


def machine() -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"_{when}; {os.cpu_count()} cores; Python {platform.python_version()}_"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"which to run (default all: {available()})")
    args = parser.parse_args(argv)
    names = args.names or available()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pema.settings")
    sys.path.insert(0, str(ROOT))
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {module.TITLE}", flush=True)
        body = f"## {module.TITLE}\n\n{machine()}\n\n{module.run()}"
        print(body, flush=True)
        record(name, body)
    print(f"Figures written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
