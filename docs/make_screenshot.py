"""Make docs/assets/report.png: the top of the demo backtest's report in headless Chromium.

Usage (``make screenshot`` runs the first)::

    python docs/make_screenshot.py                      # runs `stackcast demo` first
    python docs/make_screenshot.py --report RUN/report.html

The demo runs in a temporary STACKCAST_HOME, so your own runs are left alone. Chromium is
Debian's (``apt-get install chromium``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "assets" / "report.png"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def run_demo(home: Path) -> Path:
    """Run the offline demo into ``home``; return its report."""
    out = home / "demo"
    env = {**os.environ, "STACKCAST_HOME": str(home)}
    stackcast = Path(sys.executable).with_name("stackcast")
    command = [str(stackcast)] if stackcast.exists() else [sys.executable, "-m", "stackcast"]
    subprocess.run([*command, "demo", "--out", str(out)], env=env, check=True)
    return out / "report.html"


def screenshot(report: Path, out: Path, width: int, height: int) -> None:
    """Save ``width`` x ``height`` CSS pixels of the top of ``report`` as a small PNG."""
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        sys.exit("error: no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        raw = Path(profile) / "shot.png"
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}/data",
                f"--window-size={width},{height}",
                f"--screenshot={raw}",
                report.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        from PIL import Image

        image = Image.open(raw).convert("RGB")
        out.parent.mkdir(parents=True, exist_ok=True)
        image.quantize(colors=128, dither=Image.Dither.NONE).save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    """Make the screenshot (running the demo first unless ``--report`` is given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an existing report.html")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=1300)
    args = parser.parse_args(argv)
    if args.report is not None:
        screenshot(args.report, args.out, args.width, args.height)
    else:
        with tempfile.TemporaryDirectory() as home:
            screenshot(run_demo(Path(home)), args.out, args.width, args.height)
    print(f"screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
