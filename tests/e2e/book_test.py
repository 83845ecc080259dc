"""Offline check of the static book (`make book`): headless Chromium over the built site.

    make book-test                       # builds the book first, installs Playwright and Chromium
    .venv/bin/python tests/e2e/book_test.py  # the site already built in build/book/_build/html

What it does, as a reader with no internet would:
1. serves the built site on 127.0.0.1 (a random port) and opens every page in headless Chromium
   (Debian's `chromium`, driven by Playwright);
2. records every request the pages make; a request to any other host fails the test (and is
   aborted, so nothing leaves the machine);
3. on every page: it loads (HTTP 200), no image is broken, MathJax rendered every math element
   and no raw TeX ($$, \\(, \\frac ...) is left in the text outside code;
4. every notebook has its page, with a Binder launch link that matches the README's Binder badge,
   in the sidebar navigation and with a previous/next link, and a note where each saved widget
   was (no kernel, no widget); every local link points to a file of the site; the search page
   finds "dhnext".

Prints one line per check and exits non-zero on any failure. Not a pytest module (no test_
functions), like tests/e2e/browser_test.py. Screenshots of two pages go to screenshots/.
"""

import argparse
import functools
import html.parser
import json
import os
import re
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

REPO = Path(__file__).resolve().parents[2]  # tests/e2e/<this file> -> the repository
SITE = REPO / "build" / "book" / "_build" / "html"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--no-proxy-server"]
PAGE_TIMEOUT = 60           # seconds for a page to load and MathJax to finish (a busy machine)
SEARCH_WORD = "dhnext"      # the search page must find it (notebook 04 is about it)

# Raw TeX a reader would see if MathJax did not run: display or inline delimiters, or a TeX
# command such as \frac or \partial in the prose (code blocks are left out of the text first).
RAW_TEX_RE = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\[a-zA-Z]{2,}")

# JavaScript run in each page once it has loaded and MathJax has finished.
JS_PAGE_STATE = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const main = document.querySelector('main') || document.body;
  const clone = main.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, '
                         + '.highlight, .cell_output, .output').forEach(e => e.remove());
  const images = Array.from(document.images);
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    mathjax: !!(window.MathJax && MathJax.version),
    mathjaxVersion: window.MathJax ? MathJax.version : null,
    images: images.length,
    brokenImages: images.filter(i => !i.complete || i.naturalWidth === 0)
                        .map(i => i.getAttribute('src')),
    math: math.length,
    unrendered: math.filter(m => !m.querySelector('mjx-container'))
                    .map(m => m.textContent.slice(0, 60)),
    rendered: document.querySelectorAll('mjx-container').length,
    prose: clone.innerText,
    binder: Array.from(document.querySelectorAll('a[href*="mybinder.org/v2/"]'))
                 .map(a => a.getAttribute('href')),
    nav: Array.from(document.querySelectorAll('nav.bd-docs-nav a, .bd-sidebar-primary a'))
              .map(a => a.href),
    prevNext: Array.from(document.querySelectorAll('.prev-next-area a')).map(a => a.href),
    widgetNotes: document.querySelectorAll('.widget-offline-note').length,
  };
}
"""


class Failures(list):
    def check(self, ok, message):
        print(f"{'PASS' if ok else 'FAIL':<4} {message}", flush=True)
        if not ok:
            self.append(message)
        return ok


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def binder_prefix():
    """'https://mybinder.org/v2/gh/ORG/REPO/REF' from the README's Binder badge."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\]\((https://mybinder\.org/v2/gh/[^/\s]+/[^/\s]+/[^?\s)]+)", readme)
    return match.group(1) if match else None


class LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def widget_outputs(notebook):
    """How many saved widget views (sliders, progress bars) a notebook's outputs hold."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for c in cells for o in c.get("outputs", []))


def broken_local_links(site, page):
    """Local links of one HTML file whose target file does not exist."""
    parser = LinkParser()
    parser.feed(page.read_text(encoding="utf-8"))
    broken = []
    for href in parser.links:
        url = urlparse(href)
        if url.scheme or url.netloc or not url.path:      # external, mailto:, or #anchor only
            continue
        target = (page.parent / unquote(url.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or site.resolve() not in target.parents:
            broken.append(href)
    return sorted(set(broken))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE)
    parser.add_argument("--screenshots", type=Path, default=REPO / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    fail = Failures()

    site = args.site
    if not (site / "index.html").is_file():
        print(f"FAIL no built site in {site} (run make book)")
        return 1
    if not Path(args.chromium).exists():
        print(f"FAIL no Chromium at {args.chromium} (apt-get install chromium)")
        return 1
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("FAIL playwright is not installed (python -m pip install playwright)")
        return 1
    args.screenshots.mkdir(parents=True, exist_ok=True)

    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9]*.ipynb"))
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts)
    fail.check(notebooks, f"{len(notebooks)} notebooks in notebooks/")
    missing = [n for n in notebooks if f"notebooks/{n}.html" not in pages]
    fail.check(not missing, f"every notebook has a page in the book ({len(pages)} pages)"
               + (f"; missing: {missing}" if missing else ""))
    for page in pages:
        broken = broken_local_links(site, site / page)
        if broken:
            fail.check(False, f"{page}: local links to missing files: {broken[:5]}")
    fail.check(True, f"local links of all {len(pages)} pages checked")
    prefix = binder_prefix()
    fail.check(prefix, f"README's Binder badge: {prefix}")

    server, base = serve(site)
    local_requests, foreign_requests, bad_responses = [], [], []

    def route(route_, request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            local_requests.append(request.url)
            route_.continue_()
        else:
            foreign_requests.append(request.url)
            route_.abort()

    def on_response(response):
        if response.status >= 400:
            bad_responses.append(f"{response.status} {response.url}")

    totals = {"math": 0, "rendered": 0, "images": 0}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium,
                                                 args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(PAGE_TIMEOUT * 1000)
            context.route("**/*", route)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", on_response)
            for name in pages:
                errors.clear()
                try:
                    response = page.goto(f"{base}/{name}", wait_until="load")
                    page.wait_for_load_state("networkidle")
                    state = page.evaluate(JS_PAGE_STATE)
                except Exception as exc:   # a Playwright timeout or similar: this page fails
                    fail.check(False, f"{name}: {type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0][:200]}")
                    continue
                problems = []
                if response is None or response.status != 200:
                    problems.append(f"HTTP {response.status if response else 'no response'}")
                if state["brokenImages"]:
                    problems.append(f"broken images {state['brokenImages'][:3]}")
                if state["unrendered"]:
                    problems.append(f"{len(state['unrendered'])} math elements not rendered, "
                                    f"e.g. {state['unrendered'][0]!r}")
                raw = sorted(set(RAW_TEX_RE.findall(state["prose"])))
                if raw:
                    at = RAW_TEX_RE.search(state["prose"]).start()
                    problems.append(f"raw TeX in the text {raw[:5]} near "
                                    f"{state['prose'][max(0, at - 40):at + 40]!r}")
                if errors:
                    problems.append(f"JavaScript error: {errors[0][:150]}")
                stem = Path(name).stem
                if name.startswith("notebooks/") and stem in notebooks:
                    want = f"{prefix}?urlpath=lab/tree/notebooks/{stem}.ipynb"
                    if want not in state["binder"]:
                        problems.append(f"no Binder link {want} (found {state['binder'][:2]})")
                    nav = {urlparse(h).path for h in state["nav"]}
                    absent = [n for n in notebooks if f"/notebooks/{n}.html" not in nav]
                    if absent:
                        problems.append(f"sidebar lacks {absent[:3]}")
                    if not state["prevNext"]:
                        problems.append("no previous/next link")
                    widgets = widget_outputs(REPO / "notebooks" / f"{stem}.ipynb")
                    if state["widgetNotes"] < widgets:
                        problems.append(f"{widgets} widgets but {state['widgetNotes']} notes "
                                        "in their place")
                    if stem in ("03-The-Softmax-Gradient", "07-The-Vanishing-Gradient"):
                        page.screenshot(path=str(args.screenshots / f"book-{stem}.png"))
                for key in totals:
                    totals[key] += state[key]
                fail.check(not problems, f"{name}: {state['images']} images, {state['math']} "
                           f"math elements ({state['rendered']} rendered by MathJax "
                           f"{state['mathjaxVersion']})" + ("; " + "; ".join(problems)
                                                            if problems else ""))

            # Search: Sphinx's client-side index (searchindex.js), no server needed.
            page.goto(f"{base}/search.html?q={SEARCH_WORD}", wait_until="load")
            try:
                page.wait_for_function(
                    "() => document.querySelectorAll('#search-results li, ul.search li').length",
                    timeout=PAGE_TIMEOUT * 1000)
                hits = page.eval_on_selector_all("#search-results li, ul.search li",
                                                 "els => els.map(e => e.innerText.split('\\n')[0])")
            except Exception:
                hits = []
            fail.check(hits, f"search for {SEARCH_WORD!r}: {len(hits)} results, e.g. {hits[:2]}")
            page.screenshot(path=str(args.screenshots / "book-search.png"))
            browser.close()
    finally:
        server.shutdown()

    fail.check(totals["math"] > 0 and totals["rendered"] >= totals["math"],
               f"math rendered on the whole site: {totals['rendered']} MathJax elements for "
               f"{totals['math']} math elements; {totals['images']} images")
    fail.check(not bad_responses, f"no local request failed ({len(local_requests)} requests)"
               + (f": {bad_responses[:5]}" if bad_responses else ""))
    fail.check(not foreign_requests, "no request left 127.0.0.1"
               + (f": {sorted(set(foreign_requests))[:5]}" if foreign_requests else ""))
    total = time.monotonic() - t0
    if fail:
        print(f"book test FAILED ({len(fail)} failure(s), {total:.0f} s)")
        return 1
    print(f"book test passed: {len(pages)} pages in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
