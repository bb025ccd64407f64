"""The isolation layers on their own: a bare fork server and child, no grader around them.

Each test forks a stand-in for the fork server (which calls ``prepare_server``, so the test
process itself never enters a namespace), which forks one child that enters the sandbox
exactly as a submission's child does and then runs a snippet of hostile Python.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import textwrap

import pytest

from student_gym.grader import isolation, isolation_report, seccomp_filter
from student_gym.grader.assignments import Limits

pytestmark = pytest.mark.skipif(platform.system() != "Linux", reason="Linux isolation layers")


def run_sandboxed(body: str, disable: str = "") -> dict:
    """Run ``body`` in a sandboxed grandchild; it fills ``result``; returns it plus ``layers``."""
    parent_dir = tempfile.mkdtemp(prefix="sg-iso-test-")
    os.chmod(parent_dir, 0o755)
    read_fd, write_fd = os.pipe()
    server = os.fork()
    if server == 0:
        try:
            os.close(read_fd)
            os.environ[isolation.DISABLE_ENV] = disable
            isolation.prepare_server()
            workdir = tempfile.mkdtemp(dir=parent_dir)
            child = os.fork()
            if child == 0:
                try:
                    os.setsid()
                    os.chdir(workdir)
                    layers = isolation.enter_child_sandbox(Limits(), workdir)
                    scope = {"result": {}, "workdir": workdir, "parent_dir": parent_dir}
                    exec(textwrap.dedent(body), scope)
                    payload = {"layers": list(layers), "result": scope["result"]}
                except BaseException as exc:  # noqa: BLE001 - report, never hang the test
                    payload = {"error": repr(exc)}
                os.write(write_fd, json.dumps(payload).encode())
                os._exit(0)
            os.waitpid(child, 0)
        finally:
            os._exit(0)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 65536):
        data += chunk
    os.close(read_fd)
    os.waitpid(server, 0)
    shutil.rmtree(parent_dir, ignore_errors=True)
    payload = json.loads(data or b'{"error": "no answer from the sandboxed child"}')
    assert "error" not in payload, payload["error"]
    return payload


def attempt(expr: str) -> str:
    """Snippet that records the exception class name raised by ``expr`` (or 'ok')."""
    return f"""
try:
    {expr}
    outcome = "ok"
except BaseException as exc:
    outcome = type(exc).__name__ + ":" + str(getattr(exc, "errno", ""))
