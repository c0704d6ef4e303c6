#!/usr/bin/python3
"""The booted tier: the package under a real systemd.

A Debian 12 booted with systemd as PID 1 (machine.py), the .deb built from
the tree installed inside, the real units and pam-auth-update profiles:
socket activation, systemctl stop/restart/reload, the idle policy, the
sandbox's exposure, journald fields, and the package's life cycle (install,
upgrade, remove, purge) with a login checked at each step.  TAP; exit 77
where it cannot run (not root, no debootstrap or systemd-nspawn)."""
import atexit
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402
from tap import Tap  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMMON = ["common-auth", "common-account", "common-password", "common-session",
          "common-session-noninteractive"]
# Exposure of acctsecd.service by systemd-analyze security: never above this.
EXPOSURE_MAX = 2.3
PW = "Correct-Horse-4x"
t = Tap()


def main():
    machine.need_root_and_tools()
    work = tempfile.mkdtemp(prefix="acctsec-booted-", dir="/var/tmp")
    deb = machine.the_deb(TOP, work)
    m = machine.Machine("acctsec-system", work, [deb])
    atexit.register(lambda: (m.kill(), m.remove(),
                             os.environ.get("ACCTSEC_BOOTED_KEEP") == "1" or shutil.rmtree(work, ignore_errors=True)))
    state = m.boot()
    t.ok(state == "running", "booted: systemd is PID 1 and says the system is running",
         m.run("systemctl --failed --no-pager").stdout)
    run = m.run

    def sums():
        return {f: hashlib.sha256(open(m.path("/etc/pam.d/" + f), "rb").read()).hexdigest()
                for f in COMMON if os.path.exists(m.path("/etc/pam.d/" + f))}
    before = sums()
    pamdir = run("dpkg -L libpam-modules | sed -n 's|/pam_unix\\.so$||p'").stdout.strip()
    m.add_user("alice", PW)
    m.add_user("carol", PW)
    # A PAM service of the common-* files, as login, su and sshd include them.
    with open(m.path("/etc/pam.d/acctsec-test"), "w") as f:
        f.write("@include common-auth\n@include common-account\n")

    def login(user, pw=PW):
        return run("pamtester acctsec-test %s authenticate acct_mgmt" % user, input=pw + "\n")

    # --- install -------------------------------------------------------------
    r = run("dpkg -i /root/%s" % os.path.basename(deb), timeout=300)
    t.cmd(r, "dpkg -i: installed")
    t.ok("warning" not in (r.stdout + r.stderr).lower(), "dpkg -i: no warning", r.stdout + r.stderr)
    t.ok(os.path.isfile(m.path(pamdir + "/pam_acctsec.so")),
         "the module is beside pam_unix.so, in the directory libpam-modules owns (%s)" % pamdir)
    owners = run("dpkg -S %s" % pamdir).stdout
    t.ok("acctsec" in owners and "libpam-modules" in owners,
         "dpkg knows %s as one directory of libpam-modules and acctsec" % pamdir, owners)
    for u in ("acctsecd.socket", "acctsecd-private.socket"):
        t.ok(run("systemctl is-enabled %s" % u).stdout.strip() == "enabled", "%s enabled" % u)
        t.ok(run("systemctl is-active %s" % u).stdout.strip() == "active", "%s listening" % u)
    t.ok(run("systemctl is-active acctsecd.service").stdout.strip() == "inactive",
         "acctsecd.service not started by the installation (socket-activated)")
    modes = run("stat -c '%a %U %n' /run/acctsec/acctsecd.sock /run/acctsec/private /run/acctsec/private/acctsecd.sock").stdout
    t.ok(modes.split("\n")[:3] == ["666 root /run/acctsec/acctsecd.sock", "700 root /run/acctsec/private",
                                   "600 root /run/acctsec/private/acctsecd.sock"],
         "the sockets: everyone's 0666, root's 0600 in a 0700 directory", modes)

    # --- socket activation ------------------------------------------------------
    r = run("acctsec status", user="alice")
    t.cmd(r, "the first request (a user's acctsec status) starts acctsecd")
    t.ok(run("systemctl is-active acctsecd.service").stdout.strip() == "active", "acctsecd.service active")
    pid1 = run("systemctl show -P MainPID acctsecd.service").stdout.strip()
    t.ok(re.search(r"acctsec \S+ ready \(database /var/lib/acctsec/acctsec.db", m.journal("-u acctsecd.service")),
         "the journal has the daemon's ready line", m.journal("-u acctsecd.service"))
    r = run("pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa")
    t.cmd(r, "pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa")
    enabled = sums()
    t.ok("pam_acctsec" not in open(m.path("/etc/pam.d/common-session-noninteractive")).read(),
         "common-session-noninteractive (cron, systemd-user) does not record sessions")
    t.cmd(login("alice"), "login through common-auth and common-account (pam_unix, pam_acctsec)")

    # --- acctsec doctor on the stock system -----------------------------------------
    r = run("acctsec doctor")
    problems = [l for l in r.stdout.splitlines() if l.startswith("problem")]
    t.ok(r.returncode == 1 and len(problems) == 1 and "KbdInteractiveAuthentication is no" in problems[0],
         "doctor on stock Debian 12 + the profiles: one problem, sshd's KbdInteractiveAuthentication no",
         r.stdout + r.stderr)
    with open(m.path("/etc/ssh/sshd_config.d/acctsec-test.conf"), "w") as f:
        f.write("KbdInteractiveAuthentication yes\n")
    r = run("acctsec doctor")
    t.ok(r.returncode == 0 and "0 problem(s)" in r.stdout,
         "doctor: no problem once sshd allows keyboard-interactive (read through sshd_config.d)",
         r.stdout + r.stderr)

    # --- journald fields of an event ----------------------------------------------
    r = login("alice", "wrong-password")
    t.refused(r, "a wrong password refused")
    entries = [json.loads(line) for line in
               run("journalctl -o json --no-pager ACCTSEC_EVENT=auth_failure ACCTSEC_USER=alice").stdout.splitlines()]
    t.ok(len(entries) == 1 and entries[0].get("MESSAGE_ID") == "00cb934898b442039e1603c36265de7f"
         and entries[0].get("SYSLOG_IDENTIFIER") == "acctsecd" and entries[0].get("ACCTSEC_SERVICE") == "acctsec-test"
         and entries[0].get("PRIORITY") == "5" and entries[0].get("_SYSTEMD_UNIT") == "acctsecd.service",
         "the journal: auth_failure with its MESSAGE_ID, PRIORITY=5, ACCTSEC_* fields, from acctsecd.service",
         json.dumps(entries, indent=1))
    t.cmd(run("journalctl --no-pager MESSAGE_ID=00cb934898b442039e1603c36265de7f | grep -q 'auth_failure user=alice'"),
          "journalctl MESSAGE_ID=… finds the event")

    # --- reload: systemctl waits for the daemon's answer ----------------------------
    conf = m.path("/etc/security/acctsec.conf")
    with open(conf, "a") as f:
        f.write("\ndeny = 5\n")
    t.cmd(run("systemctl reload acctsecd.service"), "systemctl reload acctsecd.service")
    t.ok("locked at 5" in run("acctsec status --user alice").stdout,
         "reload: the new deny = 5 is in force when systemctl returns")
    t.ok(run("systemctl show -P MainPID acctsecd.service").stdout.strip() == pid1, "reload: the same process")
    with open(conf, "a") as f:
        f.write("deny = many\n")
    r = run("systemctl reload acctsecd.service")
    t.ok(r.returncode != 0, "systemctl reload fails on a file with an error", r.stdout + r.stderr)
    journal = m.journal("-u acctsecd.service")
    t.ok(re.search(r"acctsecd --reload: /etc/security/acctsec.conf:\d+: .*; the running settings are kept", journal),
         "the reason is in the journal", journal[-2000:])
    t.ok("locked at 5" in run("acctsec status --user alice").stdout and
         run("systemctl is-active acctsecd.service").stdout.strip() == "active",
         "a reload with an error keeps the running settings and the daemon")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("\ndeny = 5\ndeny = many\n", "\n"))
    t.cmd(run("kill -HUP $(systemctl show -P MainPID acctsecd.service)"), "SIGHUP still reloads")
    machine.wait_for(lambda: m.journal("-u acctsecd.service").count("reloaded /etc/security/acctsec.conf") >= 2,
                     "the SIGHUP reload's log line")

    # --- restart: the state survives ------------------------------------------------
    t.cmd(run("acctsec account disable --user carol"), "acctsec account disable --user carol")
    t.cmd(run("systemctl restart acctsecd.service"), "systemctl restart acctsecd.service")
    pid2 = run("systemctl show -P MainPID acctsecd.service").stdout.strip()
    t.ok(pid2 not in ("0", pid1), "restart: a new process (%s, was %s)" % (pid2, pid1))
    t.ok("locked at 3" in run("acctsec status --user alice").stdout, "restart: the file's settings (deny = 3 again)")
    t.refused(login("carol"), "restart: carol is still disabled")
    t.cmd(login("alice"), "restart: alice logs in")

    # --- stop the sockets: the files go, clients say so, logins fail closed ------------
    t.cmd(run("systemctl stop acctsecd.socket"), "systemctl stop acctsecd.socket")
    states = run("systemctl is-active acctsecd.socket acctsecd-private.socket acctsecd.service").stdout.split()
    t.ok(states == ["inactive"] * 3, "stopping everyone's socket stops root's socket and the service", states)
    t.ok(not os.path.exists(m.path("/run/acctsec/acctsecd.sock")) and
         not os.path.exists(m.path("/run/acctsec/private/acctsecd.sock")),
         "stopped: no socket file is left behind", run("ls -laR /run/acctsec").stdout)
    r = run("acctsec status", user="alice")
    t.ok(r.returncode != 0 and "No such file or directory" in r.stderr,
         "stopped: acctsec says the socket does not exist (not \"Connection refused\")", r.stderr)
    r = login("alice")
    t.ok(r.returncode != 0 and "cannot retrieve authentication info" in r.stdout + r.stderr,
         "stopped: a login is refused (fail closed: PAM_AUTHINFO_UNAVAIL)", r.stdout + r.stderr)
    t.cmd(run("systemctl start acctsecd.socket"), "systemctl start acctsecd.socket")
    states = run("systemctl is-active acctsecd.socket acctsecd-private.socket acctsecd.service").stdout.split()
    t.ok(states == ["active", "active", "inactive"],
         "starting everyone's socket starts root's too; the service waits for a connection", states)
    t.cmd(login("alice"), "started again: alice logs in (through root's socket)")

    rss = run("grep -E '^VmRSS' /proc/$(systemctl show -P MainPID acctsecd.service)/status").stdout.strip()
    print("# acctsecd after a few requests: " + rss)
    # --- the idle policy ----------------------------------------------------------
    execstart = run("systemctl show -P ExecStart acctsecd.service").stdout
    t.ok("--idle-exit" not in execstart, "the packaged service does not exit when idle (acctsecd(8))", execstart)
    dropin = m.path("/etc/systemd/system/acctsecd.service.d/idle.conf")
    os.makedirs(os.path.dirname(dropin))
    with open(dropin, "w") as f:
        f.write("[Service]\nExecStart=\nExecStart=/usr/sbin/acctsecd --idle-exit 1\n")
    t.cmd(run("systemctl daemon-reload && systemctl restart acctsecd.socket && acctsec status >/dev/null"),
          "a drop-in with --idle-exit 1, and a request")
    machine.wait_for(lambda: run("systemctl is-active acctsecd.service").stdout.strip() == "inactive",
               "acctsecd to exit when idle")
    t.ok("idle, exiting" in m.journal("-u acctsecd.service"), "--idle-exit: the daemon exits when idle and says why")
    t.ok(run("systemctl show -P Result acctsecd.service").stdout.strip() == "success",
         "--idle-exit: a clean exit (Result=success), not a failure")
    t.refused(login("carol"), "--idle-exit: the next login starts it again, with the state (carol disabled)")
    t.ok(run("systemctl is-active acctsecd.service").stdout.strip() == "active", "--idle-exit: active again")
    os.unlink(dropin)
    t.cmd(run("systemctl daemon-reload && systemctl restart acctsecd.socket"), "the drop-in removed")

    # --- a lock does not stop the user's service manager; a disable does ----------------
    for i in range(3):
        login("alice", "wrong-%d" % i)
    t.ok(re.search(r'"locked": *true', run("acctsec --json lockout show --user alice").stdout),
         "alice locked by three wrong passwords")
    uid = run("id -u alice").stdout.strip()
    t.cmd(run("systemctl start user@%s.service" % uid),
          "locked alice: her service manager still starts (user@%s.service, PAM service systemd-user)" % uid)
    t.refused(login("alice"), "locked alice: her logins are refused")
    t.ok("service=systemd-user" not in m.journal("-u acctsecd.service"), "no login_denied for systemd-user")
    t.cmd(run("systemctl stop user@%s.service" % uid), "her service manager stopped")
    cuid = run("id -u carol").stdout.strip()
    r = run("systemctl start user@%s.service" % cuid)
    t.ok(r.returncode != 0 and "login_denied user=carol service=systemd-user" in m.journal("-u acctsecd.service"),
         "disabled carol: her service manager does not start", r.stdout + r.stderr)
    run("systemctl reset-failed user@%s.service" % cuid)
    t.cmd(run("acctsec lockout reset --user alice"), "alice unlocked")

    # --- the sandbox's exposure -------------------------------------------------------
    r = run("systemd-analyze security --no-pager acctsecd.service")
    for line in r.stdout.splitlines():
        if line.startswith("✗") or "Overall exposure" in line:
            print("# " + re.sub(r"\s{2,}", "  ", line))
    mm = re.search(r"Overall exposure level for acctsecd.service: ([0-9.]+)", r.stdout)
    t.ok(mm and float(mm.group(1)) <= EXPOSURE_MAX,
         "systemd-analyze security acctsecd.service: exposure %s (at most %.1f)"
         % (mm.group(1) if mm else "?", EXPOSURE_MAX), r.stdout + r.stderr)

    # --- upgrade ------------------------------------------------------------------------
    newer = make_newer(m, deb, work)
    r = run("dpkg -i /root/%s" % os.path.basename(newer), timeout=300)
    t.cmd(r, "upgrade: dpkg -i of a newer version")
    t.ok("warning" not in (r.stdout + r.stderr).lower(), "upgrade: no warning", r.stdout + r.stderr)
    t.ok(run("dpkg-query -W -f '${Version}' acctsec").stdout.endswith("+booted1"), "upgrade: the newer version")
    t.ok(sums() == enabled, "upgrade: the common-* files as the admin left them")
    t.ok(run("systemctl is-active acctsecd.socket acctsecd-private.socket").stdout.split() == ["active", "active"],
         "upgrade: both sockets listening")
    t.refused(login("carol"), "upgrade: the state kept (carol still disabled)")
    t.cmd(login("alice"), "upgrade: alice logs in")

    # --- remove -------------------------------------------------------------------------
    r = run("dpkg -r acctsec", timeout=300)
    t.cmd(r, "remove: dpkg -r acctsec")
    t.ok("warning" not in (r.stdout + r.stderr).lower(), "remove: no warning", r.stdout + r.stderr)
    t.ok(not any("pam_acctsec" in open(m.path("/etc/pam.d/" + f)).read() for f in COMMON),
         "remove: the common-* files no longer name pam_acctsec")
    t.ok(not os.path.exists(m.path("/run/acctsec/acctsecd.sock")) and
         not os.path.exists(m.path("/run/acctsec/private/acctsecd.sock")),
         "remove: no socket file is left behind", run("ls -laR /run/acctsec").stdout)
    t.ok(run("systemctl is-active acctsecd.service acctsecd.socket").stdout.split() == ["inactive", "inactive"],
         "remove: the daemon and its sockets stopped")
    t.ok(os.path.exists(m.path("/var/lib/acctsec/acctsec.db")) and os.path.exists(conf),
         "remove: the database and the configuration kept")
    t.cmd(login("alice"), "remove: alice logs in (pam_unix alone)")
    t.cmd(login("carol"), "remove: carol too (acctsec's disable no longer applies)")

    # --- purge --------------------------------------------------------------------------
    r = run("dpkg -P acctsec", timeout=300)
    t.cmd(r, "purge: dpkg -P acctsec")
    t.ok("warning" not in (r.stdout + r.stderr).lower(), "purge: no warning (no directory left behind)",
         r.stdout + r.stderr)
    t.ok(sums() == before, "purge: the common-* files byte for byte as before the installation",
         "\n".join("%s %s" % kv for kv in sums().items()))
    gone = ["/var/lib/acctsec", "/etc/security/acctsec.conf", "/etc/pam.d/acctsec", pamdir + "/pam_acctsec.so",
            "/run/acctsec", "/etc/systemd/system/sockets.target.wants/acctsecd.socket"]
    left = [p for p in gone if os.path.lexists(m.path(p))]
    t.ok(not left, "purge: nothing left of the state, conffiles, module, sockets or enablement", left)
    t.ok(not re.search(r"acctsec", run("grep -r acctsec /var/lib/pam || true").stdout),
         "purge: pam-auth-update's state forgets acctsec")
    t.cmd(login("alice"), "purge: alice logs in (pam_unix alone)")
    failed = run("systemctl list-units --failed --no-legend --plain --no-pager").stdout.strip()
    t.ok(failed == "", "no unit failed in the whole run", failed)

    m.shutdown()
    m.remove()
    t.finish()


def make_newer(m, deb, work):
    """The same package under a higher version: the upgrade path (prerm
    upgrade, the new files, postinst configure with the old version)."""
    tree = os.path.join(work, "newer")
    subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    version = re.search(r"^Version: (\S+)$", text, re.M).group(1)
    with open(control, "w") as f:
        f.write(re.sub(r"^Version: \S+$", "Version: %s+booted1" % version, text, flags=re.M))
    out = os.path.join(work, "acctsec_%s+booted1.deb" % version)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", tree, out], check=True, stdout=subprocess.DEVNULL)
    shutil.copy(out, m.path("/root/" + os.path.basename(out)))
    return out


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a broken step ends the run: counted, not hidden
        t.ok(False, "the run reached its end", repr(e))
        t.finish()
