"""The output-folder lock: one holder at a time, a second one waits or is refused by name, and a
lock whose holder died is taken over."""
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from pipeline.batch import lock

from .conftest import ROOT

HOLD = """
import sys, time
from pipeline.batch import lock
with lock.hold(sys.argv[1], "crmo-extract run"):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def other_process(tmp_path):
    """Another process holding tmp_path/out's lock until its stdin closes."""
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n"
    yield out, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_second_holder_is_refused_with_one_line_naming_the_first(other_process):
    out, proc = other_process
    with pytest.raises(lock.Busy) as refused:
        with lock.hold(out, "crmo-extract merge"):
            pass
    message = str(refused.value)
    assert "\n" not in message
    assert re.match(rf"{re.escape(str(out))}/ is in use by `crmo-extract run` \(pid {proc.pid}, since \d\d:\d\d:\d\d\): ",
                    message), message
    assert refused.value.holder.pid == proc.pid
    assert lock.current_holder(out).pid == proc.pid


def test_a_lock_whose_holder_was_killed_is_taken_over(other_process):
    out, proc = other_process
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The dead holder's line is still in the file, but names no live holder.
    assert str(proc.pid) in (out / ".lock").read_text()
    assert lock.current_holder(out) is None
    with lock.hold(out, "crmo-extract run") as held:
        assert lock.current_holder(out) == held.holder
        assert held.holder.pid == os.getpid()
    assert lock.current_holder(out) is None
    assert (out / ".lock").read_text() == ""   # released: names nobody


def test_a_waiting_holder_gets_the_lock_when_the_first_lets_go(tmp_path):
    out = tmp_path / "out"
    got = []
    first = lock.acquire(out, "crmo-extract run")
    # Locks are per open file, so a second hold in this process waits like another process would.
    waiter = threading.Thread(target=lambda: got.append(lock.acquire(out, "review page save", wait=60)))
    waiter.start()
    with pytest.raises(lock.Busy):
        lock.acquire(out, "crmo-extract meta", wait=0)
    first.release()
    waiter.join()
    assert got[0].holder.holder == "review page save"
    assert lock.current_holder(out).holder == "review page save"
    got[0].release()


def test_an_output_folder_that_cannot_hold_a_lock_file_is_a_lock_error(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(lock.LockError, match=r"cannot lock .*out/\.lock"):
        lock.acquire(blocker, "crmo-extract run")
