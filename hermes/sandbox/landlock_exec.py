"""hermes' Landlock helper: run one command confined by Landlock, and let nothing it
started outlive it.

Run as ``python -I -S landlock_exec.py [--read P]... [--write P]... [--device P]...
[--network off|on] [--private-tmp] -- COMMAND ARGS...``. It builds the Landlock ruleset
(``--read``: read and execute beneath P; ``--write``: everything beneath P; ``--device``:
read, write and ioctl on a device file or beneath a device directory), forks, and the
child sets no-new-privileges, restricts itself and execs the command. With ``--network
off`` and Landlock ABI >= 4 every TCP connect and bind is refused (loopback too: Landlock
rules name ports, not addresses); ABI >= 6 also keeps the command from signalling
processes outside its domain or reaching abstract unix sockets. ``--private-tmp``: a
fresh directory becomes ``TMPDIR`` and is removed afterwards.

The helper itself stays unconfined as a child subreaper: when the command exits, every
process it left behind (a ``setsid`` daemon included, since orphans are re-parented to
the helper) is killed before the helper exits with the command's status.

Standard library only, and importable: :func:`abi_version` is how hermes asks the
kernel which Landlock it has.
"""

from __future__ import annotations

# The C module: `signal` would load `enum`, a tenth of this helper's start-up time.
import _signal as signal  # type: ignore[import-not-found]
import ctypes
import os
import sys

_SYS_CREATE_RULESET = 444  # the same number on every architecture
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_CHILD_SUBREAPER = 36

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when it has none (or it is disabled)."""
    try:
        libc = _libc()
    except OSError:
        return 0
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(
        ctypes.c_long(_SYS_CREATE_RULESET), None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION
    )
    return max(int(version), 0)


def handled_fs(abi: int) -> int:
    """Every filesystem right the kernel's ABI knows (all of them are restricted)."""
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class Ruleset:
    """A Landlock ruleset being built (a file descriptor)."""

    def __init__(self, abi: int, network: bool) -> None:
        self.libc = _libc()
        self.libc.syscall.restype = ctypes.c_long
        self.fs = handled_fs(abi)
        attr = _RulesetAttr(self.fs, 0, 0)
        size = 8
        if abi >= 4:
            size = 16
            if not network:
                attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        if abi >= 6:
            size = 24
            attr.scoped = SCOPE_SIGNAL | (0 if network else SCOPE_ABSTRACT_UNIX_SOCKET)
        fd = self.libc.syscall(
            ctypes.c_long(_SYS_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size), 0
        )
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
        self.fd = int(fd)

    def allow(self, path: str, rights: int) -> None:
        """Allow ``rights`` beneath ``path`` (only the file rights when it is no directory);
        a path that cannot be opened is skipped."""
        try:
            target = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            rights &= self.fs
            if not os.path.isdir(f"/proc/self/fd/{target}"):
                rights &= _FILE_ONLY
            if not rights:
                return
            rule = _PathBeneath(rights, target)
            done = self.libc.syscall(
                ctypes.c_long(_SYS_ADD_RULE),
                ctypes.c_int(self.fd),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                0,
            )
            if done < 0:
                err = ctypes.get_errno()
                raise OSError(err, f"landlock_add_rule {path}: {os.strerror(err)}")
        finally:
            os.close(target)

    def restrict_self(self) -> None:
        """Confine the calling process (and everything it starts) to the ruleset."""
        if self.libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
        done = self.libc.syscall(ctypes.c_long(_SYS_RESTRICT_SELF), ctypes.c_int(self.fd), 0)
        if done < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")


def _parse(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    opts: dict[str, list[str]] = {"read": [], "write": [], "device": [], "network": ["on"]}
    flags: list[str] = []
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i].removeprefix("--")
        if key == "private-tmp":
            flags.append(key)
            i += 1
            continue
        if key not in opts or i + 1 >= len(argv):
            raise SystemExit(f"hermes landlock helper: bad argument {argv[i]!r}")
        if key == "network":
            opts[key] = [argv[i + 1]]
        else:
            opts[key].append(argv[i + 1])
        i += 2
    command = argv[i + 1 :]
    if not command:
        raise SystemExit("hermes landlock helper: no command after --")
    opts["flags"] = flags
    return opts, command


def _children(me: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(me).encode():
            found.append(int(entry))
    return found


def _end_leftovers() -> None:
    """Kill and reap every process still re-parented to this subreaper."""
    me = os.getpid()
    while True:
        for pid in _children(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _private_tmp() -> str:
    base = "/tmp"
    for _ in range(100):
        path = os.path.join(base, f"hermes-sandbox-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
    raise OSError("cannot create a private temporary directory")


def _remove_tree(path: str) -> None:
    """``shutil.rmtree(path, ignore_errors=True)`` without importing shutil."""
    for root, dirs, files in os.walk(path, topdown=False):
        for name in (*files, *dirs):
            full = os.path.join(root, name)
            try:
                if name in dirs and not os.path.islink(full):
                    os.rmdir(full)
                else:
                    os.unlink(full)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    """Confine and run; returns the exit status to leave with."""
    opts, command = _parse(argv)
    abi = abi_version()
    if abi < 1:
        print("hermes landlock helper: this kernel has no Landlock", file=sys.stderr)
        return 126
    network = opts["network"][0] == "on"
    env = dict(os.environ)
    tmp = None
    try:
        ruleset = Ruleset(abi, network)
        if "private-tmp" in opts["flags"]:
            tmp = _private_tmp()
            env["TMPDIR"] = tmp
            opts["write"].append(tmp)
        for path in opts["read"]:
            ruleset.allow(path, EXECUTE | READ_FILE | READ_DIR)
        for path in opts["device"]:
            ruleset.allow(path, READ_FILE | WRITE_FILE | READ_DIR | IOCTL_DEV)
        for path in opts["write"]:
            ruleset.allow(path, ruleset.fs)
    except OSError as exc:
        print(f"hermes landlock helper: {exc}", file=sys.stderr)
        if tmp:
            _remove_tree(tmp)
        return 126
    _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    child = os.fork()
    if child == 0:
        try:
            ruleset.restrict_self()
            os.close(ruleset.fd)
            os.execvpe(command[0], command, env)
        except OSError as exc:
            print(f"hermes landlock helper: {command[0]}: {exc}", file=sys.stderr)
        os._exit(127)
    os.close(ruleset.fd)

    # The command's process group gets Ctrl+C and the kill steps already; a signal
    # sent to the helper alone is passed on. The helper must outlive the command.
    def forward(sig: int, _frame: object) -> None:
        if sig != signal.SIGINT:
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)
    _, status = os.waitpid(child, 0)
    _end_leftovers()
    if tmp:
        _remove_tree(tmp)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
