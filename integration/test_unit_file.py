"""conf/gregord.service is a unit systemd accepts: `systemd-analyze verify` finds nothing wrong with it (its
ExecStart pointed at the built gregord, its man pages reachable), and `systemd-analyze security` rates its
sandboxing (the exposure score is printed; 10 is an unsandboxed service, below 2 is "OK")."""

import re
import shutil

from harness import ROOT, Skip, check, timeout

UNIT = ROOT / "conf" / "gregord.service"


def staged_unit(ctx):
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze not installed (package systemd)")
    d = ctx.mkdir("unit")
    text = UNIT.read_text().replace("/usr/sbin/gregord", str(ROOT / "bin" / "gregord"))
    (d / "gregord.service").write_text(text)
    man = ctx.mkdir("man")
    for section in ("5", "8"):
        (man / f"man{section}").mkdir()
    for page in (ROOT / "man").glob("*.[58]"):
        shutil.copy(page, man / f"man{page.suffix[1:]}" / page.name)
    return d / "gregord.service", man


@timeout(60)
def test_unit_verifies_and_is_sandboxed(ctx):
    unit, man = staged_unit(ctx)
    env = {"MANPATH": str(man), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    rc, out, err = ctx.run(["systemd-analyze", "verify", str(unit)], env=env, timeout=30)
    check(rc == 0 and not (out + err).strip(), f"systemd-analyze verify: rc {rc}\n{out}{err}")
    rc, out, err = ctx.run(["systemd-analyze", "security", "--offline=true", str(unit)], env=env, timeout=30)
    m = re.search(r"Overall exposure level for gregord.service: ([0-9.]+)", out + err)
    check(m, f"no exposure level in: {out}{err}")
    score = float(m.group(1))
    print(f"systemd-analyze security: exposure {score} (0 best, 10 unsandboxed)")
    check(score <= 2.0, f"exposure {score}: the unit lost its sandboxing")
    text = UNIT.read_text()
    for setting in ("Type=notify", "WatchdogSec=", "ExecReload=", "ProtectSystem=strict", "NoNewPrivileges=yes",
                    "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n"):
        check(setting in text, f"{setting.strip()} missing from the unit")
