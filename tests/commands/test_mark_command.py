"""`viper mark FILE "text"` against a real recording process, and its error without one."""

from __future__ import annotations

import signal
import subprocess


from tests.helpers import file_events, sha256, viper_command, wait_until


def mark(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*viper_command(), "mark", *args], capture_output=True, text=True, timeout=timeout)


def test_a_mark_from_another_process_is_written_by_the_recorder(tmp_path):
    h5 = tmp_path / "run.h5"
    out = tmp_path / "stdout.txt"
    with open(out, "w") as sink:
        recorder = subprocess.Popen([*viper_command(), "--simulate", "--headless", "--interval", "0.2",
                                     "--duration", "0", "--h5", str(h5)], stdout=sink, stderr=subprocess.PIPE,
                                    text=True)
    try:
        wait_until(lambda: "] [" in out.read_text() and "[1]" in out.read_text())  # recording, channel open
        done = mark(str(h5), "valve V3 opened")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"marked {h5} before sample ") and done.stderr == ""
        index = int(done.stdout.split()[-1])
        second = mark(str(h5), "[/bold] = second; note")  # markup and formula characters are text
        assert second.returncode == 0, second.stderr
        wait_until(lambda: "mark: [/bold] = second; note" in out.read_text())  # the recorder's console saw it
    finally:
        recorder.send_signal(signal.SIGINT)
        _, err = recorder.communicate(timeout=60)
    assert recorder.returncode == 0, err
    marks = [(t, i) for k, t, i in file_events(h5, "kind", "text", "index", locking=False) if k == "mark"]
    assert marks == [("valve V3 opened", index), ("[/bold] = second; note", marks[1][1])]
    assert marks[1][1] >= index
    assert "# [" in out.read_text() and f"mark: valve V3 opened" in out.read_text()


def test_without_a_recorder_it_fails_in_one_line_and_leaves_the_file_alone(tmp_path):
    h5 = tmp_path / "done.h5"
    made = subprocess.run([*viper_command(), "--simulate", "--headless", "--interval", "0", "--duration", "2",
                           "--h5", str(h5)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    before = sha256(h5)
    result = mark(str(h5), "nobody hears this")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"viper mark: {h5}: no VIPER is recording this file (the mark was not added)\n"
    assert sha256(h5) == before
    missing = mark(str(tmp_path / "nope.h5"), "x")
    assert missing.returncode == 2 and missing.stderr == f"viper mark: {tmp_path / 'nope.h5'}: no such file\n"
    empty = mark(str(h5), "  ")
    assert empty.returncode == 2 and "the note is empty" in empty.stderr and "Traceback" not in empty.stderr
