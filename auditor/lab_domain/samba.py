"""A throwaway Samba AD DC for the lab and the tests, entirely inside one folder.

Provisioned into a private folder (so Debian's /etc/samba/smb.conf never leaks in), listening
on one loopback address 127.0.0.N (several DCs side by side), run in its own mount namespace
with a tmpfs on /run/samba (winbindd's socket path is hard-wired there), and stopped by the PID
we started. A provisioned, once-started folder is a template: copying it and fixing the paths
in etc/smb.conf gives a fresh DC in about a second. See ../shared/reference/samba/ for the
worked example this follows and the pitfalls it records.

The DC's TLS certificate comes from a small lab CA written into `private/tls/` before the first
start (Samba only generates its own when the files are missing). Unlike Samba's, it names the
DC's IP address, so clients verify it against the address they connect to, with no DNS.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from auditor.ad.dn import base_dn_of
from auditor.lab_domain import addresses
from auditor.lab_domain.addresses import AddressLease, AddressTaken
from auditor.lab_domain.folders import default_state_dir

__all__ = ["SambaDC", "SambaError", "default_state_dir"]

log = logging.getLogger(__name__)

LAB_REALM = "CORP.EXAMPLE.TEST"
LAB_DOMAIN = "CORP"
LAB_HOSTNAME = "dc1"
LAB_ADMIN_PASSWORD = "Passw0rd!Adm1n"  # a lab-only password for a DC bound to loopback
# What the lab DC runs, and the Debian package that brings each (Debian 12: `dpkg -S` on each path).
# The schema files are only a Recommends of samba-ad-dc, so `--no-install-recommends` leaves them out.
_TOOLS = {"samba": "samba", "samba-tool": "samba-common-bin", "unshare": "util-linux", "ldbadd": "ldb-tools"}
_PROVISION_FILES = {
    "/usr/share/samba/setup/ad-schema/AD_DS_Attributes__Windows_Server_2012_R2.ldf": "samba-ad-provision",
    "/usr/share/samba/setup/provision.ldif": "samba-ad-provision",
}
DEBIAN_PACKAGES = ("samba", "samba-ad-dc", "samba-ad-provision", "samba-common-bin", "ldb-tools", "smbclient")
_PORTS = (389, 636, 445)
INSIDE = "/run/samba/dc"  # where samba sees its own folder, inside its mount namespace (see SambaDC.start)


class SambaError(RuntimeError):
    """The lab DC could not be provisioned, started or stopped: one line, and where its full log was kept."""

    def __init__(self, reason: str, log_file: Path | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_file = log_file

    def __str__(self) -> str:
        return f"{self.reason} (full log: {self.log_file})" if self.log_file else self.reason


def unavailable_reason() -> str | None:
    """Why a Samba DC cannot run on this machine, or None when it can."""
    if os.name != "posix" or not Path("/proc/self").exists():
        return "the Samba lab DC needs Linux"
    if os.geteuid() != 0:
        return "the Samba lab DC needs root (it provisions a domain and mounts a tmpfs in its own namespace)"
    missing = missing_pieces()
    if missing:
        packages = sorted(set(missing.values()))
        return (f"Samba is not fully installed (missing {', '.join(missing)}): "
                f"apt-get install {' '.join(packages)}")
    return None


def missing_pieces() -> dict[str, str]:
    """Each tool or file the lab DC needs that is not on this machine, with the package that brings it."""
    missing = {tool: package for tool, package in _TOOLS.items() if _which(tool) is None}
    missing |= {path: package for path, package in _PROVISION_FILES.items() if not Path(path).is_file()}
    return missing


def _which(tool: str) -> str | None:
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def lease_address(address: str | None = None) -> AddressLease:
    """A lease on `address`, or on a free loopback address when None (see addresses.py)."""
    try:
        return addresses.claim(address) if address else addresses.reserve()
    except AddressTaken as exc:
        raise SambaError(str(exc)) from None


def _listening(address: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


_RUNNING: dict[int, SambaDC] = {}  # every DC this process started and has not stopped
_STOPPING = False


def stop_all() -> None:
    """Stop every DC this process started, by the PIDs it holds, and refuse to start more (a signal came)."""
    global _STOPPING
    _STOPPING = True
    for dc in list(_RUNNING.values()):
        dc.stop(timeout=10.0)


@dataclass
class SambaDC:
    """One DC rooted in `root`, listening on `address` (127.0.0.N)."""

    root: Path
    address: str
    realm: str = LAB_REALM
    domain: str = LAB_DOMAIN
    hostname: str = LAB_HOSTNAME
    admin_password: str = field(default=LAB_ADMIN_PASSWORD, repr=False)
    pid: int | None = None
    lease: AddressLease | None = field(default=None, repr=False)  # held from clone/start until stop
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_starts: dict[str, int] = field(default_factory=dict, repr=False)  # log sizes when this start began

    @property
    def base_dn(self) -> str:
        return base_dn_of(self.realm)

    @property
    def dns_domain(self) -> str:
        return self.realm.lower()

    @property
    def fqdn(self) -> str:
        return f"{self.hostname}.{self.dns_domain}"

    @property
    def admin_upn(self) -> str:
        return f"Administrator@{self.realm}"

    @property
    def smb_conf(self) -> Path:
        return self.root / "etc" / "smb.conf"

    @property
    def ca_file(self) -> Path:
        """The lab CA certificate that signed the DC's TLS certificate."""
        return self.root / "private" / "tls" / "ca.pem"

    @property
    def sam_ldb(self) -> Path:
        return self.root / "private" / "sam.ldb"

    @property
    def pid_file(self) -> Path:
        return self.root / "samba.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "samba.log"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> SambaDC:
        """Start samba in the background and wait until LDAP, LDAPS, SMB and winbindd answer."""
        if not self.smb_conf.exists():
            raise SambaError(f"{self.root} is not provisioned")
        if self.running:
            return self
        self._stop_stale()
        if self.lease is None or not self.lease.held:
            self.lease = lease_address(self.address)
        for sub in ("cache", "run", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._log_starts = {name: _size(path) for name, path in self._logs().items()}
        Path("/run/samba").mkdir(parents=True, exist_ok=True)
        # -F keeps samba in the foreground so the PID we hold is the samba root process;
        # unshare and sh both exec, so that PID stays samba's.
        # Samba listens on unix sockets under its folder (run/ncalrpc/np/…, private/ldap_priv/ldapi), and a
        # socket's path is at most 107 bytes (sun_path is 108 with its NUL: unix(7)). A lab folder deep in a
        # home or a temporary folder passes that, so inside its namespace samba sees its folder bind-mounted
        # at the short INSIDE and runs on a copy of smb.conf naming that path.
        inside_conf = self._inside_conf()
        script = ('mount -t tmpfs -o mode=0755 samba-run /run/samba'
                  f' && mkdir {INSIDE} && mount --bind "$1" {INSIDE}'
                  ' && exec samba -s "$0" -F --no-process-group -M single')
        try:
            with open(self.root / "log" / "stdout.log", "ab") as out:
                self._process = subprocess.Popen(  # close_fds (the default) keeps the address lock out of samba
                    ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, inside_conf,
                     str(self.root)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
        except OSError:
            self._release()
            raise
        self.pid = self._process.pid
        self.pid_file.write_text(f"{self.pid}\n")
        atexit.register(self.stop)
        _RUNNING[id(self)] = self
        if _STOPPING:  # a signal arrived while samba was being started: stop it at once
            self.stop()
            raise SambaError("stopping: the run was interrupted")
        try:
            self._wait_ready(timeout)
        except SambaError:
            self.stop()
            raise
        log.info("samba DC %s up on %s (pid %s)", self.realm, self.address, self.pid)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(_PORTS)
        winbind = Path(f"/proc/{self.pid}/root/run/samba/winbindd/pipe")
        while time.monotonic() < deadline:
            if self.pid is None:  # stopped while starting (a signal: `stop_all`)
                raise SambaError("samba was stopped while it started")
            if self._process is not None and self._process.poll() is not None:
                raise self._failure(f"samba on {self.address} exited with code {self._process.returncode}")
            pending = [port for port in pending if not _listening(self.address, port)]
            if not pending and winbind.is_socket():
                return
            time.sleep(0.1)
        waiting = ", ".join(map(str, pending)) if pending else "winbindd"
        raise self._failure(f"samba on {self.address} not ready after {timeout:.0f} s (waiting for {waiting})")

    @property
    def running(self) -> bool:
        return self.pid is not None and _alive(self.pid)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the PID we started, wait for it to exit, SIGKILL after `timeout`; release the address."""
        if self.pid is None:
            self._release()
            return
        pid, self.pid = self.pid, None
        atexit.unregister(self.stop)
        _RUNNING.pop(id(self), None)
        _terminate(pid, timeout, self._process)
        self._process = None
        self.pid_file.unlink(missing_ok=True)
        self._release()
        log.info("samba DC on %s stopped", self.address)

    def _release(self) -> None:
        if self.lease is not None:
            self.lease.release()

    def _stop_stale(self) -> None:
        """Stop a samba left running from this folder by an earlier process.

        It is ours when the PID we recorded is also the one samba wrote into this folder's
        run/samba.pid (samba renames its process, so the command line cannot tell).
        """
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            own = int((self.root / "run" / "samba.pid").read_text().strip())
        except (OSError, ValueError):
            own = None
        if own == pid and _alive(pid):
            log.warning("stopping samba pid %s left running from %s", pid, self.root)
            _terminate(pid, 20.0, None)
        self.pid_file.unlink(missing_ok=True)

    def _inside_conf(self) -> str:
        """smb.conf with the folder's path replaced by INSIDE (written beside it); its path as samba sees it."""
        text = self.smb_conf.read_text()
        inside = self.smb_conf.with_name("smb.inside.conf")
        inside.write_text(text.replace(str(self.root), INSIDE))
        return f"{INSIDE}/{inside.relative_to(self.root)}"

    def _logs(self) -> dict[str, Path]:
        return {"samba.log": self.log_file, "stdout.log": self.root / "log" / "stdout.log"}

    def _failure(self, what: str) -> SambaError:
        """`what` and the log's most telling line, with this start's logs kept in a file that outlives the DC."""
        sections = {}
        for name, path in self._logs().items():
            try:
                with open(path, "rb") as handle:
                    handle.seek(self._log_starts.get(name, 0))
                    sections[name] = handle.read().decode(errors="replace")
            except OSError:
                sections[name] = ""
        line = telling_line(sections["samba.log"]) or telling_line(sections["stdout.log"])
        if line is None:  # samba says nothing when it cannot load its config (`logging = file`); testparm does
            sections["testparm"] = _testparm(self.smb_conf)
            line = telling_line(sections["testparm"])
        kept = self.root.parent / "failed" / f"{self.root.name}.log"
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text("".join(f"==> {name} (this start) <==\n{text}\n" for name, text in sections.items()))
            _prune(kept.parent, keep=20)
        except OSError:
            kept = self.log_file
        return SambaError(f"{what}: {line}" if line else what, log_file=kept)

    def __enter__(self) -> SambaDC:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- tools -----------------------------------------------------------------------------

    def samba_tool(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run samba-tool against this DC over LDAP, as Administrator, with this DC's config."""
        command = ["samba-tool", *args, "-H", f"ldap://{self.address}",
                   "-U", f"Administrator%{self.admin_password}", "-s", str(self.smb_conf)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            shown = " ".join(args)
            raise SambaError(f"samba-tool {shown} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return done

    def ldbmodify_local(self, ldif: str, *, add: bool = True) -> None:
        """Apply LDIF straight to sam.ldb (fast bulk loads; the DC may be running)."""
        tool = "ldbadd" if add else "ldbmodify"
        done = subprocess.run([tool, "-H", str(self.sam_ldb)], input=ldif,
                              capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            raise SambaError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-800:]}")


# The lines that say why samba stopped, most telling first (matched without case); Samba's own log lines are
# a "[date] file:line(function)" header and the indented message, and only messages are considered.
_TELLING = (r"address already in use|address_already_associated|failed to listen", r"panic",
            r"invalid value|unknown parameter|can't load", r"\berror\b|cannot|failed")


def telling_line(text: str, limit: int = 300) -> str | None:
    """The log line that best says why samba failed, or None when no line does."""
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not re.match(r"\[\d{4}/\d\d/\d\d ", line.strip())]
    for pattern in _TELLING:
        for line in lines:
            if re.search(pattern, line, re.IGNORECASE):
                return line if len(line) <= limit else line[:limit - 1] + "…"
    return None


def _testparm(conf: Path) -> str:
    """What testparm says about `conf` (samba-common-bin, which brings samba-tool too)."""
    try:
        done = subprocess.run(["testparm", "--suppress-prompt", "-s", str(conf)], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"testparm could not run: {exc}"
    return done.stderr


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _prune(folder: Path, keep: int) -> None:
    kept = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in kept[keep:]:
        old.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie we have not reaped is not running
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _terminate(pid: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return
        if process is None and not _alive(pid):
            return
        time.sleep(0.05)
    log.warning("samba pid %s ignored SIGTERM for %.0f s: SIGKILL", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait(timeout=10)


# -- provisioning and templates --------------------------------------------------------------

def provision(root: Path, address: str | None = None, *, realm: str = LAB_REALM, domain: str = LAB_DOMAIN,
              hostname: str = LAB_HOSTNAME, admin_password: str = LAB_ADMIN_PASSWORD) -> SambaDC:
    """Provision a new domain into `root` (which must not hold one) listening on `address` (leased here,
    a free one when None; the returned DC holds the lease until it stops)."""
    reason = unavailable_reason()
    if reason:
        raise SambaError(reason)
    root = root.resolve()
    if (root / "private" / "sam.ldb").exists():
        raise SambaError(f"{root} is already provisioned")
    lease = lease_address(address)
    try:
        dc = _provision(root, lease.address, realm=realm, domain=domain, hostname=hostname,
                        admin_password=admin_password)
    except BaseException:
        lease.release()
        raise
    dc.lease = lease
    return dc


def _provision(root: Path, address: str, *, realm: str, domain: str, hostname: str,
               admin_password: str) -> SambaDC:
    root.mkdir(parents=True, exist_ok=True)
    base_conf = root / "provision-base.conf"
    # Used only as provision input: keeps /etc/samba/smb.conf out and every path inside root.
    # `winbindd socket directory` is deliberately not set: libwbclient ignores it (see reference).
    base_conf.write_text(
        "[global]\n"
        f"\tinterfaces = {address}/8\n"  # the /8 is required, a bare address finds no interface
        "\tbind interfaces only = yes\n"
        "\tdisable netbios = yes\n"
        "\tserver services = -nbt -wrepl -dns -dnsupdate\n"
        f"\tpid directory = {root}/run\n"
        f"\tncalrpc dir = {root}/run/ncalrpc\n"
        f"\tntp signd socket directory = {root}/run/ntp_signd\n"
        f"\tlog file = {root}/log/samba.log\n"
        "\tlogging = file\n"
    )
    command = [
        "samba-tool", "domain", "provision", "-s", str(base_conf), f"--realm={realm}", f"--domain={domain}",
        "--server-role=dc", "--dns-backend=NONE", f"--adminpass={admin_password}", f"--host-name={hostname}",
        "--use-rfc2307", f"--targetdir={root}",
    ]
    with open(root / "provision.log", "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=300, check=False)
    if done.returncode != 0:
        line = telling_line((root / "provision.log").read_text(errors="replace"))
        raise SambaError(f"samba-tool domain provision failed ({done.returncode})" + (f": {line}" if line else ""),
                         log_file=root / "provision.log")
    for sub in ("cache", "run", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    dc = SambaDC(root=root, address=address, realm=realm, domain=domain, hostname=hostname,
                 admin_password=admin_password)
    _issue_lab_ca(root)
    _issue_server_certificate(root, address=address, dns_names=[dc.fqdn])
    log.info("provisioned %s in %s", realm, root)
    return dc


def make_template(root: Path, address: str | None = None) -> SambaDC:
    """Provision and start once (Samba finishes its first-start setup), then stop: a template."""
    dc = provision(root, address)
    with dc:
        pass
    (root / "TEMPLATE").write_text("provisioned and started once; clone it, do not start it\n")
    return dc


def open_dc(root: Path) -> SambaDC:
    """The (stopped) DC provisioned in `root`, described from its etc/smb.conf."""
    root = root.resolve()
    conf = root / "etc" / "smb.conf"
    if not conf.exists():
        raise SambaError(f"{root} is not provisioned")
    realm = _configured(conf, "realm")
    return SambaDC(root=root, address=_configured(conf, "interfaces").split("/")[0], realm=realm,
                   domain=_configured(conf, "workgroup"), hostname=_configured(conf, "netbios name").lower())


def open_template(root: Path) -> SambaDC | None:
    """The template in `root` when one is complete there, else None."""
    if not (root / "TEMPLATE").exists():
        return None
    return open_dc(root)


def clone(template: SambaDC, root: Path, address: str | None = None) -> SambaDC:
    """A fresh DC in `root` from a stopped template (about a second), on `address` or a free one; the
    address is leased to the returned DC until it stops (`remove` stops it)."""
    if template.running:
        raise SambaError("stop the template before cloning it")
    lease = lease_address(address)
    try:
        dc = _clone(template, root.resolve(), lease.address)
    except BaseException:
        lease.release()
        raise
    dc.lease = lease
    return dc


def _clone(template: SambaDC, root: Path, address: str) -> SambaDC:
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    # cp -a keeps the xattrs (security.NTACL on SYSVOL files) that shutil would drop
    done = subprocess.run(["cp", "-a", str(template.root), str(root)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SambaError(f"cp -a {template.root} {root} failed: {done.stderr.strip()}")
    conf = root / "etc" / "smb.conf"
    lines = []
    for line in conf.read_text().replace(str(template.root), str(root)).splitlines():
        if line.strip().startswith("interfaces ="):
            line = f"\tinterfaces = {address}/8"
        lines.append(line)
    conf.write_text("\n".join(lines) + "\n")
    for stale in ("samba.pid", "TEMPLATE"):
        (root / stale).unlink(missing_ok=True)
    shutil.rmtree(root / "run", ignore_errors=True)
    (root / "run").mkdir()
    dc = SambaDC(root=root, address=address, realm=template.realm, domain=template.domain,
                 hostname=template.hostname, admin_password=template.admin_password)
    _issue_server_certificate(root, address=address, dns_names=[dc.fqdn])
    return dc


def _configured(conf: Path, name: str) -> str:
    for line in conf.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == name:
            return value.strip()
    raise SambaError(f"{conf} has no `{name}` line")


def remove(dc: SambaDC) -> None:
    """Stop the DC (and any samba still running from its folder) and delete the folder."""
    dc.stop()
    dc._stop_stale()
    shutil.rmtree(dc.root, ignore_errors=True)


# -- the lab CA ------------------------------------------------------------------------------

_CA_KEY = Path("lab-ca") / "ca-key.pem"
_TLS = Path("private") / "tls"


def _issue_lab_ca(root: Path) -> None:
    """A CA for this lab domain: private/tls/ca.pem, its key kept beside (never in private/tls)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sspr-auditor lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"sspr-auditor lab CA ({root.name})")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(root / _CA_KEY, key.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    (root / _TLS).mkdir(parents=True, exist_ok=True)
    (root / _TLS / "ca.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def reissue_certificate(dc: SambaDC, *, name_address: bool) -> None:
    """A new certificate for the (stopped) DC; `name_address=False` names only its host name, as a real
    DC's certificate usually does, so clients reaching it by IP must be told the name (--ad-tls-name)."""
    _issue_server_certificate(dc.root, address=dc.address, dns_names=[dc.fqdn], name_address=name_address)


def _issue_server_certificate(root: Path, *, address: str, dns_names: list[str], name_address: bool = True) -> None:
    """private/tls/{key,cert}.pem for the DC, naming its IP address and host name, signed by the lab CA."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key((root / _CA_KEY).read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((root / _TLS / "ca.pem").read_bytes())
    ca_public = ca_cert.public_key()
    # the lab CA is made with an EC key (above): anything else in its folder is not the CA this code made
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey) or not isinstance(ca_public, ec.EllipticCurvePublicKey):
        raise SambaError(f"the lab CA in {root} does not hold an EC key: remove the folder to make a new lab CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    alt_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(address))] if name_address else []
    alt_names += [x509.DNSName(n) for n in dns_names]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else address)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # Samba refuses a key file other users can read
    _write_private(root / _TLS / "key.pem", key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.TraditionalOpenSSL,
                                                               serialization.NoEncryption()))
    (root / _TLS / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
