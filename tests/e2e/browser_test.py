"""Real-browser check: the notebooks work for a person in JupyterLab.

    make browser-test                      # or: .venv/bin/python tests/e2e/browser_test.py
    .venv/bin/python tests/e2e/browser_test.py 07-The-Vanishing-Gradient.ipynb

What it does, as a person would:
1. starts JupyterLab (this venv) on 127.0.0.1 with a random port and token, serving a
   temporary COPY of the notebooks, so nothing it runs or autosaves touches the repo;
2. opens each notebook in headless Chromium (Debian's `chromium`, driven by Playwright),
   clicks Run -> Run All Cells and waits until every cell has run;
3. fails if any cell shows an error (a traceback), or if a cell did not run;
4. takes the first slider, presses ArrowRight a few times and checks that the number next to
   the slider changed AND that the plot under it was redrawn (a different image);
5. saves screenshots under screenshots/ (page and widget, before and after).

Prints one line per check and exits non-zero on any failure. Not a pytest module: it has no
test_ functions, and everything runs from main().
"""

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # tests/e2e/<this file> -> the repository
DEFAULT_NOTEBOOKS = ["03-The-Softmax-Gradient.ipynb", "07-The-Vanishing-Gradient.ipynb"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]
# Settings a fresh JupyterLab user would not notice, but which keep pop-ups away:
# no "fetch news?" toast, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
SERVER_START_TIMEOUT = 60   # seconds until JupyterLab answers
PAGE_TIMEOUT = 60           # seconds until the notebook is open and its kernel idle
RUN_ALL_TIMEOUT = 120       # seconds for Run All Cells to finish
WIDGET_TIMEOUT = 30         # seconds for the slider to appear, and for the plot to redraw
KEY_PRESSES = 3

# An error output (not a warning, which is also on stderr): a Python traceback, or a line that
# starts with an exception name, e.g. "SyntaxError: invalid syntax".
TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)"
                          r"|^\s*(\w+\.)*\w*(Error|Exception|Interrupt)\b(:|$)", re.M)

# JavaScript run in the page: the state of the open notebook, read from JupyterLab's own model
# (exposed with --LabApp.expose_app_in_browser), plus what a person sees in the DOM.
JS_STATE = """
() => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return {ready: false};
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.model.cells;
  const code = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const errors = [];
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
    code.push({index: i, count: c.executionCount,
               empty: c.sharedModel.getSource().trim() === '', errors: errors});
  }
  const prompts = Array.from(w.node.querySelectorAll('.jp-InputPrompt'))
    .map(p => p.textContent.trim());
  const stderr = Array.from(w.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
    .map(o => o.textContent);
  return {
    ready: true,
    path: w.context ? w.context.path : null,
    kernel: kernel ? kernel.status : null,
    busyPrompts: prompts.filter(p => p.includes('[*]')).length,
    code: code,
    stderr: stderr,
    widgetErrors: Array.from(w.node.querySelectorAll('.jp-OutputArea-output'))
      .map(o => o.textContent).filter(t => t.includes('Error displaying widget')),
  };
}
"""


EXCEPTION_LINE_RE = re.compile(r"^\s*((\w+\.)*\w*(Error|Exception|Interrupt)\b.*)$", re.M)


class CheckFailed(Exception):
    pass


def error_summary(text):
    """The line a person reads in a traceback: 'ValueError: boom'."""
    lines = [m.group(1).strip() for m in EXCEPTION_LINE_RE.finditer(text)]
    return (lines[-1] if lines else " ".join(text.split()))[:200]


