"""Text from outside VIPER: where it reaches a terminal, a journal or a spreadsheet, it must not act.

Mark notes with escape sequences, newlines, Rich markup, lone surrogates and formula starts go
through the real recorder, store, console, `viper info`, `viper export` and the viewer; a
command line that is not UTF-8 is refused before any file is opened; a damaged file's
out-of-range times are shown as invalid, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import threading

import h5py
import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Log, Static

from tests.helpers import file_events, make_sample, read_rows, run_info, viper_command, wait_until_async
from viper_tui.commands.console import ConsoleFrontEnd
from viper_tui.events import EVENT_TEXT_BYTES, Event, EventKind, event_text
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import EVENT_TEXT_BYTES as STORE_TEXT_BYTES
from viper_tui.recording.store import Store
from viper_tui.text import csv_cell, terminal_safe
from viper_tui.ui.screens import MarkScreen, TableScreen

SAMPLE = re.compile(r"\[\d+\] \[\d+\.\d{3} s\] IG .+  CG1 .+  CG2 .+  Torr")
EVENT = re.compile(r"# \[\d+\] \[\d+\.\d{3} s\] [a-z]+: .+")
FORGED = "[99] [1.000 s] IG 1.00E-06  CG1 7.60E+02  CG2 7.60E+02  Torr"
OSC = "\x1b]2;pwned\x07 retitled"  # retitles the terminal (the tmux pane) if printed raw
NASTY = [OSC, f"valve\n{FORGED}", "[/bold] closed", "pump [on]", "\u202eevil", "CSI \x9b31m red"]
FORMULAS = ['=HYPERLINK("http://evil.example/","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3", "\tTAB", "\uff1dSUM(A1)"]


def viper(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*viper_command(), *args], capture_output=True, timeout=60, **kwargs)


def marked_file(path, marks: list[str]):
    with Store.open(path, run_info(), fsync=False) as store:
        for i, text in enumerate(marks):
            store.append(make_sample(store.run_number, i))
            store.add_event(Event(EventKind.MARK, text, i + 1, make_sample(1, i).time, i * 0.15))
    return path


# ---- the helper ----------------------------------------------------------------------------


def test_terminal_safe_shows_what_would_act_and_keeps_the_rest():
    assert terminal_safe("valve V3 open, p < 5\u00d710\u207b\u2076 Torr \U0001f600") == \
        "valve V3 open, p < 5\u00d710\u207b\u2076 Torr \U0001f600"
    assert terminal_safe(OSC) == "\\x1b]2;pwned\\x07 retitled"
    assert terminal_safe("a\nb\r\tc\x00\x7f") == "a\\nb\\r\\tc\\x00\\x7f"
    assert terminal_safe("\x9b31m \u202e \u2028 \u200b \ufeff") == "\\x9b31m \\u202e \\u2028 \\u200b \\ufeff"
    assert terminal_safe("lone \ud800, byte \udcff") == "lone \\ud800, byte \\xff"
    assert terminal_safe("[/bold] C:\\data") == "[/bold] C:\\data"  # markup and backslashes are text
    assert [csv_cell(t)[0] for t in FORMULAS] == ["'"] * len(FORMULAS)
    assert csv_cell("valve = open") == "valve = open" and csv_cell("") == ""


# ---- through the recorder, to the file and the console ---------------------------------------


def test_marks_go_through_the_recorder_to_the_file_and_a_safe_console(tmp_path, serve_gauge, make_client):
    """A lone surrogate, escape sequences, a forged line and an over-long note: the run goes on,
    the file keeps what the screen shows, and stdout gets one safe line per event."""
    server = serve_gauge()
    client = make_client(server.link)
    h5 = tmp_path / "marks.h5"
    long_note = "\u00e9" * 300  # 600 bytes of UTF-8: more than the file keeps
    marks = [*NASTY, "lone \ud800 surrogate", long_note]
    r, w = os.pipe()
    out = os.fdopen(w, "w")
    console = ConsoleFrontEnd(out)
    seen: list[Event] = []
    with Store.open(h5, run_info(), fsync=False) as store:
        recorder = Recorder(client, store, interval=0.2, duration=3)
        recorder.subscribe(console.on_sample, console.on_event)
        recorder.subscribe(None, seen.append)
        for text in marks:
            recorder.mark(text)
        thread = threading.Thread(target=recorder.run)
        thread.start()
        thread.join(30)
        assert not thread.is_alive()
    assert console.finish("the summary")
    out.close()
    with os.fdopen(r, "rb") as reader:
        printed = reader.read()
    assert recorder.summary.reason == "3 recordings done" and not recorder.summary.failed
    shown = [e.text for e in seen if e.kind is EventKind.MARK]
    assert shown == [event_text(t) for t in marks]
    assert shown[-2] == "lone \\ud800 surrogate"
    assert EVENT_TEXT_BYTES == STORE_TEXT_BYTES  # the limit the recorder fits to is the file's
    assert shown[-1] == "\u00e9" * 126 + "\u2026"  # 255 bytes: cut on a character, and says so
    assert len(read_rows(h5)["Index"]) == 3
    stored = [t for k, t in file_events(h5) if k == "mark"]
    assert stored == shown  # what the screen showed is what the file holds
    text = printed.decode()
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in text
    lines = text.split("\n")
    assert lines[-2:] == ["the summary", ""]
    odd = [line for line in lines[:-2] if not (SAMPLE.fullmatch(line) or EVENT.fullmatch(line))]
    assert not odd and not [line for line in lines if line.startswith("[99]")]
    assert f"mark: valve\\n{FORGED}" in text and "mark: \\x1b]2;pwned\\x07 retitled" in text


# ---- viper info and viper export -------------------------------------------------------------


def test_info_events_are_terminal_safe_and_json_keeps_the_text(tmp_path):
    h5 = marked_file(tmp_path / "marks.h5", NASTY)
    result = viper("info", "--events", str(h5))
    assert result.returncode == 0, result.stderr
    for bad in (b"\x1b", b"\x07", b"\xc2\x9b", "\u202e".encode()):
        assert bad not in result.stdout
    lines = result.stdout.decode().splitlines()
    marks = [line for line in lines if " mark: " in line]
    assert len(marks) == len(NASTY)
    assert marks[0].endswith("mark: \\x1b]2;pwned\\x07 retitled")
    assert marks[1].endswith(f"mark: valve\\n{FORGED}") and not [x for x in lines if x.startswith("[99]")]
    assert marks[2].endswith("mark: [/bold] closed")
    report = json.loads(viper("info", "--json", "--events", str(h5)).stdout)
    assert [e["text"] for e in report["events"] if e["kind"] == "mark"] == NASTY


def test_export_neutralises_formulas_and_is_terminal_safe_on_a_terminal(tmp_path):
    h5 = marked_file(tmp_path / "marks.h5", [*FORMULAS, "valve = open", OSC])
    result = viper("export", "--csv", "--events", str(h5))
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout.decode())))[1:]
    texts = [row[6] for row in rows if row[5] == "mark"]
    assert texts == ["'" + t for t in FORMULAS] + ["valve = open", OSC]  # a file gets the exact text
    main, child = pty.openpty()
    proc = subprocess.Popen([*viper_command(), "export", "--events", str(h5)], stdout=child,
                            stderr=subprocess.PIPE)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.wait(30) == 0
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert b"\\x1b]2;pwned\\x07 retitled" in shown and b"'=HYPERLINK(" in shown


def damaged_times(path):
    """A file whose Time holds values no calendar date has, as a damaged or foreign file may."""
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(5):
            store.append(make_sample(store.run_number, i))
        store.add_event(Event(EventKind.MARK, "late", 3, 1e19, 0.5))
    with h5py.File(path, "a") as f:
        f["Time"][1] = 1e20
        f["Time"][4] = -1e300
    return path


def test_out_of_range_times_show_as_invalid_in_info_and_export(tmp_path):
    h5 = damaged_times(tmp_path / "damaged.h5")
    info = viper("info", "--events", "--gaps", str(h5))
    assert info.returncode == 0 and info.stderr == b"", info.stderr
    text = info.stdout.decode()
    assert "to invalid time (-1e+300)" in text and "invalid time (1e+19)  run 1  before sample 3  mark: late" in text
    report = json.loads(viper("info", "--json", "--events", str(h5)).stdout)
    assert report["runs"][0]["time_last_iso"] is None and report["events"][-1]["time_iso"] is None
    assert report["events"][-1]["time"] == 1e19
    rows = viper("export", "--csv", str(h5))
    assert rows.returncode == 0 and rows.stderr == b"", rows.stderr
    cells = list(csv.reader(io.StringIO(rows.stdout.decode())))[1:]
    assert [(c[0], c[1]) for c in cells if c[1] in ("1e+20", "-1e+300")] == [("", "1e+20"), ("", "-1e+300")]
    assert cells[0][0].endswith("Z")
    events = viper("export", "--csv", "--events", str(h5))
    assert events.returncode == 0 and events.stderr == b""
    assert list(csv.reader(io.StringIO(events.stdout.decode())))[-1][:2] == ["", "1e+19"]


# ---- the command line: text that is not UTF-8 ----------------------------------------------


def one_line_refusal(result: subprocess.CompletedProcess, words: bytes) -> None:
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and words in result.stderr and b"Traceback" not in result.stderr


def test_a_port_that_is_not_utf8_is_refused_before_the_file_opens(tmp_path, serve_gauge):
    server = serve_gauge()
    port = os.fsencode(tmp_path) + b"/gauge\xff"
    os.symlink(server.path, port)  # a real port, under a name whose bytes are not UTF-8
    gauge = tmp_path / "g.conf"
    gauge.write_text(f"[Serial]\nport = {server.link}\n")
    rec = tmp_path / "r.conf"
    h5 = tmp_path / "data.h5"
    rec.write_text(f"[Logging]\nh5file = {h5}\ninterval = 0.2\nduration = 2\n")
    result = viper(str(gauge), str(rec), b"--port", port)
    one_line_refusal(result, b"viper: --port: " + os.fsencode(tmp_path) + b"/gauge\\xff is not valid UTF-8")
    assert not h5.exists()  # no file, so no phantom run
    result = viper(str(gauge), str(rec), "--h5", b"/tmp/x\xfe.h5")
    one_line_refusal(result, b"--h5: /tmp/x\\xfe.h5 is not valid UTF-8")


def test_a_config_value_that_is_not_utf8_is_refused(tmp_path, serve_gauge):
    server = serve_gauge()
    gauge = tmp_path / "g.conf"
    gauge.write_text(f"[Serial]\nport = {server.link}\n")
    rec = tmp_path / "r.conf"
    rec.write_text("[Logging]\nh5file = ${VIPER_DIR}/data.h5\nduration = 2\ninterval = 0.2\n")
    bad_dir = os.fsencode(tmp_path) + b"/d\xff"
    os.mkdir(bad_dir)
    env = {**os.environb, b"VIPER_DIR": bad_dir}
    result = viper(str(gauge), str(rec), env=env)
    one_line_refusal(result, b"r.conf: [Logging] h5file: " + bad_dir.replace(b"\xff", b"\\xff"))
    assert os.listdir(bad_dir) == []


# ---- the Textual screens ---------------------------------------------------------------------


async def test_viewer_lists_marks_as_plain_safe_text(tmp_path, viewer):
    path = marked_file(tmp_path / "marks.h5", NASTY)
    app = viewer(path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until_async(pilot, lambda: len(app.query_one(Log).lines) >= len(NASTY))
        logged = [line for line in app.query_one(Log).lines if " mark: " in line]
        assert [line.split(" mark: ", 1)[1] for line in logged] == [terminal_safe(t) for t in NASTY]
        await pilot.press("e")
        assert isinstance(app.screen, TableScreen)
        table = app.screen.query_one(DataTable)
        cells = [table.get_row_at(k)[3] for k in range(table.row_count)]
        assert all(isinstance(c, Text) for c in cells)
        assert [c.plain for c in cells] == [terminal_safe(t) for t in NASTY]
        await pilot.pause()
        table.move_cursor(row=0)
        await pilot.pause()
        drawn = "\n".join("".join(s.text for s in table.render_line(y)) for y in range(table.size.height))
        assert "pump [on]" in drawn and "[/bold] closed" in drawn and "\\x1b]2;pwned" in drawn
        await pilot.press("escape", "q")
    assert app.return_code == 0


async def test_mark_longer_than_the_file_keeps_is_refused_not_cut(monitor):  # noqa: F811
    app, _server, path = monitor()
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        await pilot.press("m")
        assert isinstance(app.screen, MarkScreen)
        note = app.screen.query_one(Input)
        note.value = "\u00e9" * 200  # 200 characters, 400 bytes
        await pilot.press("enter")
        assert isinstance(app.screen, MarkScreen)  # refused, and says why
        assert str(app.screen.query_one("#note-error", Static).render()) == \
            f"400 bytes: the file keeps {EVENT_TEXT_BYTES}; shorten it by {400 - EVENT_TEXT_BYTES}"
        note.value = "\u00e9" * 100 + " [/bold] pump [on]"
        await pilot.press("enter")
        assert not isinstance(app.screen, MarkScreen)
        await wait_until_async(pilot, lambda: any(" mark: " in line for line in app.query_one(Log).lines))
        await pilot.press("q", "y")
    marks = [t for k, t in file_events(path, locking=False) if k == "mark"]
    assert marks == ["\u00e9" * 100 + " [/bold] pump [on]"]


@pytest.mark.parametrize("text", ["x" * 256, "\u00e9" * 128, "\u00e9" * 129, "a" * 255 + "\u00e9"])
def test_event_text_fits_the_file(text):
    fitted = event_text(text)
    size = len(fitted.encode())
    assert size <= EVENT_TEXT_BYTES
    assert fitted == text if len(text.encode()) <= EVENT_TEXT_BYTES else fitted.endswith("\u2026")
