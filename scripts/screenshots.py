"""Screenshots of every page of the built web book, at desktop and phone widths.

    jupyter-book build . -W --keep-going
    python scripts/screenshots.py                      # every page, 1400 and 400 px
    python scripts/screenshots.py --pages 04_lost_sales_dp 11 --widths 400

Opens ``_build/html`` from disk (file:// URLs, so it also shows that math renders offline) in
headless Chromium (``apt-get install chromium``, or set ``--chromium``), waits for MathJax, and
writes one full-page PNG per page and width to ``_build/screenshots/<page>_<width>.png``, plus
``report.json`` with what a reader would notice, per page and width:

- ``squashed_images``: images drawn with an aspect ratio off by more than 2 % from the file's;
- ``clipped_math``: display equations that a reader does not see whole: wider than the column
  (they scroll sideways, with a shadow at the cut edge), or overlapped by their number, or with
  a floated number pushed off their line; ``equations`` names each one and its state
  (``fits``, ``number_below``, ``scrolls``, ``overlap``, ``pushed``) with its width and the room;
- ``number_below``: equations whose number went on its own line below them (formula and number
  do not fit side by side: the formula is whole, but at a desktop width this means it is too
  wide); at 1000 px and more any clipped equation or moved number is an error (``--check``);
- ``small_figures``: figures whose smallest text, drawn at this width, is under ``--min-text-px``
  (8 px: half the body text; below it a phone reader has to zoom). ``figures`` lists every
  figure's scale (drawn width / width at the figure's own 100 px per inch) and the estimated
  size of its smallest text: scale x the smallest font size the drawing cell sets (``fontsize=``,
  ``labelsize=``, ``size=``) or else the book style's smallest (the legend's 11 pt);
- ``wide_code``: code or output blocks wider than their box (they scroll; better shorten them);
- ``wide_tables``: tables wider than the column (they scroll inside their box), by caption;
- ``raw_tex``: text nodes outside code that still hold ``\\(``, ``\\[`` or ``$$`` after MathJax;
- ``js_errors``: uncaught JavaScript exceptions and console errors while the page loads;
- ``widgets``: the page's ipywidgets (``views``: widget outputs saved in the notebook,
  ``rendered``: drawn by the vendored widget manager, ``sliders``); a view not drawn is an error;
- ``remote_requests``: anything the page fetched from another host (http or https, not this
  machine): the book is meant to read offline, so any is an error (scripts, fonts, widgets);
- ``h1_lines``: how many lines the page title takes.

Whether a display equation fits is decided here, in a browser: it depends on MathJax's glyph
metrics and the theme's column width, which the HTML alone does not give. ``--check`` makes the
run fail (exit status 1) on what must not happen at any width (squashed images, raw TeX,
JavaScript errors, widgets not drawn, requests to another host) or at a desktop width (a clipped
equation or a number off its line), and ``tests/test_html.py`` reads ``report.json`` when it is
newer than the build.

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
import urllib.parse
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
  // ipywidgets: the widget manager draws each saved view into a .widget-subarea on "load"
  const views = document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]').length;
  const drawn = () => [...document.querySelectorAll('.widget-subarea')]
    .filter(s => s.childElementCount > 0).length;
  for (let i = 0; views && drawn() < views && i < 100; i++)
    await new Promise(r => setTimeout(r, 100));
  if (document.fonts) { await document.fonts.ready; }
  await new Promise(r => setTimeout(r, 300));
  const out = {squashed_images: [], clipped_math: 0, number_below: 0, equations: [],
               small_figures: 0, figures: [], wide_code: 0, wide_tables: [], raw_tex: [],
               h1_lines: 0,
               widgets: {views, rendered: drawn(),
                         sliders: document.querySelectorAll('.widget-slider').length},
               mathjax: !!(window.MathJax && MathJax.version), height: 0};
  const article = document.querySelector('article') || document.body;
  for (const img of article.querySelectorAll('img')) {
    const r = img.getBoundingClientRect();
    if (!img.naturalWidth || !r.width || !r.height) continue;
    const drawn = r.width / r.height, file = img.naturalWidth / img.naturalHeight;
    if (Math.abs(drawn / file - 1) > 0.02)
      out.squashed_images.push(`${img.naturalWidth}x${img.naturalHeight} drawn ` +
                               `${Math.round(r.width)}x${Math.round(r.height)}`);
    // figures: the width the cell asked for (IPython's width, at 100 px per inch), the width
    // drawn, and the smallest font size the drawing cell sets (else the book style's, 11 pt)
    const styled = /px$/.test(img.style.width) ? parseFloat(img.style.width) : 0;
    const design = styled || parseFloat(img.getAttribute('width')) || img.naturalWidth;
    const cell = img.closest('div.cell');
    const code = cell ? (cell.querySelector('.cell_input') || {textContent: ''}).textContent : '';
    const named = {'xx-small': 7, 'x-small': 8.3, 'small': 10, 'medium': 12};
    const sizes = [11];
    for (const m of code.matchAll(/\b(?:fontsize|labelsize|size)\s*=\s*(\d+(?:\.\d+)?)/g))
      sizes.push(parseFloat(m[1]));
    for (const m of code.matchAll(/["']size["']\s*:\s*(\d+(?:\.\d+)?)/g))
      sizes.push(parseFloat(m[1]));
    for (const m of code.matchAll(/\b(?:fontsize|labelsize|size)\s*=\s*["']([a-z-]+)["']/g))
      if (m[1] in named) sizes.push(named[m[1]]);
    const scale = r.width / design, pt = Math.min(...sizes);
    const fig = img.closest('figure');
    const num = fig && fig.querySelector('.caption-number');
    const text_px = pt * 100 / 72 * scale;
    const name = num ? num.textContent.trim()
      : (fig && fig.id) || img.src.split('/').pop().slice(0, 16);
    out.figures.push({name,
                      design: Math.round(design), drawn: Math.round(r.width),
                      scale: +scale.toFixed(3), smallest_pt: pt, text_px: +text_px.toFixed(1)});
  }
  const tex = new Map();
  try { for (const item of MathJax.startup.document.math) tex.set(item.typesetRoot, item.math); }
  catch (e) {}
  for (const m of article.querySelectorAll('mjx-container[display="true"]')) {
    const div = m.closest('div.math');
    const g = (m.querySelector('mjx-math') || m).getBoundingClientRect();
    const box = m.getBoundingClientRect();
    const col = (div || m).getBoundingClientRect();
    const name = div && div.id ? div.id.replace(/^equation-/, '')
      : (tex.get(m) || m.textContent).trim().replace(/\s+/g, ' ').slice(0, 48);
    const scrolls = g.right > box.right + 1 || g.left < box.left - 1 || g.right > col.right + 1
      || m.scrollWidth > m.clientWidth + 2;
    const no = div && div.querySelector('.eqno');
    let state = scrolls ? 'scrolls' : 'fits', number = 0;
    if (no) {
      const n = no.getBoundingClientRect();
      number = Math.round(n.width);
      const level = n.top < g.bottom - 1 && n.bottom > g.top + 1;
      const across = n.left < g.right - 1 && n.right > g.left + 1;
      if (level && across) state = 'overlap';
      else if (!level && !scrolls)
        state = getComputedStyle(div).display.includes('flex') ? 'number_below' : 'pushed';
    }
    if (state === 'number_below') out.number_below += 1;
    else if (state !== 'fits') out.clipped_math += 1;
    out.equations.push({name, state, width: Math.round(g.width), room: Math.round(col.width),
                        number});
  }
  for (const p of article.querySelectorAll('pre')) {
    if (p.scrollWidth > p.clientWidth + 2) out.wide_code += 1;
  }
  for (const t of article.querySelectorAll('table')) {
    const box = t.closest('.ds-table-wrap') || t;
    const room = Math.min(box.clientWidth || Infinity, article.clientWidth);
    if (t.scrollWidth > room + 2) {
      const cap = t.querySelector('caption');
      const head = [...t.querySelectorAll('th')].slice(0, 3).map(h => h.textContent.trim());
      const name = cap ? cap.textContent.trim().slice(0, 40)
        : `${t.classList.contains('ds-table') ? 'table' : 'markdown table'} [${head.join(' | ')}]`;
      out.wide_tables.push(`${name.slice(0, 60)}: ${t.scrollWidth} px in ${Math.round(room)}`);
    }
  }
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode;
    if (t.parentElement && t.parentElement.closest('pre, code, script, style')) continue;
    if (/\\\(|\\\[|\$\$/.test(t.textContent)) out.raw_tex.push(t.textContent.trim().slice(0, 60));
  }
  const h1 = article.querySelector('h1');
  if (h1) {
    const cs = getComputedStyle(h1);
    const line = parseFloat(cs.lineHeight) || 1.2 * parseFloat(cs.fontSize);
    out.h1_lines = Math.round(h1.getBoundingClientRect().height / line);
  }
  out.height = Math.ceil(Math.max(document.documentElement.scrollHeight,
                                  document.body.scrollHeight));
  return JSON.stringify(out);
})()
"""

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
DESKTOP = 1000  # px: at this width and more, every display equation must fit beside its number


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
        self.errors = []
        self.remote, self.seen = [], set()
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")

    def _recv(self):
        """The next message; JavaScript errors the page reports are kept in ``errors``."""
        msg = json.loads(self.ws.recv())
        method, params = msg.get("method"), msg.get("params", {})
        if method:
            self.seen.add(method)
        if method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            text = (d.get("exception") or {}).get("description") or d.get("text", "")
            self.errors.append(text.splitlines()[0][:160] if text else "exception")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            host = urllib.parse.urlsplit(url).hostname or ""
            if url.startswith(("http:", "https:")) and host not in LOCAL_HOSTS:
                self.remote.append(url[:160])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = params.get("args", [])
            self.errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                        for a in args)[:160])
        return msg

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = self._recv()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def wait_event(self, name, timeout=180):
        """Wait for the event ``name``, unless it already came (while ``call`` waited for its
        answer) since ``seen`` was last emptied."""
        if name in self.seen:
            return None
        end = time.time() + timeout
        while time.time() < end:
            msg = self._recv()
            if msg.get("method") == name:
                return msg
        raise TimeoutError(name)

    def shoot(self, url, width, out_png):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                  deviceScaleFactor=1, mobile=width < 700)
        self.errors, self.remote, self.seen = [], [], set()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        res = self.call("Runtime.evaluate", expression=PROBE, awaitPromise=True,
                        returnByValue=True)
        info = json.loads(res["result"]["value"])
        info["js_errors"] = list(dict.fromkeys(self.errors))
        info["remote_requests"] = list(dict.fromkeys(self.remote))
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


