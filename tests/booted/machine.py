"""A Debian 12 system booted with systemd as PID 1, for the booted tier.

The root file system is made once with debootstrap and kept as a tarball in
a cache directory, keyed on its package list and on this file; each test
unpacks a fresh copy, copies the .deb built from the tree into it, and boots
it with systemd-nspawn (a private network, no registration with a host
systemd that may not exist).  Commands run inside through nsenter into the
container's PID 1: every namespace, the container's root, a clean
environment.  Root only.

Environment:
  ACCTSEC_BOOTED_CACHE   the cache directory (default /var/cache/acctsec-tests)
  ACCTSEC_DEBIAN_MIRROR  the archive debootstrap uses (default deb.debian.org)
  ACCTSEC_BOOTED_KEEP=1  keep the root file system after the test (debugging)
"""
import ctypes
import fcntl
import glob
import hashlib
import inspect
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SUITE = "bookworm"
# What the tests use inside besides the package's own dependencies (read
# from the .deb): logind sessions, sshd, sudo, an MTA's sendmail (msmtp),
# sqlite3 to read the daemon's database, ps and pkill.
PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "sudo",
            "msmtp", "msmtp-mta", "sqlite3", "procps", "login", "passwd", "libpam-runtime",
            "libpam-modules", "pamtester"]
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb", "DEBIAN_FRONTEND": "noninteractive"}
CLONE_NEWNET = 0x40000000


# Bounds against a hang only, never timing: generous, because the booted
# system shares two cores with whatever else runs (a loaded CI machine
# once took over 30 s to open an ssh channel while user@.service started).
HANG_GUARD = 120


def wait_for(cond, what, timeout=None, step=0.05):
    """cond()'s first true value (a state the system reaches on its own),
    polled until the deadline; TimeoutError naming WHAT after it."""
    timeout = timeout or HANG_GUARD
    deadline = time.monotonic() + timeout
    while not (v := cond()):
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(step)
    return v


def log(msg):
    print("# " + msg, flush=True)


def deb_depends(deb):
    """The package names a .deb depends on (first of each alternative)."""
    out = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                         check=True).stdout
    names = []
    for item in out.split(","):
        name = item.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name:
            names.append(name)
    return names


