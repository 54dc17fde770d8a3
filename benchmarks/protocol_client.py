"""A visitor of a Streamlit app without a browser: it speaks Streamlit's own protocol.

The browser's side of `/_stcore/stream` is small: it sends BackMsg protobufs (mostly
`rerun_script`, carrying the page, the address's query string and the widgets' values) and
reads ForwardMsg protobufs (the page's elements, `script_finished`, `auto_rerun` requests for
fragments that refresh themselves, changes of the query string). This client does the same
from asyncio, so that a load test can have dozens of visitors on a small machine: a chromium
tab costs far more CPU than the app it visits.

What it keeps of a page: the elements sent during the last complete run of the script, the
widgets among them (found by the `key` the app gave them) and their texts. What it answers:
a widget change or a button press is a rerun with that widget's new value, as the browser's;
an `auto_rerun` request makes it rerun that fragment every `interval` seconds, as the
browser's timer does, while it stays on the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import websockets
from google.protobuf.json_format import MessageToDict
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


class ProtocolError(RuntimeError):
    """The app did not answer as a browser would expect."""


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@dataclass
class Page:
    """What one complete run of the script drew."""

    elements: dict[tuple[int, ...], object] = field(default_factory=dict)  # path -> Element
    fragments: dict[str, float] = field(default_factory=dict)  # fragment id -> seconds

    def texts(self) -> list[str]:
        return [text for e in self.elements.values() for text in _strings(MessageToDict(e))]

    def has_text(self, text: str) -> bool:
        return any(text in item for item in self.texts())

    def widget(self, key: str):
        """(kind, proto) of the widget the app created with `key`, or None."""
        for element in self.elements.values():
            kind = element.WhichOneof("type")
            inner = getattr(element, kind) if kind else None
            widget_id = getattr(inner, "id", "") if inner is not None else ""
            if isinstance(widget_id, str) and widget_id.endswith(f"-{key}"):
                return kind, inner
        return None


class Visitor:
    """One person's tab: connect(), then go(), press(), set_number() and refresh()."""

    def __init__(self, url: str, timeout: float = 120.0):
        self.stream_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.timeout = timeout
        self.query_string = ""
        self.page_hash = ""  # the page the server says we are on
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.values: dict[str, object] = {}  # widget id -> WidgetState set by this visitor
        self.page = Page()
        self.timings: list[tuple[str, float, float]] = []  # (action, started at, seconds)
        self._drawing = Page()
        self._finished: asyncio.Queue = asyncio.Queue()
        self._socket = None
        self._reader: asyncio.Task | None = None
        self._timers: dict[str, asyncio.Task] = {}
        self._lock = asyncio.Lock()  # one rerun in flight, as in a browser tab
        self.closed_because: str | None = None

    # ----- connection --------------------------------------------------------------------
    async def connect(self, path: str = "") -> None:
        self._socket = await websockets.connect(
            self.stream_url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout
        )
        self._reader = asyncio.create_task(self._read())
        await self._rerun("open the app", page_name=path)

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        if self._reader:
            self._reader.cancel()
        if self._socket:
            await self._socket.close()

    async def _read(self) -> None:
        try:
            async for data in self._socket:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._receive(message)
        except websockets.ConnectionClosed as closed:
            self.closed_because = f"the server closed the connection ({closed.rcvd})"
        finally:
            self._finished.put_nowait(None)

    def _receive(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":  # sent when any run starts, a fragment's included
            self.page_hash = message.new_session.page_script_hash
            if not message.metadata.run.fragment_ids:  # a whole page starts: draw anew
                self._drawing = Page()
        elif kind == "navigation":
            for page in message.navigation.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
            self.page_hash = message.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            path = tuple(message.metadata.delta_path)
            self._drawing.elements[path] = message.delta.new_element
        elif kind == "auto_rerun":
            rerun = message.auto_rerun
            self._drawing.fragments[rerun.fragment_id] = rerun.interval
        elif kind == "script_finished":
            status = message.script_finished
            if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                self.page = self._drawing
                self._start_timers()
            elif status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.page.elements.update(self._drawing.elements)
            if status in FINISHED:
                self._finished.put_nowait(status)
        elif kind == "ref_hash":
            raise ProtocolError("the server sent a cached message this client never cached")

    # ----- reruns ------------------------------------------------------------------------
    def _message(self, page_name: str = "", fragment: str = "", trigger: str = "") -> BackMsg:
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash if not page_name else ""
        state.page_name = page_name
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        for widget_id, value in self.values.items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            for name, item in value.items():
                setattr(widget, name, item)
        if trigger:
            widget = state.widget_states.widgets.add()
            widget.id = trigger
            widget.trigger_value = True
        return back

    async def _rerun(self, action: str, page_name: str = "", trigger: str = "") -> None:
        """Send a rerun and wait for the script to finish it (reruns it asks for included)."""
        async with self._lock:
            while not self._finished.empty():
                self._finished.get_nowait()
            started, at = time.monotonic(), time.time()
            await self._socket.send(self._message(page_name, trigger=trigger).SerializeToString())
            while True:
                try:
                    status = await asyncio.wait_for(self._finished.get(), self.timeout)
                except TimeoutError:
                    raise ProtocolError(
                        f"{action}: no answer within {self.timeout:.0f} s"
                    ) from None
                if status is None:
                    raise ProtocolError(f"{action}: {self.closed_because}")
                if status != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    break
            self.timings.append((action, at, time.monotonic() - started))

    def _stop_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _start_timers(self) -> None:
        self._stop_timers()
        for fragment, interval in self.page.fragments.items():
            if interval > 0:
                self._timers[fragment] = asyncio.create_task(self._tick(fragment, interval))

    async def _tick(self, fragment: str, interval: float) -> None:
        """The browser's timer for a fragment with run_every: rerun it, time each answer."""
        while True:
            await asyncio.sleep(interval)
            if self._lock.locked():
                continue  # the browser skips a tick while the page is running
            async with self._lock:
                while not self._finished.empty():
                    self._finished.get_nowait()
                started, at = time.monotonic(), time.time()
                self._drawing = Page(fragments=dict(self.page.fragments))
                message = self._message(fragment=fragment)
                await self._socket.send(message.SerializeToString())
                with contextlib.suppress(TimeoutError):
                    status = await asyncio.wait_for(self._finished.get(), self.timeout)
                    if status is None:
                        return  # the connection is closed
                    self.timings.append(("live update", at, time.monotonic() - started))

    # ----- what a person does ------------------------------------------------------------
    def _find(self, key: str):
        found = self.page.widget(key)
        if found is None:
            raise ProtocolError(f"no widget with key {key!r} on the page")
        return found

    async def go(self, path: str, action: str | None = None) -> None:
        """Follow the sidebar link to the page at `path` (e.g. "models")."""
        if path not in self.pages:
            raise ProtocolError(f"the app has no page {path!r} (it has {sorted(self.pages)})")
        self.values.clear()  # a page's widgets are its own
        self.page_hash = self.pages[path]
        await self._rerun(action or f"open {path}")

    async def press(self, key: str, action: str | None = None) -> None:
        kind, widget = self._find(key)
        if getattr(widget, "disabled", False):
            raise ProtocolError(f"the button {key!r} is disabled")
        await self._rerun(action or f"press {key}", trigger=widget.id)

    async def set_number(self, key: str, value: float, action: str | None = None) -> None:
        kind, widget = self._find(key)
        if kind != "number_input":
            raise ProtocolError(f"{key!r} is a {kind}, not a number input")
        integer = widget.data_type == widget.INT
        self.values[widget.id] = {"int_value": int(value)} if integer else {"double_value": value}
        await self._rerun(action or f"set {key}")

    async def refresh(self, action: str = "refresh") -> None:
        """Run the page again with what is on it (as a browser does after a widget change)."""
        await self._rerun(action)