"""


def test_this_machine_has_enough_layers_and_names_them():
    report = isolation_report()  # the one public report: measured on the real fork server
    assert report["available"], report
    assert "seccomp" in report["layers"]
    assert "landlock" in report["layers"] or "readonly_mounts" in report["layers"]
    if "landlock" in report["layers"]:
        assert "landlock_reads" in report["layers"]
    if os.geteuid() == 0:
        assert {"uid_drop", "uid_per_child", "tmpfs_workdir"} <= set(report["layers"]), report
    assert report["missing"].get("python_imports") is None


def test_no_exec_no_fork_no_sockets_but_threads_work():
    out = run_sandboxed(
        "import os, socket, subprocess, threading, ctypes, errno\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "r = result\n"
        "for name, expr in {\n"
        "    'fork': 'os.fork()',\n"
        "    'subprocess': 'subprocess.run([\"/bin/true\"])',\n"
        "    'execv': 'os.execv(\"/bin/true\", [\"true\"])',\n"
        "    'socket': 'socket.socket()',\n"
        "    'socketpair': 'socket.socketpair()',\n"
        "    'unshare': 'os.unshare(os.CLONE_NEWUSER) if hasattr(os, \"unshare\") else 1/0',\n"
        "}.items():\n"
        "    try:\n"
        "        exec(expr)\n"
        "        r[name] = 'ok'\n"
        "    except BaseException as exc:\n"
        "        r[name] = type(exc).__name__\n"
        "r['system'] = os.system('true')\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "r['clone3'] = (libc.syscall(435, None, 0), ctypes.get_errno())\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    r['threads'] = sum(pool.map(lambda x: x * x, range(100)))\n"
        "t = threading.Thread(target=lambda: r.setdefault('thread_ran', True)); t.start(); t.join()\n"
    )
    r = out["result"]
    assert "seccomp" in out["layers"]
    for name in ("fork", "subprocess", "execv", "socket", "socketpair"):
        assert r[name] == "PermissionError", (name, r[name])
    assert r["unshare"] in ("PermissionError", "ZeroDivisionError")
    assert r["system"] != 0  # /bin/true would have returned 0
    assert r["clone3"] == [-1, 38]  # ENOSYS: glibc falls back to clone, which we can filter
    assert r["threads"] == sum(x * x for x in range(100))
    assert r["thread_ran"] is True


def test_writes_are_confined_to_the_temp_dir_and_uid_is_dropped():
    victim_dir = tempfile.mkdtemp(prefix="sg-iso-victim-")
    os.chmod(victim_dir, 0o777)  # even a world-writable directory must stay untouched
    victim = os.path.join(victim_dir, "keep.txt")
    with open(victim, "w") as f:
        f.write("keep")
    os.chmod(victim, 0o666)
    try:
        out = run_sandboxed(
            "import os\n"
            f"victim_dir, victim = {victim_dir!r}, {victim!r}\n"
            "with open(os.path.join(workdir, 'mine.txt'), 'w') as f: f.write('x')\n"
            "os.mkdir('sub'); os.rename('mine.txt', 'sub/mine.txt')\n"
            "result['inside'] = open('sub/mine.txt').read()\n"
            "result['uid'] = (os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n"
            "for name, fn in {\n"
            "    'create': lambda: open(os.path.join(victim_dir, 'new.txt'), 'w'),\n"
            "    'overwrite': lambda: open(victim, 'w'),\n"
            "    'append': lambda: open(victim, 'a'),\n"
            "    'delete': lambda: os.remove(victim),\n"
            "    'rename_out': lambda: os.rename('sub/mine.txt', victim_dir + '/moved'),\n"
            "    'tmp': lambda: open('/tmp/sg-escape.txt', 'w'),\n"
            "    'devnull': lambda: open(os.devnull, 'w').write('fine'),\n"
            "}.items():\n"
            "    try:\n"
            "        fn(); result[name] = 'ok'\n"
            "    except OSError as exc:\n"
            "        result[name] = type(exc).__name__\n"
        )
        r = out["result"]
        assert r["inside"] == "x"
        for name in ("create", "overwrite", "append", "delete", "rename_out", "tmp"):
            assert r[name] in ("PermissionError", "OSError"), (name, r[name])
        assert r["devnull"] == "ok"
        assert open(victim).read() == "keep" and os.listdir(victim_dir) == ["keep.txt"]
        assert not os.path.exists("/tmp/sg-escape.txt")
        if os.geteuid() == 0:
            assert r["uid"] == [65534, 65534, 65534, []]
    finally:
        shutil.rmtree(victim_dir, ignore_errors=True)


def test_readonly_mount_fallback_confines_writes_without_landlock():
    out = run_sandboxed(
        "import os\n"
        "open('inside.txt', 'w').write('ok')\n"
        "result['inside'] = open('inside.txt').read()\n"
        "try:\n"
        "    open('/tmp/sg-escape-ro.txt', 'w'); result['outside'] = 'ok'\n"
        "except OSError as exc:\n"
        "    result['outside'] = exc.errno\n",
        disable="landlock",
    )
    assert "landlock" not in out["layers"] and "readonly_mounts" in out["layers"]
    assert out["result"]["inside"] == "ok"
    assert out["result"]["outside"] in (13, 30)  # EACCES (uid) or EROFS (mount)
    assert not os.path.exists("/tmp/sg-escape-ro.txt")


def test_signals_reach_only_the_child_itself():
    out = run_sandboxed(
        "import os, signal\n"
        "hits = []\n"
        "signal.signal(signal.SIGUSR1, lambda *a: hits.append(1))\n"
        "os.kill(os.getpid(), signal.SIGUSR1)\n"
        "signal.raise_signal(signal.SIGUSR1)\n"
        "result['own'] = len(hits)\n"
        "for name, pid in {'parent': os.getppid(), 'init': 1, 'everyone': -1}.items():\n"
        "    try:\n"
        "        os.kill(pid, 0); result[name] = 'ok'\n"
        "    except OSError as exc:\n"
        "        result[name] = type(exc).__name__\n"
    )
    r = out["result"]
    assert r["own"] == 2
    assert r["parent"] == r["init"] == r["everyone"] == "PermissionError"


def test_other_processes_are_invisible():
    probe = ("import os\n"
             "result['me'] = os.getpid()\n"
             "try:\n"
             "    result['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
             "except OSError as exc:\n"
             "    result['pids'] = type(exc).__name__\n"
             "try:\n"
             "    result['parent_cmdline'] = open(f'/proc/{os.getppid()}/cmdline').read()\n"
             "except OSError as exc:\n"
             "    result['parent_cmdline'] = type(exc).__name__\n")
    confined = run_sandboxed(probe)
    if "landlock_reads" in confined["layers"]:  # /proc is not among what a child may read
        assert confined["result"]["pids"] == "PermissionError"
        assert confined["result"]["parent_cmdline"] in ("PermissionError", "FileNotFoundError")
    if os.geteuid() != 0:
        pytest.skip("a private /proc needs root in the initial user namespace")
    out = run_sandboxed(probe, disable="landlock")  # the private /proc layer on its own
    assert "proc_hidepid" in out["layers"]
    assert out["result"]["pids"] == [out["result"]["me"]]
    assert out["result"]["parent_cmdline"] == "FileNotFoundError"


def test_grader_environment_does_not_reach_the_child():
    out = run_sandboxed(  # without Landlock's read rules, which would hide /proc/self as well
        "import os, ctypes\n"
        "result['environ'] = dict(os.environ)\n"
        "try:\n"
        "    result['proc_environ'] = open('/proc/self/environ', 'rb').read().decode('latin-1')\n"
        "except OSError as exc:\n"
        "    result['proc_environ'] = type(exc).__name__\n"
        "fields = open('/proc/self/stat').read().rsplit(')', 1)[1].split()\n"
        "start, end = int(fields[47]), int(fields[48])\n"
        "result['memory'] = ctypes.string_at(start, end - start).decode('latin-1') if start else ''\n",
        disable="landlock",
    )
    r = out["result"]
    secret_path = os.environ.get("PATH", "/usr/bin")
    assert "PATH=" not in r["proc_environ"] and secret_path not in r["proc_environ"]
    assert "PATH=" not in r["memory"] and set(r["memory"]) <= {"\x00"}


def test_refuses_without_isolation_unless_unsafe(monkeypatch):
    monkeypatch.setenv(isolation.DISABLE_ENV, "seccomp")
    monkeypatch.delenv(isolation.UNSAFE_ENV, raising=False)
    isolation._probe.cache_clear()
    try:
        report = isolation.probe_report()
        assert not isolation.layers_sufficient(report["layers"])
        assert "seccomp" in report["missing"]
        with pytest.raises(RuntimeError, match="refusing to grade untrusted code.*active"):
            isolation.refuse(report["layers"])
        isolation.refuse(report["layers"], unsafe=True)  # the explicit opt-out
        monkeypatch.setenv(isolation.UNSAFE_ENV, "1")
        isolation.refuse(report["layers"])
    finally:
        isolation._probe.cache_clear()


def test_filter_assembles_for_both_architectures_and_refuses_others():
    for machine in ("x86_64", "aarch64"):
        program = seccomp_filter.build_filter(machine)
        assert 0 < program.length < 256 and len(program.patches) == 4  # pid x3, -pgid
    with pytest.raises(OSError, match="no seccomp syscall table"):
        seccomp_filter.build_filter("sparc64")


RAW_SYSCALLS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = os.getpid()
params = ctypes.create_string_buffer(120)
pair = (ctypes.c_int * 2)()
calls = {  # x86_64 numbers; each would succeed for an unprivileged process without the filter
    'socket': (41, 2, 1, 0),
    'socketpair': (53, 1, 1, 0, pair),
    'ptrace_traceme': (101, 0, 0, 0, 0),
    'personality_query': (135, 0xFFFFFFFF),
    'setfsuid_query': (122, 0xFFFFFFFF),
    'tkill_self': (200, libc.gettid(), 0),
    'process_vm_readv_self': (310, pid, None, 0, None, 0, 0),
    'kcmp_self': (312, pid, pid, 0, 0, 0),
    'pidfd_open_self': (434, pid, 0),
    'io_uring_setup': (425, 1, params),
    'unshare_user': (272, 0x10000000),
}
for name, (nr, *args) in calls.items():
    ctypes.set_errno(0)
    result[name] = [libc.syscall(nr, *args), ctypes.get_errno()]
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="raw x86_64 syscall numbers")
def test_the_filter_is_what_refuses_each_dangerous_syscall():
    filtered = run_sandboxed(RAW_SYSCALLS)["result"]
    unfiltered = run_sandboxed(RAW_SYSCALLS, disable="seccomp")["result"]
    for name, outcome in filtered.items():
        assert outcome == [-1, 1], (name, outcome)  # EPERM, without running the syscall
    for name, outcome in unfiltered.items():
        assert outcome[0] >= 0, (name, outcome)  # every other layer would have allowed it


def test_other_platforms_get_no_layers_and_a_refusal(monkeypatch):
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.delenv(isolation.UNSAFE_ENV, raising=False)
    isolation._probe.cache_clear()
    try:
        report = isolation.probe_report()
        assert report["layers"] == [] and not isolation.layers_sufficient(report["layers"])
        assert "Darwin" in report["missing"]["all"]
        with pytest.raises(RuntimeError, match="refusing to grade untrusted code"):
            isolation.refuse(report["layers"])
        isolation.refuse(report["layers"], unsafe=True)
    finally:
        isolation._probe.cache_clear()
