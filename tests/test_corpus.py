"""Tests for charrnn.corpora.reading, decoding and tables: every format, every user error,
downloads (Tiny Shakespeare too).

Fixtures are made here (tmp_path, a local HTTP server); nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import io
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from charrnn.corpora import builtins as builtins_module
from charrnn.corpora.builtins import load_builtin
from charrnn.corpora.reading import (
    DEFAULT_MAX_BYTES,
    Corpus,
    CorpusError,
    InvalidLine,
    download_corpus,
    read_corpus,
)
from charrnn.corpora.tables import csv_columns

SMI = b"CCO ethanol\n\nc1ccccc1 benzene\nC1CC broken-ring\nCC(=O)O acetic\n"


# ---------------------------------------------------------------- text


def test_text_keeps_the_text_but_drops_bom_and_crlf():
    corpus = read_corpus(b"\xef\xbb\xbfHello,\r\n  world!\r\n", "notes.txt")
    assert corpus.kind == "text" and not corpus.is_line_based
    assert corpus.text == "Hello,\n  world!\n"
    assert corpus.lines == () and corpus.invalid_lines == ()
    assert corpus.name == "notes.txt" and corpus.source == "file:notes.txt"


def test_unicode_text_reads_fine():
    text = "Café naïve — ünïcödé\n日本語のテキスト\nemoji 😀🧪\n"
    corpus = read_corpus(text.encode("utf-8"), "unicode.md")
    assert corpus.text == text
    summary = corpus.summary()
    assert summary["characters"] == len(text)
    assert summary["bytes"] == len(text.encode("utf-8"))
    assert summary["lines"] == 3
    assert {"😀", "日", "é"} <= set(summary["unique_characters"])
    assert summary["unique_characters"] == "".join(sorted(set(text)))


def test_path_as_str_or_path_and_bytes_without_a_name(tmp_path):
    path = tmp_path / "story.text"
    path.write_text("Once upon a time.\n", encoding="utf-8")
    assert read_corpus(path).text == read_corpus(str(path)).text == "Once upon a time.\n"
    assert read_corpus(b"just bytes").kind == "text"
    assert read_corpus(path, name="My story").name == "My story"


# ---------------------------------------------------------------- SMILES files


def test_smi_names_blank_lines_and_invalid_lines_with_line_numbers():
    corpus = read_corpus(SMI, "molecules.smi")
    assert corpus.kind == "smiles" and corpus.is_line_based
    assert corpus.lines == ("CCO", "c1ccccc1", "C1CC", "CC(=O)O")  # invalid kept
    assert corpus.text == "CCO\nc1ccccc1\nC1CC\nCC(=O)O"
    [invalid] = corpus.invalid_lines
    assert (invalid.line_number, invalid.text) == (4, "C1CC")
    assert "ring" in invalid.reason
    assert corpus.summary()["invalid"] == 1 and corpus.summary()["lines"] == 4


def test_invalid_lines_are_dropped_only_on_request():
    corpus = read_corpus(SMI, "molecules.smi")
    cleaned = corpus.without_invalid()
    assert cleaned.lines == ("CCO", "c1ccccc1", "CC(=O)O")
    assert cleaned.text == "CCO\nc1ccccc1\nCC(=O)O"
    assert cleaned.invalid_lines == () and cleaned.name == corpus.name
    assert len(corpus.lines) == 4  # the original is unchanged
    assert cleaned.without_invalid() is cleaned


def test_smi_header_is_skipped_and_counted_in_line_numbers():
    data = b"SMILES Name\nCCO a\nC(C b\n"
    corpus = read_corpus(data, "with_header.smiles")
    assert corpus.lines == ("CCO", "C(C")
    assert corpus.invalid_lines[0].line_number == 3


def test_check_smiles_false_skips_rdkit():
    corpus = read_corpus(b"CCO\nnot-a-molecule\n", "x.smi", check_smiles=False)
    assert corpus.lines == ("CCO", "not-a-molecule") and corpus.invalid_lines == ()


def test_kind_overrides_the_extension():
    assert read_corpus(b"CCO\nCCN\n", "list.txt", kind="smiles").lines == ("CCO", "CCN")
    assert read_corpus(SMI, "molecules.smi", kind="text").text == SMI.decode()
    with pytest.raises(CorpusError, match="'text' or 'smiles'"):
        read_corpus(b"CCO", "x.smi", kind="proteins")


def test_a_smiles_file_with_no_molecule_is_refused():
    with pytest.raises(CorpusError) as error:
        read_corpus(b"Hello there\nhow are you\nfine thanks\n", "chat.smi")
    message = str(error.value)
    assert "None of the 3 lines" in message and "RDKit can read" in message
    assert "really a SMILES file" in message
    with pytest.raises(CorpusError, match="no molecules"):
        read_corpus(b"smiles\n\n", "header_only.smi")


# ---------------------------------------------------------------- CSV files


def test_csv_finds_the_smiles_column_by_name():
    data = b'id,Canonical_SMILES,name\n1,CCO,"ethanol, dry"\n2,C1CC,ring\n3,c1ccccc1,b\n'
    corpus = read_corpus(data, "table.csv")
    assert corpus.lines == ("CCO", "C1CC", "c1ccccc1")
    assert corpus.invalid_lines[0] == InvalidLine(3, "C1CC", corpus.invalid_lines[0].reason)
    assert csv_columns(data) == ["id", "Canonical_SMILES", "name"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_sniffs_semicolons_and_tabs(delimiter):
    rows = [["name", "smiles"], ["ethanol", "CCO"], ["benzene", "c1ccccc1"]]
    data = "\n".join(delimiter.join(row) for row in rows).encode()
    assert read_corpus(data, "table.csv").lines == ("CCO", "c1ccccc1")
    assert csv_columns(data) == ["name", "smiles"]


def test_csv_column_chosen_explicitly():
    data = b"name,mol,note\nethanol,CCO,x\nwater,O,y\n"
    assert read_corpus(data, "t.csv", smiles_column="mol").lines == ("CCO", "O")
    assert read_corpus(data, "t.csv", smiles_column="MOL").lines == ("CCO", "O")
    with pytest.raises(CorpusError) as error:
        read_corpus(data, "t.csv", smiles_column="structure")
    assert "'structure'" in str(error.value) and "name, mol, note" in str(error.value)


def test_csv_without_a_usable_column_names_the_columns_it_saw():
    with pytest.raises(CorpusError) as error:
        read_corpus(b"name,weight\nethanol,46\nwater,18\n", "t.csv")
    message = str(error.value)
    assert "No SMILES column" in message and "name, weight" in message
    assert "Choose the column" in message


def test_csv_without_a_header_finds_the_molecule_column():
    data = b'"E1","CCO"\n"E2","c1ccccc1"\n"E3","C1CC"\n'
    assert csv_columns(data) == ["column 1", "column 2"]
    corpus = read_corpus(data, "plain.csv")
    assert corpus.lines == ("CCO", "c1ccccc1", "C1CC")
    assert corpus.invalid_lines[0].line_number == 3
    assert read_corpus(data, "plain.csv", smiles_column="column 2").lines == corpus.lines


def test_csv_line_numbers_count_header_blank_lines_and_empty_cells():
    data = b"smiles,id\nCCO,1\n\nC(,2\n,3\n"
    corpus = read_corpus(data, "t.csv")
    assert corpus.lines == ("CCO", "C(", "")
    assert [line.line_number for line in corpus.invalid_lines] == [4, 5]


def test_broken_csv_is_refused():
    with pytest.raises(CorpusError, match="could not be read as CSV"):
        csv_columns(b'smiles\n"' + b"C" * 200_000 + b'"\n')


# ---------------------------------------------------------------- gzip


@pytest.mark.parametrize(
    ("filename", "content", "lines"),
    [
        ("a.txt.gz", b"some text\n", ()),
        ("a.smi.gz", b"CCO x\nO y\n", ("CCO", "O")),
        ("a.csv.gz", b"smiles\nCCO\nO\n", ("CCO", "O")),
    ],
)
def test_gzip_files_are_decompressed(filename, content, lines):
    corpus = read_corpus(gzip.compress(content), filename)
    assert corpus.lines == lines
    assert corpus.text == (content.decode() if not lines else "\n".join(lines))


def test_gzip_bomb_is_refused_while_decompressing():
    member = gzip.compress(b"a" * 10_000_000, compresslevel=9)
    bomb = member * 300  # 3 GB once inflated; a few MB as sent
    started = time.perf_counter()
    with pytest.raises(CorpusError, match="Uncompressed, the file is more than"):
        read_corpus(bomb, "bomb.txt.gz", max_bytes=len(bomb) + 1_000_000)
    assert time.perf_counter() - started < 2.0


def test_damaged_gzip_is_refused():
    with pytest.raises(CorpusError, match="not a valid .gz file"):
        read_corpus(gzip.compress(b"hello there" * 100)[:40], "cut.txt.gz")


# ---------------------------------------------------------------- user errors


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  "])
def test_empty_files_are_refused(data):
    with pytest.raises(CorpusError, match="empty"):
        read_corpus(data, "empty.txt")


def test_only_blank_unicode_space_is_refused():
    with pytest.raises(CorpusError, match="only blank space"):
        read_corpus("\u00a0\u3000\n".encode(), "blank.txt")


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inside.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image"),
        (_zip_bytes(), "zip archive"),
        (bytes(range(256)) * 4, "image or a zip"),
        (bytes(range(1, 32)) * 20, "image or a zip"),
    ],
)
def test_binary_files_are_refused(data, what):
    with pytest.raises(CorpusError) as error:
        read_corpus(data, "upload.txt")
    message = str(error.value)
    assert "looks like a binary file" in message and what in message
    assert "upload plain text" in message


def test_non_utf8_says_line_offset_and_byte():
    with pytest.raises(CorpusError) as error:
        read_corpus("line one\ncafé\n".encode("latin-1"), "old.txt")
    message = str(error.value)
    assert "line 2" in message and "0xE9" in message and "byte offset 12" in message
    assert "UTF-8" in message


def test_utf16_is_recognised():
    with pytest.raises(CorpusError, match="UTF-16.*save it as UTF-8"):
        read_corpus("hello".encode("utf-16"), "windows.txt")


def test_files_over_the_limit_are_refused(tmp_path):
    with pytest.raises(CorpusError) as error:
        read_corpus(b"a" * 3 * 1024 * 1024, "big.txt", max_bytes=2 * 1024 * 1024)
    assert "3 MB" in str(error.value) and "2 MB limit" in str(error.value)
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 2000)
    with pytest.raises(CorpusError, match="limit"):
        read_corpus(path, max_bytes=1000)
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024


def test_unknown_extension_lists_the_supported_ones():
    with pytest.raises(CorpusError) as error:
        read_corpus(b"a,b", "sheet.xlsx")
    message = str(error.value)
    assert "sheet.xlsx" in message and ".txt" in message and ".smi" in message
    assert ".csv" in message


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CorpusError, match="There is no file at"):
        read_corpus(tmp_path / "nowhere.txt")


def test_corpus_error_is_a_value_error():
    assert issubclass(CorpusError, ValueError)


# ---------------------------------------------------------------- downloads


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, Callable]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes, self.hits, self.stopping = routes, [], threading.Event()

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up is expected here


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.server.routes.get(self.path, _not_found)(self)

    def log_message(self, *args) -> None:
        pass


def _not_found(handler: _Handler) -> None:
    handler.send_error(404, "Not Found")


def _body(content: bytes, length: int | None = None) -> Callable[[_Handler], None]:
    def send(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(content) if length is None else length))
        handler.end_headers()
        handler.wfile.write(content)

    return send


def _endless(handler: _Handler) -> None:
    handler.send_response(200)
    handler.end_headers()  # no Content-Length: only counting can stop it
    for _ in range(100):
        handler.wfile.write(b"x" * 1000)


def _slow(handler: _Handler) -> None:
    handler.server.stopping.wait(5)


@contextlib.contextmanager
def _serving(routes: dict[str, Callable]) -> Iterator[str]:
    server = _Server(routes)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "*")  # talk to 127.0.0.1 directly
    routes = {
        "/small.txt": _body(b"small file\n"),
        "/endless": _endless,
        "/declared-huge": _body(b"x", length=10**9),
        "/slow": _slow,
    }
    with _serving(routes) as (url, running):
        yield url, running


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_download_writes_the_file_and_then_uses_it(server, tmp_path):
    url, running = server
    destination = tmp_path / "cache" / "small.txt"
    assert download_corpus(f"{url}/small.txt", destination) == destination
    assert destination.read_bytes() == b"small file\n"
    download_corpus(f"{url}/small.txt", destination)
    assert running.hits == ["/small.txt"]  # the second call did not ask again
    assert _leftovers(destination.parent) == ["small.txt"]


def test_download_404(server, tmp_path):
    url, _ = server
    with pytest.raises(CorpusError) as error:
        download_corpus(f"{url}/nothing-here", tmp_path / "x.txt")
    assert "404" in str(error.value) and "Could not download" in str(error.value)
    assert _leftovers(tmp_path) == []


def test_download_stops_past_max_bytes(server, tmp_path):
    url, _ = server
    for path in ("/endless", "/declared-huge"):
        with pytest.raises(CorpusError, match="larger than the .* limit"):
            download_corpus(url + path, tmp_path / "big.txt", max_bytes=5000)
        assert _leftovers(tmp_path) == []  # no partial file left behind


def test_download_timeout(server, tmp_path):
    url, _ = server
    started = time.perf_counter()
    with pytest.raises(CorpusError, match="no answer within 0.5 seconds"):
        download_corpus(f"{url}/slow", tmp_path / "slow.txt", timeout=0.5)
    assert time.perf_counter() - started < 3
    assert _leftovers(tmp_path) == []


def test_download_refuses_other_schemes(tmp_path):
    with pytest.raises(CorpusError, match="only http:// and https://"):
        download_corpus("file:///etc/passwd", tmp_path / "passwd")


def test_tiny_shakespeare_downloads_once_then_reads_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("no_proxy", "*")
    play = b"First Citizen:\nBefore we proceed any further, hear me speak.\n"
    with _serving({"/input.txt": _body(play)}) as (url, running):
        monkeypatch.setattr(builtins_module, "TINY_SHAKESPEARE_URL", f"{url}/input.txt")
        first = load_builtin("tiny-shakespeare", cache_dir=tmp_path)
        assert running.hits == ["/input.txt"]
    assert first.text == play.decode() and first.kind == "text"
    assert first.source == "builtin:tiny-shakespeare" and first.name == "Tiny Shakespeare"
    again = load_builtin("tiny-shakespeare", cache_dir=tmp_path)  # server is gone
    assert again.text == first.text
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path))
    assert load_builtin("tiny-shakespeare").text == first.text


def test_tiny_shakespeare_without_network_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("no_proxy", "*")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setattr(builtins_module, "TINY_SHAKESPEARE_URL", f"http://127.0.0.1:{port}/x")
    with pytest.raises(CorpusError) as error:
        load_builtin("tiny-shakespeare", cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert message.startswith("Could not download Tiny Shakespeare (")
    assert "Check your internet connection, or upload a text file instead." in message
    assert not (tmp_path / "cache" / "tiny-shakespeare.txt").exists()


def test_corpus_repr_does_not_print_the_whole_text():
    corpus = Corpus("big", "text", "x" * 100_000)
    assert len(repr(corpus)) < 200
    with pytest.raises(ValueError):
        Corpus("bad", "images", "")