def show_first_error(page):
    """Scroll the first error output into view, for the failure screenshot."""
    outputs = page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output'
                           '[data-mime-type="application/vnd.jupyter.stderr"]')
    for i in range(outputs.count()):
        if TRACEBACK_RE.search(outputs.nth(i).text_content() or ""):
            outputs.nth(i).evaluate("el => el.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(800)       # let off-screen cells paint before the screenshot
            return


def say(status, message):
    print(f"{status:<4} {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url, token):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with opener.open(request, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def make_served_copy(notebooks_dir, tmp):
    """A throwaway tree shaped like the repo: a real copy of notebooks/, links to the rest."""
    root = tmp / "repo"
    root.mkdir()
    shutil.copytree(notebooks_dir, root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for entry in REPO.iterdir():
        if entry.name not in {"notebooks", "screenshots", ".git", ".venv"}:
            (root / entry.name).symlink_to(entry)
    return root


def start_lab(root, tmp):
    port, token = free_port(), secrets.token_hex(24)
    settings = tmp / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for sub in ("runtime", "config", "workspaces"):
        (tmp / sub).mkdir()
    env = dict(os.environ,
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp / "config"),   # ignore ~/.jupyter
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False", "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
    ]
    log = open(tmp / "server.log", "w")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"JupyterLab exited with code {process.returncode} at start")
        if http_ok(f"{base}/api/status", token):
            return process, base, token
        time.sleep(0.3)
    raise CheckFailed(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s")


def stop_lab(process):
    if process is None or process.poll() is not None:
        return
    process.terminate()          # JupyterLab shuts its kernels down on SIGTERM
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    try:                         # and anything of ours left in its process group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def print_log_tail(tmp, lines=40):
    log = tmp / "server.log"
    if log.exists():
        print(f"---- last {lines} lines of the JupyterLab log ----")
        print("\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
        print("----")


def wait_for(page, predicate, timeout, what, interval=0.25):
    """Poll JS_STATE until predicate(state) holds; return the state."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(JS_STATE)
        if predicate(state):
            return state
        page.wait_for_timeout(int(interval * 1000))
    raise CheckFailed(f"timed out after {timeout} s waiting for {what} (last state: "
                      f"kernel={state and state.get('kernel')}, "
                      f"busy prompts={state and state.get('busyPrompts')})")


def open_dialog_text(page):
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        return " ".join(dialog.first.inner_text().split())
    return None


def run_all_finished(state):
    if not state.get("ready") or state["kernel"] != "idle" or state["busyPrompts"]:
        return False
    todo = [c for c in state["code"] if not c["empty"]]
    all_ran = all(c["count"] is not None for c in todo)
    has_error = any(c["errors"] for c in state["code"])
    return all_ran or has_error      # Run All stops at the first error


def image_key(src):
    return hashlib.sha1((src or "").encode()).hexdigest()[:10]


def check_notebook(page, base, token, name, shots):
    """Run one notebook in the browser; raise CheckFailed on the first failed check."""
    stem = Path(name).stem
    target = f"notebooks/{name}"
    page.goto(f"{base}/lab/tree/{target}?reset&token={token}", wait_until="domcontentloaded")

    # 1. The notebook opens and its kernel becomes idle.
    started = time.monotonic()
    deadline = started + PAGE_TIMEOUT
    while True:
        state = page.evaluate(JS_STATE)
        if state.get("ready") and state["path"] == target and state["kernel"] == "idle":
            break
        dialog = open_dialog_text(page)
        if dialog:
            raise CheckFailed(f"{name}: a dialog blocks the notebook: {dialog!r}")
        if time.monotonic() > deadline:
            raise CheckFailed(f"{name}: not open with an idle kernel after {PAGE_TIMEOUT} s "
                              f"(path={state.get('path')}, kernel={state.get('kernel')})")
        page.wait_for_timeout(250)
    say("PASS", f"{name}: opened, kernel idle after {time.monotonic() - started:.1f} s")

    # 2. Run -> Run All Cells, from the menu bar as a person would.
    page.locator(".jp-NotebookPanel:visible .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    started = time.monotonic()
    page.wait_for_timeout(500)
    state = wait_for(page, run_all_finished, RUN_ALL_TIMEOUT, f"{name}: Run All Cells to finish")
    # Idle must hold for a moment (a cell can be queued right after another one ends).
    page.wait_for_timeout(700)
    state = wait_for(page, run_all_finished, RUN_ALL_TIMEOUT, f"{name}: Run All Cells to finish")
    elapsed = time.monotonic() - started

    # 3. No errors, every cell ran.
    errors = [f"cell {c['index']}: {e}" for c in state["code"] for e in c["errors"]]
    errors += [f"traceback on screen: {error_summary(t)!r}" for t in state["stderr"]
               if TRACEBACK_RE.search(t)]
    if errors:
        show_first_error(page)
        raise CheckFailed(f"{name}: error output after Run All Cells: " + "; ".join(errors[:3]))
    not_run = [c["index"] for c in state["code"] if not c["empty"] and c["count"] is None]
    if not_run:
        raise CheckFailed(f"{name}: cells never ran: {not_run}")
    ran = sum(1 for c in state["code"] if c["count"] is not None)
    say("PASS", f"{name}: Run All Cells ran {ran} code cells in {elapsed:.1f} s, no error output")
    if state["widgetErrors"]:
        raise CheckFailed(f"{name}: {state['widgetErrors'][0].strip()[:200]}")

    # 4. The first slider, its readout and the plot it draws.
    slider = page.locator(".jp-NotebookPanel:visible .widget-slider").first
    try:
        slider.wait_for(state="visible", timeout=WIDGET_TIMEOUT * 1000)
    except Exception:
        raise CheckFailed(f"{name}: no widget slider (.widget-slider) rendered after Run All")
    cell = page.locator(".jp-NotebookPanel:visible .jp-CodeCell",
                        has=page.locator(".widget-slider")).first
    output_area = cell.locator(".jp-Cell-outputArea").first
    readout = slider.locator(".widget-readout").first
    images = cell.locator(".widget-output img")
    if not images.count():
        images = output_area.locator("img")
    image = images.first
    try:
        image.wait_for(state="visible", timeout=WIDGET_TIMEOUT * 1000)
    except Exception:
        raise CheckFailed(f"{name}: the slider's cell shows no plot image")
    # The first drawing may still be settling (the browser can snap a float value onto the
    # slider's step grid and send it back): wait for an idle kernel and a steady image.
    src_before = wait_steady_image(page, images, name)
    show_widget(output_area)
    page.wait_for_timeout(500)
    value_before = readout.inner_text().strip()
    page.screenshot(path=str(shots / f"{stem}-1-page-before.png"))
    output_area.screenshot(path=str(shots / f"{stem}-2-widget-before.png"))
    say("PASS", f"{name}: slider found, readout {value_before!r}, "
                f"plot image {image_key(src_before)}")

    # 5. Move it with the keyboard; the readout and the plot must change.
    handle = slider.locator(".noUi-handle").first
    for key in ("ArrowRight", "ArrowLeft"):   # ArrowLeft only if the slider sits at its maximum
        handle.focus()
        for _ in range(KEY_PRESSES):
            page.keyboard.press(key)
            page.wait_for_timeout(150)
        page.wait_for_timeout(300)
        if readout.inner_text().strip() != value_before:
            break
    value_after = readout.inner_text().strip()
    if value_after == value_before:
        raise CheckFailed(f"{name}: slider readout stayed {value_before!r} after "
                          f"{KEY_PRESSES} key presses")
    deadline = time.monotonic() + WIDGET_TIMEOUT
    src_after = src_before
    while time.monotonic() < deadline:
        current = images.first.get_attribute("src") if images.count() else None
        if current and current != src_before:
            src_after = current
            break
        if any(TRACEBACK_RE.search(t) for t in page.evaluate(JS_STATE).get("stderr", [])):
            break                                   # reported just below
        page.wait_for_timeout(250)
    # Let the kernel finish every queued redraw, then take the final picture.
    state = wait_for(page, lambda s: s.get("ready") and s["kernel"] == "idle", WIDGET_TIMEOUT,
                     f"{name}: the kernel to finish redrawing")
    page.wait_for_timeout(500)
    bad = [error_summary(t) for t in state["stderr"] if TRACEBACK_RE.search(t)]
    if bad:
        show_first_error(page)
        raise CheckFailed(f"{name}: moving the slider raised an error: {bad[0]!r}")
    if src_after == src_before:
        raise CheckFailed(f"{name}: readout went {value_before!r} -> {value_after!r} but the plot "
                          f"was not redrawn within {WIDGET_TIMEOUT} s")
    if images.count():
        src_after = images.first.get_attribute("src")
    value_after = readout.inner_text().strip()
    show_widget(output_area)
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / f"{stem}-3-page-after.png"))
    output_area.screenshot(path=str(shots / f"{stem}-4-widget-after.png"))
    say("PASS", f"{name}: slider {value_before!r} -> {value_after!r}, plot redrawn "
                f"{image_key(src_before)} -> {image_key(src_after)}")


def wait_steady_image(page, images, name, steady=1.0):
    """Wait until the kernel is idle and the plot's src has not changed for `steady` s."""
    deadline = time.monotonic() + WIDGET_TIMEOUT
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        src = images.first.get_attribute("src") if images.count() else None
        if src != last:
            last, since = src, time.monotonic()
        elif src and time.monotonic() - since >= steady:
            if page.evaluate(JS_STATE).get("kernel") == "idle":
                return src
        page.wait_for_timeout(200)
    raise CheckFailed(f"{name}: the plot under the slider never settled within {WIDGET_TIMEOUT} s")


def show_widget(output_area):
    """Scroll so that the widget (slider and plot) sits at the top of the notebook view, with
    the last lines of its code cell above it."""
    output_area.evaluate("""el => {
        el.scrollIntoView({block: 'start'});
        const scroller = el.closest('.jp-WindowedPanel-outer');
        if (scroller) scroller.scrollBy(0, -90);
    }""")


def shutdown_kernel(page):
    try:
        page.evaluate("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                      " return w && w.sessionContext ? w.sessionContext.shutdown() : null; }")
    except Exception:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=DEFAULT_NOTEBOOKS,
                        help="notebook file names inside the notebooks folder")
    parser.add_argument("--notebooks-dir", type=Path, default=REPO / "notebooks",
                        help="folder to copy the notebooks from (default: the repo's)")
    parser.add_argument("--screenshots", type=Path, default=REPO / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    missing = [n for n in args.notebooks if not (args.notebooks_dir / n).is_file()]
    if missing:
        say("FAIL", f"notebook(s) not found in {args.notebooks_dir}: {', '.join(missing)}")
        return 1
    if not Path(args.chromium).exists():
        say("FAIL", f"no Chromium at {args.chromium} (apt-get install chromium)")
        return 1
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        say("FAIL", "playwright is not installed (python -m pip install playwright)")
        return 1
    args.screenshots.mkdir(parents=True, exist_ok=True)

    # A SIGTERM (e.g. from a CI timeout) must still stop JupyterLab: turn it into an exception.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    failures = []
    tmp = Path(tempfile.mkdtemp(prefix="charrnn-browser-test-"))
    process = None
    try:
        root = make_served_copy(args.notebooks_dir, tmp)
        process, base, token = start_lab(root, tmp)
        say("PASS", f"JupyterLab answers on {base} after {time.monotonic() - t0:.1f} s "
                    f"(serving a copy in {root})")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium,
                                                 args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(WIDGET_TIMEOUT * 1000)
            for name in args.notebooks:
                page = context.new_page()
                page_errors = []
                page.on("pageerror", lambda e, errs=page_errors: errs.append(str(e)))
                try:
                    check_notebook(page, base, token, name, args.screenshots)
                except CheckFailed as exc:
                    failures.append(str(exc))
                    say("FAIL", str(exc))
                except Exception as exc:   # a Playwright timeout or similar: still a failure
                    message = f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                    failures.append(message)
                    say("FAIL", message)
                finally:
                    if failures and failures[-1].startswith(name):
                        shot = args.screenshots / f"{Path(name).stem}-failure.png"
                        try:
                            page.screenshot(path=str(shot))
                            print(f"     screenshot of the failure: {shot}")
                        except Exception:
                            pass
                    for error in page_errors[:3]:
                        print(f"     note: JavaScript error in the page: {error[:200]}")
                    shutdown_kernel(page)
                    page.close()
            browser.close()
    except CheckFailed as exc:
        failures.append(str(exc))
        say("FAIL", str(exc))
    except KeyboardInterrupt:
        failures.append("interrupted")
        say("FAIL", "interrupted")
    finally:
        if failures:
            print_log_tail(tmp)
        stop_lab(process)
        shutil.rmtree(tmp, ignore_errors=True)

    total = time.monotonic() - t0
    print(f"screenshots in {args.screenshots}")
    if failures:
        print(f"browser test FAILED ({len(failures)} failure(s), {total:.0f} s)")
        return 1
    print(f"browser test passed: {len(args.notebooks)} notebook(s) in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
