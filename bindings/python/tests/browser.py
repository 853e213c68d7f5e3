"""A small driver of headless Chromium for tests that check the project's offline HTML pages in a
real browser. Standard library only: it speaks the Chrome DevTools Protocol over
`--remote-debugging-pipe` (Chromium reads commands on fd 3 and writes answers and events on fd 4,
each message JSON ended by a NUL byte).

    find_chromium() -> str | None
        `KHOP_CHROMIUM` if set (a path or a command name; None when it names nothing), else the
        first of `chromium`, `chromium-browser`, `google-chrome` on the PATH.
    ensure_chromium() -> str | None
        find_chromium(); when that finds none, running as root on Debian with `apt-get` and with
        neither `KHOP_NO_INSTALL` nor `KHOP_CHROMIUM` set, installs the `chromium` package quietly
        (`apt-get update` first only if the plain install fails) and looks again. None when there
        is still none: the caller should then pytest.skip() with a clear message.

    with Page(chromium, download_dir=None, width=1280, height=900) as page:
        page.open(path)                  # navigate to path's file:// URL, wait for the load event;
                                         # clears console_errors and requests first
        page.evaluate(expression)        # Runtime.evaluate (returnByValue, awaitPromise): the
                                         # value, or JavaScriptError when it throws
        page.click(selector)             # document.querySelector(selector).click(); LookupError
                                         # when nothing matches
        page.screenshot(path, full_page=True)   # a PNG, by default of the whole page
        page.wait_for_download(timeout=10)      # path of the next completed download, saved
                                                # in download_dir (needs download_dir)
        page.console_errors              # console.error / console.assert messages, uncaught
                                         # exceptions, Log entries of level error
        page.requests                    # every URL the page requested, in order
        page.network_requests_outside(allowed)  # those not `allowed` (the page's own file URL)
                                                # and not data:, blob:, about:

Every wait has a timeout (30 s for a command unless said otherwise); a protocol error, a timeout
or Chromium exiting raises BrowserError, with the end of Chromium's stderr where it helps.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import pathlib
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any

COMMAND_TIMEOUT = 30.0


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, did not answer in time, or exited."""


class JavaScriptError(BrowserError):
    """An evaluated expression threw (or its promise was rejected)."""


def find_chromium() -> str | None:
    given = os.environ.get("KHOP_CHROMIUM")
    if given:
        return shutil.which(given)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> str | None:
    found = find_chromium()
    if found or os.environ.get("KHOP_NO_INSTALL") or os.environ.get("KHOP_CHROMIUM"):
        return found
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or not apt_get or not pathlib.Path("/etc/debian_version").exists():
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait_lock = ["-o", "DPkg::Lock::Timeout=600"]

    def apt(*args: str) -> bool:
        try:
            done = subprocess.run([apt_get, *wait_lock, *args], env=env, capture_output=True,
                                  stdin=subprocess.DEVNULL, timeout=1200)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    if not apt("install", "-y", "-q", "chromium") and apt("update", "-q"):
        apt("install", "-y", "-q", "chromium")
    return find_chromium()


