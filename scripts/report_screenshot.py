"""Screenshot of the top of an HTML report (headless Chromium), for docs/img/.

    python scripts/report_screenshot.py $SSE_FLOWS_HOME/reports/workflow-1/index.html \
        docs/img/report_demo_top.png --height 2300

Needs a ``chromium`` (or ``chromium-browser``, ``google-chrome``) on the PATH and Pillow
(installed with matplotlib).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium, chromium-browser or google-chrome on the PATH")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the report's index.html")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2300, help="pixels kept from the top")
    args = parser.parse_args()
    if not args.report.is_file():
        sys.exit(f"{args.report}: no such file")
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "page.png"
        subprocess.run(
            [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={shot}", f"--window-size={args.width},{args.height}",
             args.report.resolve().as_uri()],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        with Image.open(shot) as page:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.crop((0, 0, args.width, min(args.height, page.height))).save(args.out)
    print(args.out)  # noqa: T201


if __name__ == "__main__":
    main()
