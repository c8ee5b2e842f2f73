"""Screenshots of every page of the built web book, at desktop and phone widths.

    jupyter-book build . -W --keep-going
    python scripts/screenshots.py                      # every page, 1400 and 400 px
    python scripts/screenshots.py --pages 04_lost_sales_dp 11 --widths 400

Opens ``_build/html`` from disk (file:// URLs, so it also shows that math renders offline) in
headless Chromium (``apt-get install chromium``, or set ``--chromium``), waits for MathJax, and
writes one full-page PNG per page and width to ``_build/screenshots/<page>_<width>.png``, plus
``report.json`` with what a reader would notice, per page and width:

- ``squashed_images``: images drawn with an aspect ratio off by more than 2 % from the file's;
- ``clipped_math``: display equations wider than the column (they scroll; better break them);
- ``wide_code``: code or output blocks wider than their box (they scroll; better shorten them);
- ``raw_tex``: text nodes outside code that still hold ``\\(``, ``\\[`` or ``$$`` after MathJax.

Look at the PNGs before committing a chapter. Talks to Chromium over the DevTools protocol
(the ``websocket-client`` package, installed with Jupyter).
"""
from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*"]

# Measured in the page after MathJax has typeset it.
PROBE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) {}
  }
  if (document.fonts) { await document.fonts.ready; }
  await new Promise(r => setTimeout(r, 300));
  const out = {squashed_images: [], clipped_math: 0, wide_code: 0, raw_tex: [],
               mathjax: !!(window.MathJax && MathJax.version), height: 0};
  for (const img of document.querySelectorAll('article img')) {
    const r = img.getBoundingClientRect();
    if (!img.naturalWidth || !r.width || !r.height) continue;
    const drawn = r.width / r.height, file = img.naturalWidth / img.naturalHeight;
    if (Math.abs(drawn / file - 1) > 0.02)
      out.squashed_images.push(`${img.naturalWidth}x${img.naturalHeight} drawn ` +
                               `${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  for (const m of document.querySelectorAll('article mjx-container[display="true"]')) {
    const box = m.closest('div.math') || m;
    if (m.scrollWidth > box.clientWidth + 2 || box.scrollWidth > box.clientWidth + 2)
      out.clipped_math += 1;
  }
  for (const p of document.querySelectorAll('article pre')) {
    if (p.scrollWidth > p.clientWidth + 2) out.wide_code += 1;
  }
  const walker = document.createTreeWalker(document.querySelector('article') || document.body,
                                           NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode;
    if (t.parentElement && t.parentElement.closest('pre, code, script, style')) continue;
    if (/\\\(|\\\[|\$\$/.test(t.textContent)) out.raw_tex.push(t.textContent.trim().slice(0, 60));
  }
  out.height = Math.ceil(Math.max(document.documentElement.scrollHeight,
                                  document.body.scrollHeight));
  return JSON.stringify(out);
})()
"""


class Browser:
    """A headless Chromium driven over the DevTools protocol (one tab)."""

    def __init__(self, exe):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="ds-chromium-")
        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError(f"{exe} did not start (no DevToolsActivePort)")
        port = port_file.read_text().split()[0]
        for _ in range(50):
            tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            tabs = [t for t in tabs if t.get("type") == "page"]
            if tabs:
                break
            time.sleep(0.1)
        self.ws = websocket.create_connection(tabs[0]["webSocketDebuggerUrl"], timeout=120)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def wait_event(self, name, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == name:
                return msg
        raise TimeoutError(name)

    def shoot(self, url, width, out_png):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                  deviceScaleFactor=1, mobile=width < 700)
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        res = self.call("Runtime.evaluate", expression=PROBE, awaitPromise=True,
                        returnByValue=True)
        info = json.loads(res["result"]["value"])
        height = min(info["height"], 60000)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        out_png.write_bytes(base64.b64decode(shot["data"]))
        return info

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if getattr(self, "proc", None):
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def pages(html, wanted=None):
    """The book's pages (chapters, part pages, bibliography), in file order."""
    found = sorted((html / "book").glob("*.html"))
    if wanted:
        found = [p for p in found if any(p.stem.startswith(w) or p.stem == w for w in wanted)]
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--widths", type=int, nargs="+", default=[1400, 400])
    ap.add_argument("--pages", nargs="*", help="page names or prefixes (default: all)")
    ap.add_argument("--chromium", default=shutil.which("chromium")
                    or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    args = ap.parse_args(argv)
    if not (args.html / "index.html").exists():
        sys.exit(f"{args.html} has no index.html: run `jupyter-book build .` first")
    if not args.chromium:
        sys.exit("no Chromium found: `apt-get install -y chromium` or pass --chromium PATH")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    browser = Browser(args.chromium)
    try:
        for page in pages(args.html, args.pages):
            for width in args.widths:
                png = args.out / f"{page.stem}_{width}.png"
                info = browser.shoot(page.resolve().as_uri(), width, png)
                report[f"{page.stem}@{width}"] = info
                flags = [f"{k}={len(v) if isinstance(v, list) else v}"
                         for k, v in info.items()
                         if k in ("squashed_images", "clipped_math", "wide_code", "raw_tex")
                         and v]
                print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: "
                      f"{info['height']} px tall"
                      + ("" if info["mathjax"] else ", no MathJax")
                      + (f"; {', '.join(flags)}" if flags else ""))
    finally:
        browser.close()
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