def build_deb(top, out_dir):
    """acctsec_*.deb built with dpkg-buildpackage from a copy of the tree's
    sources (committed or not); nothing is written into the tree."""
    src = os.path.join(out_dir, "src", "acctsec")
    shutil.rmtree(os.path.join(out_dir, "src"), ignore_errors=True)
    os.makedirs(src)
    files = subprocess.run(["git", "-C", top, "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=False)
    if files.returncode == 0:
        names = [n for n in files.stdout.decode().split("\0") if n and os.path.lexists(os.path.join(top, n))]
        subprocess.run(["tar", "-C", top, "--null", "-T", "-", "-cf", os.path.join(out_dir, "src.tar")],
                       input="\0".join(names).encode(), check=True)
    else:
        subprocess.run(["tar", "-C", top, "--exclude=./build", "--exclude=./build-*", "-cf",
                        os.path.join(out_dir, "src.tar"), "."], check=True)
    subprocess.run(["tar", "-C", src, "-xf", os.path.join(out_dir, "src.tar")], check=True)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=%d nocheck" % (os.cpu_count() or 1))
    with open(os.path.join(out_dir, "build.log"), "w") as logf:
        r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                           stdout=logf, stderr=subprocess.STDOUT)
    debs = [d for d in glob.glob(os.path.join(out_dir, "src", "acctsec_*_*.deb"))]
    if r.returncode != 0 or len(debs) != 1:
        raise RuntimeError("dpkg-buildpackage failed; see %s/build.log" % out_dir)
    return debs[0]


def the_deb(top, work):
    """The .deb under test: built once per run into $ACCTSEC_BOOTED_DEB_DIR
    (scripts/test.sh sets it, and the booted tests share it), else into WORK."""
    shared = os.environ.get("ACCTSEC_BOOTED_DEB_DIR")
    if not shared:
        return build_deb(top, work)
    os.makedirs(shared, exist_ok=True)
    with open(os.path.join(shared, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        debs = glob.glob(os.path.join(shared, "src", "acctsec_*_*.deb"))
        return debs[0] if len(debs) == 1 else build_deb(top, shared)


def rootfs_tarball(packages):
    """The cached root file system for PACKAGES, made when missing."""
    cache = os.environ.get("ACCTSEC_BOOTED_CACHE", "/var/cache/acctsec-tests")
    os.makedirs(cache, mode=0o755, exist_ok=True)
    mirror = os.environ.get("ACCTSEC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    h = hashlib.sha256()
    h.update(("%s %s\n" % (SUITE, " ".join(sorted(set(packages))))).encode())
    h.update(inspect.getsource(customise).encode())
    tarball = os.path.join(cache, "rootfs-%s-%s.tar.zst" % (SUITE, h.hexdigest()[:16]))
    # One maker at a time; the others wait for its tarball.
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(tarball):
            return tarball
        # Other package lists' tarballs (other branches) stay, but for the
        # newest few: deleting one that a test is about to unpack would fail it.
        others = sorted(glob.glob(os.path.join(cache, "rootfs-%s-*.tar.zst" % SUITE)), key=os.path.getmtime)
        for old in others[:-3]:
            os.unlink(old)
        tmp = tempfile.mkdtemp(prefix="rootfs-", dir=cache)
        root = os.path.join(tmp, "root")
        log("debootstrap %s (%d packages) from %s" % (SUITE, len(set(packages)), mirror))
        start = time.monotonic()
        try:
            # A second try when the network failed the first.
            for attempt in (1, 2):
                shutil.rmtree(root, ignore_errors=True)
                with open(os.path.join(cache, "debootstrap.log"), "w") as logf:
                    r = subprocess.run(["debootstrap", "--variant=minbase",
                                        "--include=" + ",".join(sorted(set(packages))), SUITE, root, mirror],
                                       stdout=logf, stderr=subprocess.STDOUT)
                if r.returncode == 0:
                    break
                log("debootstrap failed (attempt %d): see %s/debootstrap.log" % (attempt, cache))
            else:
                raise RuntimeError("debootstrap failed twice; see %s/debootstrap.log" % cache)
            customise(root)
            subprocess.run(["tar", "-C", root, "--numeric-owner", "--xattrs", "-I", "zstd -T0 -3", "-cf",
                            tarball + ".part", "."], check=True)
            os.rename(tarball + ".part", tarball)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log("root file system cached in %s (%.0f s)" % (tarball, time.monotonic() - start))
        return tarball


def customise(root):
    """What every boot needs and debootstrap does not do."""
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("acctsec-test\n")
    # As the Debian installer writes it: sudo resolves its own host name.
    with open(os.path.join(root, "etc/hosts"), "a") as f:
        f.write("127.0.1.1\tacctsec-test\n")
    # Nothing to fetch: the container has no network but its loopback.
    for name in ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"):
        p = os.path.join(root, "etc/systemd/system", name)
        if not os.path.lexists(p):
            os.symlink("/dev/null", p)
    apt_clean = os.path.join(root, "var/cache/apt/archives")
    for deb in glob.glob(os.path.join(apt_clean, "*.deb")):
        os.unlink(deb)


class Machine:
    def __init__(self, name, work, debs, extra_packages=()):
        self.name = name
        self.work = work
        self.root = os.path.join(work, "root")
        self.debs = debs
        packages = list(PACKAGES) + list(extra_packages)
        for d in debs:
            packages += [p for p in deb_depends(d) if p not in ("acctsec",)]
        self.packages = sorted(set(packages))
        self.nspawn = None
        self.leader = None

    # --- life cycle --------------------------------------------------------
    def boot(self, timeout=120):
        tarball = rootfs_tarball(self.packages)
        os.makedirs(self.root)
        subprocess.run(["tar", "-C", self.root, "--numeric-owner", "--xattrs", "-I", "zstd", "-xf", tarball],
                       check=True)
        os.chmod(self.root, 0o755)
        for d in self.debs:
            shutil.copy(d, os.path.join(self.root, "root", os.path.basename(d)))
        args = ["systemd-nspawn", "--boot", "--private-network", "--console=passive",
                "--machine=" + self.name, "-D", self.root]
        if not os.path.isdir("/run/systemd/system"):  # no systemd on the host
            args[1:1] = ["--keep-unit", "--register=no"]
        self.nspawn_log = open(os.path.join(self.work, "nspawn.log"), "w")
        self.nspawn = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.nspawn_log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.leader is None:
            self.leader = self._find_leader()
            if self.leader is None:
                if self.nspawn.poll() is not None:
                    raise RuntimeError("systemd-nspawn exited: %s" % self._nspawn_output())
                if time.monotonic() > deadline:
                    raise RuntimeError("no container init after %d s" % timeout)
                time.sleep(0.05)
        # systemd says when the boot is done (running, or degraded with a
        # failed unit: shown, and left to the tests to judge).
        # PID 1's private bus, then systemd's own word that the boot is done.
        bus = "/proc/%d/root/run/systemd/private" % self.leader
        while not os.path.exists(bus):
            if self.nspawn.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("systemd did not come up: %s" % self._nspawn_output())
            time.sleep(0.05)
        r = self.run("systemctl is-system-running --wait", timeout=timeout)
        state = r.stdout.strip()
        if state not in ("running", "degraded"):
            raise RuntimeError("boot ended %r: %s%s" % (state, r.stderr, self.run("systemctl --failed --no-pager").stdout))
        return state

    def _find_leader(self):
        """The container's PID 1: the child of systemd-nspawn whose pid in
        its own namespace is 1."""
        try:
            with open("/proc/%d/task/%d/children" % (self.nspawn.pid, self.nspawn.pid)) as f:
                children = f.read().split()
        except OSError:
            return None
        for pid in children:
            try:
                with open("/proc/%s/status" % pid) as f:
                    status = f.read()
            except OSError:
                continue
            m = re.search(r"^NSpid:\s+(.*)$", status, re.M)
            if m and len(m.group(1).split()) > 1 and m.group(1).split()[-1] == "1":
                return int(pid)
        return None

    def _nspawn_output(self):
        self.nspawn_log.flush()
        with open(os.path.join(self.work, "nspawn.log")) as f:
            return f.read()[-2000:]

    def shutdown(self, timeout=60):
        """A clean poweroff; killed when it does not come."""
        if self.nspawn is None:
            return
        if self.nspawn.poll() is None and self.leader:
            subprocess.run(self.enter() + ["systemctl", "poweroff", "--no-block"], env=CLEAN_ENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
            try:
                self.nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                log("poweroff did not finish in %d s: killed" % timeout)
        self.kill()

    def kill(self):
        if self.nspawn is None:
            return
        if self.nspawn.poll() is None:
            # The container's init ends its whole PID namespace.
            if self.leader:
                try:
                    os.kill(self.leader, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.nspawn.wait(30)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()
        self.nspawn = None

    def remove(self):
        if os.environ.get("ACCTSEC_BOOTED_KEEP") == "1":
            log("kept: %s" % self.root)
            return
        shutil.rmtree(self.root, ignore_errors=True)

    # --- inside -------------------------------------------------------------
    def enter(self):
        return ["nsenter", "--target", str(self.leader), "--all", "--root", "--wd"]

    def run(self, script, input=None, timeout=120, user=None):
        """/bin/sh -c SCRIPT inside (as USER via runuser when given)."""
        cmd = ["/bin/sh", "-c", script]
        if user:
            cmd = ["runuser", "-u", user, "--"] + cmd
        try:
            return subprocess.run(self.enter() + ["env", "-i"] + ["%s=%s" % kv for kv in CLEAN_ENV.items()] + cmd,
                                  input=input, capture_output=True, text=True, timeout=timeout, env=CLEAN_ENV)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(cmd, 124, e.stdout or "", "timed out after %d s" % timeout)

    def install(self, deb_name=None, enable_profiles=True):
        """The package through dpkg (its dependencies are in the root file
        system), then the pam-auth-update profiles the admin would enable."""
        deb = deb_name or os.path.basename(self.debs[0])
        r = self.run("dpkg -i /root/%s" % deb, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("dpkg -i %s: %s%s" % (deb, r.stdout, r.stderr))
        if enable_profiles:
            r = self.run("pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa")
            if r.returncode != 0:
                raise RuntimeError("pam-auth-update: %s%s" % (r.stdout, r.stderr))
        return r

    def add_user(self, name, password=None, groups=()):
        """A real user with a home; the password is set before the acctsec
        lines enter common-password (chpasswd goes through it) or, after,
        through the same lines (the password must then pass the policy)."""
        script = "useradd -m -s /bin/bash %s" % name
        if groups:
            script += " -G %s" % ",".join(groups)
        r = self.run(script)
        if r.returncode == 0 and password is not None:
            r = self.run("chpasswd", input="%s:%s\n" % (name, password))
        if r.returncode != 0:
            raise RuntimeError("add_user %s: %s%s" % (name, r.stdout, r.stderr))

    def journal(self, args=""):
        return self.run("journalctl --no-pager %s" % args).stdout

    def popen(self, argv, **kw):
        return subprocess.Popen(self.enter() + ["env", "-i"] + ["%s=%s" % kv for kv in CLEAN_ENV.items()] + argv,
                                env=CLEAN_ENV, **kw)

    def path(self, p):
        """A path inside, seen from the host."""
        return os.path.join(self.root, p.lstrip("/"))

    def enter_network(self):
        """Move this process (before it starts a thread) into the container's
        network namespace: its sockets then reach the container's loopback
        (sshd), and the container's programs reach ours (an SMTP receiver)."""
        fd = os.open("/proc/%d/ns/net" % self.leader, os.O_RDONLY)
        try:
            if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        # The container's loopback is down until its network stack brings it
        # up: systemd does it at boot (it is up once boot() returned).


def need_root_and_tools():
    """Exit 77 (skip) where the tier cannot run."""
    if os.geteuid() != 0:
        sys.exit(77)
    for c in ("debootstrap", "systemd-nspawn", "nsenter", "zstd", "dpkg-buildpackage"):
        if shutil.which(c) is None:
            print("# %s missing: skipped" % c)
            sys.exit(77)
