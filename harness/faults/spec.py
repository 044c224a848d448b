"""A scenario's ``faults`` section: each `fault` step strikes (or arms) the next one in order.

faults:
  - {kind: stop-sshd}                                   # every machine, before the next apply
  - {kind: partition, machine: pve1, after_command: 3}  # during the next apply, once pve1 ran 3 commands
  - {kind: fill-path, machine: pve1, path: /etc/nut}
  - {kind: outage}                                      # every URL of the spec's `world` answers 404
  - {kind: outage, urls: [https://example.com/a.tar.gz], response: {cut_after: 100, file: files/a.tar.gz}}
  - {kind: stop-sshd, after_log: "configs copied"}      # during the next apply, when its log prints that
  - {kind: stop-sshd, machine: one}                     # the first machine of several (none: not applicable)
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.world.server import url_key
from harness.world.spec import RESPONSE_FIELDS, Response, response
from harness.yaml_fields import Fields

KINDS = ("stop-sshd", "pause", "stop", "partition", "fill-path", "rotate-host-key", "reboot", "outage")
ALL = "all"
ONE = "one"  # the first of the deployer's machines: one host down among several
OUTAGE = "outage"  # the world's, not a machine's: its URLs answer otherwise
OUTAGE_RESPONSE = Response(status=404)
NO_WORLD = "the spec has no `world`: an outage of the world around the deployer does not concern it"


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    machine: str = ALL  # a machine's name, or every machine
    after_command: int | None = None  # None: at once; N: during the next apply, after the Nth remote command there
    path: str | None = None  # fill-path: the directory a small full filesystem goes over
    urls: tuple[str, ...] = ()  # outage: the URLs it takes (by URL key); none: every URL of the world
    response: Response = OUTAGE_RESPONSE  # outage: what they answer instead (a file: from the scenario's folder)
    after_log: str | None = None  # during the next apply, when a line of the deployer's log holds this text

    @property
    def armed(self) -> bool:
        """Whether it strikes during the next apply, rather than at once."""
        return self.after_command is not None or self.after_log is not None

    def describe(self) -> str:
        if self.kind == OUTAGE:
            what = f"status {self.response.status}" + (", cut off" if self.response.cut_after is not None else "")
            what += ", no answer" if self.response.hang else ""
            urls = ", ".join(self.urls) if self.urls else "every URL of the world"
            return f"outage ({what}) of {urls}, {self._when()}"
        where = {ALL: "every machine", ONE: "one machine of several"}.get(self.machine, self.machine)
        what = f"{self.kind} {self.path}" if self.path else self.kind
        return f"{what} on {where}, {self._when()}"

    def _when(self) -> str:
        if self.after_log is not None:
            return f"when the deployer's log prints {self.after_log!r} in the next apply"
        if self.after_command is not None:
            return f"after remote command {self.after_command} of the next apply"
        return "now"


def faults_section(top: Fields) -> tuple[FaultSpec, ...]:
    value = top.data.get("faults")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise top.error("faults", "must be a list of faults", "e.g. `faults: [{kind: stop-sshd}]`")
    faults = []
    for index, item in enumerate(value):
        known = ("kind", "machine", "after_command", "after_log", "path", "urls", "response")
        entry = Fields(top.path, item, f"faults[{index}]", known=known)
        kind = entry.text("kind", required=True, fix=f"use one of: {', '.join(KINDS)}")
        if kind not in KINDS:
            raise entry.error("kind", f"is {kind!r}, not a fault", f"use one of: {', '.join(KINDS)}")
        after = entry.data.get("after_command")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 1):
            raise entry.error("after_command", f"is {after!r}", "give the number of a remote command, 1 or more")
        if kind in ("stop", "reboot", "rotate-host-key", OUTAGE) and after is not None:
            raise entry.error("after_command", f"is not supported for {kind}", "strike it between applies")
        line = entry.optional_text("after_log")
        if line is not None and (not line or "\n" in line):
            raise entry.error("after_log", f"is {line!r}", "give text the line holds, e.g. `after_log: downloading`")
        if line is not None and after is not None:
            raise entry.error("after_log", "is given with `after_command`", "strike after one of the two")
        if line is not None and kind in ("stop", "reboot", "rotate-host-key"):
            raise entry.error("after_log", f"is not supported for {kind}", "strike it between applies")
        path = entry.optional_text("path")
        if (kind == "fill-path") != (path is not None):
            raise entry.error("path", "goes with `kind: fill-path`, and only there", "e.g. `path: /etc/nut`")
        if path is not None and not path.startswith("/"):
            raise entry.error("path", f"is {path!r}, not an absolute path", "e.g. `path: /etc/nut`")
        faults.append(FaultSpec(kind, entry.text("machine", ALL), after, path, *_outage(entry, kind), line))
    return tuple(faults)


def _outage(entry: Fields, kind: str) -> tuple[tuple[str, ...], Response]:
    if kind != OUTAGE:
        for key in ("urls", "response"):
            if entry.has(key):
                raise entry.error(key, "goes with `kind: outage`, and only there", f"remove `{key}`")
        return (), OUTAGE_RESPONSE
    if entry.has("machine"):
        raise entry.error("machine", "is given for an outage, which strikes the world", "remove `machine`")
    urls = []
    for url in entry.string_list("urls", "list the URLs the outage takes, e.g. `[https://example.com/a.tar.gz]`"):
        try:
            urls.append(url_key(url))
        except ValueError as exc:
            raise entry.error("urls", f"holds {url!r} ({exc})", "give http:// or https:// URLs") from None
    given = entry.mapping("response", known=RESPONSE_FIELDS)
    return tuple(urls), response(given, entry.path.parent) if entry.has("response") else OUTAGE_RESPONSE