class Page:
    """One headless Chromium with one page, attached to over a flat CDP session."""

    def __init__(self, chromium: str, download_dir: pathlib.Path | None = None,
                 width: int = 1280, height: int = 900) -> None:
        self._console_errors: list[str] = []
        self._requests: list[str] = []
        self.url: str | None = None
        self.download_dir = pathlib.Path(download_dir).resolve() if download_dir else None
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._abandoned: set[int] = set()
        self._events: list[dict[str, Any]] = []   # Page.loadEventFired etc., for waits
        self._downloads: dict[str, dict[str, Any]] = {}  # guid -> {"name", "state"}
        self._returned: set[str] = set()
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._session: str | None = None
        self._closed = False
        self._temp = pathlib.Path(tempfile.mkdtemp(prefix="khop-chromium-"))
        self._stderr = open(self._temp / "stderr.log", "wb")
        # Chromium reads fd 3 and writes fd 4. The pipe ends are first moved to fds >= 10 so that
        # the dup2 calls in the child cannot clobber one another.
        to_r, to_w = (self._high(fd) for fd in os.pipe())
        from_r, from_w = (self._high(fd) for fd in os.pipe())

        def plumb() -> None:  # in the child, between fork and exec
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        arguments = [
            chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--metrics-recording-only", f"--window-size={width},{height}",
            f"--user-data-dir={self._temp / 'profile'}", "--remote-debugging-pipe", "about:blank",
        ]
        try:
            # close_fds=False: every other fd of ours is close-on-exec already (PEP 446).
            self._process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=self._stderr,
                                             close_fds=False, preexec_fn=plumb)
        except BaseException:
            for fd in (to_w, from_r):
                os.close(fd)
            self._stderr.close()
            shutil.rmtree(self._temp, ignore_errors=True)
            raise
        finally:
            os.close(to_r)
            os.close(from_w)
        self._write_fd, self._read_fd = to_w, from_r
        self._reader = threading.Thread(target=self._read, name="chromium-cdp", daemon=True)
        self._reader.start()
        try:
            self._start(width, height)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _high(fd: int) -> int:
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return moved

    def _start(self, width: int, height: int) -> None:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            targets = self.send("Target.getTargets")["targetInfos"]
            pages = [target for target in targets if target["type"] == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise BrowserError("Chromium opened no page target" + self._stderr_tail())
            time.sleep(0.05)
        self._session = self.send("Target.attachToTarget", targetId=pages[0]["targetId"],
                                  flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        if self.download_dir:
            self.download_dir.mkdir(parents=True, exist_ok=True)
            self.send("Browser.setDownloadBehavior", behavior="allow",
                      downloadPath=str(self.download_dir), eventsEnabled=True)

    # -- the protocol ----------------------------------------------------------------------------

    def _read(self) -> None:
        """Background thread: split fd 4 into messages and queue them; None at the end."""
        parts: list[bytes] = []  # of a message not ended yet (screenshots run to megabytes)
        try:
            while chunk := os.read(self._read_fd, 1 << 20):
                while (end := chunk.find(b"\0")) >= 0:
                    parts.append(chunk[:end])
                    self._messages.put(json.loads(b"".join(parts)))
                    parts, chunk = [], chunk[end + 1:]
                if chunk:
                    parts.append(chunk)
        except (OSError, ValueError):
            pass
        self._messages.put(None)

    def _pump(self, deadline: float, waiting_for: str) -> None:
        """Handle the next message, waiting until `deadline` (monotonic) for one."""
        try:
            message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise BrowserError(f"timed out waiting for {waiting_for}") from None
        if message is None:
            self._messages.put(None)  # stays ended for every later wait
            raise BrowserError(f"Chromium exited while waiting for {waiting_for}"
                               + self._stderr_tail())
        self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        if "id" in message:
            if message["id"] not in self._abandoned:
                self._answers[message["id"]] = message
        else:
            self._event(message["method"], message.get("params", {}))

    def _drain(self) -> None:
        """Handle the messages that have come, without waiting for more."""
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return
            if message is None:
                self._messages.put(None)
                return
            self._handle(message)

    def send(self, method: str, session: bool = False, timeout: float = COMMAND_TIMEOUT,
             **params: Any) -> dict[str, Any]:
        """Send one command (to the page session when `session`) and return its result."""
        if self._closed:
            raise BrowserError(f"{method}: the browser is closed")
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._write_fd, data):]
        except OSError as error:
            raise BrowserError(f"{method}: cannot write to Chromium: {error}"
                               + self._stderr_tail()) from error
        deadline = time.monotonic() + timeout
        try:
            while ident not in self._answers:
                self._pump(deadline, f"the answer to {method}")
        except BrowserError:
            self._abandoned.add(ident)  # its answer, if it comes, is dropped
            raise
        answer = self._answers.pop(ident)
        if "error" in answer:
            failure = answer["error"]
            raise BrowserError(f"{method} failed: {failure.get('message')} "
                               f"({failure.get('code')}) {failure.get('data', '')}".rstrip())
        result: dict[str, Any] = answer.get("result", {})
        return result

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(_describe(arg) for arg in params.get("args", []))
            self._console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            description = details.get("exception", {}).get("description") or details.get("text")
            self._console_errors.append(f"uncaught: {description}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            where = f" ({entry['url']})" if entry.get("url") else ""
            self._console_errors.append(f"log: {entry.get('text')}{where}")
        elif method == "Network.requestWillBeSent":
            self._requests.append(params["request"]["url"])
        elif method == "Browser.downloadWillBegin":
            self._downloads[params["guid"]] = {"name": params["suggestedFilename"], "state": None}
        elif method == "Browser.downloadProgress":
            self._downloads.setdefault(params["guid"], {"name": None})["state"] = params["state"]
        elif method.startswith("Page."):
            self._events.append({"method": method, "params": params})

    def _stderr_tail(self) -> str:
        try:
            lines = (self._temp / "stderr.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        lines = [line for line in lines if "dbus" not in line]  # noise without a D-Bus daemon
        return ("\nChromium's stderr ends:\n" + "\n".join(lines[-15:])) if lines else ""

    # -- what tests use --------------------------------------------------------------------------

    def open(self, path: pathlib.Path, timeout: float = COMMAND_TIMEOUT) -> None:
        self._drain()
        self._console_errors.clear()
        self._requests.clear()
        self._events.clear()
        self.url = pathlib.Path(path).resolve().as_uri()
        result = self.send("Page.navigate", session=True, timeout=timeout, url=self.url)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {self.url}: {result['errorText']}")
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self._events):
            self._pump(deadline, f"the load event of {self.url}")

    def evaluate(self, expression: str, timeout: float = COMMAND_TIMEOUT) -> Any:
        result = self.send("Runtime.evaluate", session=True, timeout=timeout,
                           expression=expression, returnByValue=True, awaitPromise=True,
                           userGesture=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise JavaScriptError(f"{expression[:200]!r} threw: {description}")
        return result.get("result", {}).get("value")

    def click(self, selector: str) -> None:
        found = self.evaluate(f"(() => {{ const element = document.querySelector("
                              f"{json.dumps(selector)}); if (!element) return false; "
                              f"element.click(); return true; }})()")
        if not found:
            raise LookupError(f"no element matches {selector!r} in {self.url}")

    def screenshot(self, path: pathlib.Path, full_page: bool = True) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                              "scale": 1}
        data = self.send("Page.captureScreenshot", session=True, **params)["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))

    def wait_for_download(self, timeout: float = 10) -> pathlib.Path:
        if not self.download_dir:
            raise BrowserError("wait_for_download needs Page(..., download_dir=...)")
        deadline = time.monotonic() + timeout
        while True:
            for guid, download in self._downloads.items():
                if guid in self._returned or download["state"] not in ("completed", "canceled"):
                    continue
                self._returned.add(guid)
                if download["state"] == "canceled":
                    raise BrowserError(f"the download of {download['name']!r} was canceled")
                return self.download_dir / (download["name"] or guid)
            self._pump(deadline, "a download to complete")

    @property
    def console_errors(self) -> list[str]:
        """The errors logged since open(), as far as their messages have come."""
        self._drain()
        return self._console_errors

    @property
    def requests(self) -> list[str]:
        """The URLs requested since open(), in order, as far as their messages have come."""
        self._drain()
        return self._requests

    def network_requests_outside(self, allowed: str) -> list[str]:
        allowed = allowed.split("#")[0]
        return [url for url in self.requests if url != allowed
                and not url.startswith(("data:", "blob:", "about:"))]

    # -- the end ---------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.send("Browser.close", timeout=5)
        except BrowserError:
            pass
        self._closed = True
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        os.close(self._write_fd)
        self._reader.join(timeout=5)  # it ends at the end of fd 4, once Chromium has exited
        if not self._reader.is_alive():
            os.close(self._read_fd)
        self._stderr.close()
        shutil.rmtree(self._temp, ignore_errors=True)

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()


def _describe(value: dict[str, Any]) -> str:
    """A console argument (a Runtime.RemoteObject) as text."""
    if "value" in value:
        return value["value"] if isinstance(value["value"], str) else json.dumps(value["value"])
    return str(value.get("unserializableValue") or value.get("description") or value.get("type"))


if __name__ == "__main__":
    # A self-test: python3 browser.py
    import struct
    import sys

    chromium = ensure_chromium()
    if not chromium:
        sys.exit("no Chromium found (set KHOP_CHROMIUM, or install the chromium package)")
    with tempfile.TemporaryDirectory() as folder:
        root = pathlib.Path(folder)
        buttons = root / "buttons.html"
        buttons.write_text("""<!doctype html><meta charset="utf-8"><title>buttons</title>
<button id="error" onclick="console.error('boom', 42)">error</button>
<a id="download" download="labels.csv" href="#">download</a>
<div style="height: 2000px">tall</div>
<script>
document.getElementById("download").addEventListener("click", event => {
  const blob = new Blob(["left,right,label\\n1,2,match\\n"], {type: "text/csv"});
  event.currentTarget.href = URL.createObjectURL(blob);
});
</script>""")
        image = root / "image.html"
        image.write_text('<!doctype html><img src="https://example.com/x.png" alt="x">')
        with Page(chromium, download_dir=root / "downloads") as page:
            page.open(buttons)
            assert page.evaluate("document.title") == "buttons"
            assert page.evaluate("Promise.resolve(6 * 7)") == 42
            page.click("#error")
            assert page.console_errors == ["console.error: boom 42"], page.console_errors
            try:
                page.click("#missing")
                raise AssertionError("click on a missing element did not raise")
            except LookupError as error:
                print("missing element:", error)
            try:
                page.evaluate("null.x")
                raise AssertionError("a throwing expression did not raise")
            except JavaScriptError as error:
                print("throwing expression:", error)
            page.click("#download")
            saved = page.wait_for_download()
            assert saved.read_text() == "left,right,label\n1,2,match\n", saved.read_text()
            print("downloaded:", saved)
            assert page.network_requests_outside(buttons.resolve().as_uri()) == [], page.requests
            shot = root / "shot.png"
            page.screenshot(shot)
            png = shot.read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", png[:16]
            width, height = struct.unpack(">II", png[16:24])
            assert 1250 <= width <= 1280 and height > 2000, (width, height)
            print(f"screenshot: {width}x{height}, {len(png)} bytes")
            page.screenshot(shot, full_page=False)
            print("viewport screenshot: %dx%d" % struct.unpack(">II", shot.read_bytes()[16:24]))
            print("requests:", page.requests)

            page.open(image)
            outside = page.network_requests_outside(image.resolve().as_uri())
            assert outside == ["https://example.com/x.png"], page.requests
            print("outside requests:", outside)
            print("console errors:", page.console_errors)
    print("browser self-test passed")