def problems(info, width, min_text_px):
    """What ``--check`` fails on, and the flags printed for a page at one width."""
    flags, errors = [], []
    for key in ("squashed_images", "raw_tex", "js_errors", "remote_requests"):
        if info.get(key):
            flags.append(f"{key}={len(info[key])}")
            errors.append(f"{key}: {info[key][:3]}")
    widgets = info.get("widgets") or {}
    if widgets.get("views", 0) > widgets.get("rendered", 0):
        flags.append(f"unrendered_widgets={widgets['views'] - widgets['rendered']}")
        errors.append(f"widgets: {widgets['rendered']} of {widgets['views']} drawn")
    if info.get("clipped_math"):
        flags.append(f"clipped_math={info['clipped_math']}")
    if info.get("number_below"):
        flags.append(f"number_below={info['number_below']}")
    if width >= DESKTOP:
        bad = [f"{e['name']} ({e['state']}, {e['width']} px in {e['room']})"
               for e in info.get("equations", []) if e["state"] != "fits"]
        if bad:
            errors.append(f"display equations that do not fit at {width} px: {bad}")
    small = [f for f in info.get("figures", []) if f["text_px"] < min_text_px]
    info["small_figures"] = len(small)
    if small:
        flags.append(f"small_figures={len(small)}")
        errors.append(f"figure text under {min_text_px:g} px at {width} px: "
                      f"{[f['name'] for f in small][:3]}")
    if info.get("wide_code"):
        flags.append(f"wide_code={info['wide_code']}")
    if info.get("wide_tables"):
        flags.append(f"wide_tables={len(info['wide_tables'])}")
    return flags, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--widths", type=int, nargs="+", default=[1400, 400])
    ap.add_argument("--pages", nargs="*", help="page names or prefixes (default: all)")
    ap.add_argument("--min-text-px", type=float, default=8.0,
                    help="smallest figure text, in CSS px, before a figure is flagged (8)")
    ap.add_argument("--check", action="store_true",
                    help="exit with status 1 on squashed images, raw TeX, JavaScript errors, "
                         "or display equations that do not fit at a desktop width")
    ap.add_argument("--chromium", default=shutil.which("chromium")
                    or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    args = ap.parse_args(argv)
    if not (args.html / "index.html").exists():
        sys.exit(f"{args.html} has no index.html: run `jupyter-book build .` first")
    if not args.chromium:
        sys.exit("no Chromium found: `apt-get install -y chromium` or pass --chromium PATH")
    args.out.mkdir(parents=True, exist_ok=True)
    report, failures = {}, []
    browser = Browser(args.chromium)
    try:
        for page in pages(args.html, args.pages):
            for width in args.widths:
                png = args.out / f"{page.stem}_{width}.png"
                info = browser.shoot(page.resolve().as_uri(), width, png)
                info["min_text_px"] = args.min_text_px
                report[f"{page.stem}@{width}"] = info
                flags, errors = problems(info, width, args.min_text_px)
                failures += [f"{page.stem}@{width}: {e}" for e in errors]
                print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: "
                      f"{info['height']} px tall, title on {info['h1_lines']} line(s)"
                      + ("" if info["mathjax"] else ", no MathJax")
                      + (f", {info['widgets']['rendered']}/{info['widgets']['views']} widget(s) "
                         f"drawn ({info['widgets']['sliders']} sliders)"
                         if info["widgets"]["views"] else "")
                      + (f"; {', '.join(flags)}" if flags else ""))
                for e in info["equations"]:
                    if e["state"] != "fits":
                        print(f"    equation {e['name']}: {e['state']} "
                              f"({e['width']} px, room {e['room']} px"
                              + (f", number {e['number']} px)" if e["number"] else ")"))
                for f in info["figures"]:
                    small = f["text_px"] < args.min_text_px
                    if small or width < 700:
                        print(f"    figure {f['name']}: scale {f['scale']:.2f} "
                              f"({f['drawn']} of {f['design']} px), smallest text "
                              f"{f['smallest_pt']:g} pt -> {f['text_px']:.1f} px"
                              + ("  SMALL" if small else ""))
                for t in info.get("wide_tables", []):
                    print(f"    table wider than the column (scrolls): {t}")
                for e in info["js_errors"]:
                    print(f"    JavaScript error: {e}")
                for u in info["remote_requests"]:
                    print(f"    remote request: {u}")
    finally:
        browser.close()
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    if failures:
        print(f"\n{len(failures)} problem(s):\n  " + "\n  ".join(failures))
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
