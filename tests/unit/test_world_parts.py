"""The world's pure parts: URL keys, DNS answers, routes with an outage over them, bodies, the run's CA and the
certificates minted from it, the hash OpenSSL files a CA under, and the per-apply summary."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from harness.world.ca import new_authority, subject_hash
from harness.world.server import Certificates, Routes, body_of, dns_answer, listening_ports, url_key
from harness.world.service import WorldEvent, summary
from harness.world.spec import Response


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("https://GitHub.com/Owner/Repo/x.tar.gz", "https://github.com/Owner/Repo/x.tar.gz"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/a?b=1#frag", "http://example.com:8080/a?b=1"),
        ("HTTPS://example.com/a", "https://example.com/a"),
    ],
)
def test_a_url_has_one_key_however_it_is_spelt(given: str, key: str) -> None:
    assert url_key(given) == key


@pytest.mark.parametrize("bad", ["example.com/a", "ftp://example.com/a", "https:///a", "https://example.com:99999/"])
def test_what_is_not_an_http_url_with_a_host_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        url_key(bad)


def test_80_and_443_are_always_served_and_other_ports_as_urls_name_them() -> None:
    urls = {"http://a.example:8080/x": {}, "https://b.example:8443/y": {}, "https://c.example/z": {}}
    assert listening_ports(urls) == {80: "http", 443: "https", 8080: "http", 8443: "https"}


def query(name: str, qtype: int, *, qid: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def test_every_a_question_is_answered_with_the_world_s_address() -> None:
    answer = dns_answer(query("Releases.Example.COM", 1), "172.30.0.9")
    assert answer is not None
    reply, name, qtype = answer
    assert (name, qtype) == ("releases.example.com", 1)
    assert reply[:2] == b"\x12\x34" and reply[2] & 0x80  # the same id, a response
    assert struct.unpack("!HH", reply[4:8]) == (1, 1)  # one question, one answer
    assert reply[-4:] == socket.inet_aton("172.30.0.9")


def test_other_questions_get_no_record_and_no_error() -> None:
    answer = dns_answer(query("example.com", 28), "172.30.0.9")  # AAAA: the network has IPv4 only
    assert answer is not None
    reply, _, _ = answer
    assert reply[3] & 0x0F == 0 and struct.unpack("!H", reply[6:8])[0] == 0


def test_a_query_with_an_edns_record_gets_a_valid_reply_without_it() -> None:
    edns = bytearray(query("example.com", 1))
    edns[10:12] = struct.pack("!H", 1)  # ARCOUNT: one OPT record, as resolvers send
    edns += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    answer = dns_answer(bytes(edns), "172.30.0.9")
    assert answer is not None
    reply, name, _ = answer
    assert name == "example.com" and struct.unpack("!HHHH", reply[4:12]) == (1, 1, 0, 0)
    assert reply[-4:] == socket.inet_aton("172.30.0.9")


def test_another_opcode_is_not_implemented_and_a_pointer_is_no_query() -> None:
    notify = bytearray(query("example.com", 1))
    notify[2] |= 4 << 3  # NOTIFY
    answer = dns_answer(bytes(notify), "172.30.0.9")
    assert answer is not None and answer[0][3] & 0x0F == 4 and struct.unpack("!H", answer[0][6:8])[0] == 0
    pointer = query("example.com", 1)[:12] + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    assert dns_answer(pointer, "172.30.0.9") is None


def test_what_is_not_one_question_is_not_answered() -> None:
    assert dns_answer(b"\x00\x01", "172.30.0.9") is None
    two = bytearray(query("example.com", 1))
    two[4:6] = struct.pack("!H", 2)
    assert dns_answer(bytes(two), "172.30.0.9") is None


def test_an_outage_lays_over_the_mapped_urls_and_a_mapping_serves_every_query(tmp_path: Path) -> None:
    urls = {"https://a.example/x": {"status": 200, "text": "x"}, "https://b.example/y?v=1": {"text": "y"}}
    (tmp_path / "config.json").write_text(json.dumps({"urls": urls}))
    routes = Routes(tmp_path)
    assert routes.find("https://a.example/x?cache=0") == ("https://a.example/x", urls["https://a.example/x"], False)
    assert routes.find("https://b.example/y?v=1")[1] == urls["https://b.example/y?v=1"]
    assert routes.find("https://b.example/y?v=2") == ("https://b.example/y?v=2", None, False)
    assert routes.find("https://c.example/")[1:] == (None, False)
    (tmp_path / "outage.json").write_text(json.dumps({"https://a.example/x": {"status": 404}}))
    routes.load()
    assert routes.find("https://a.example/x") == ("https://a.example/x", {"status": 404}, True)
    assert routes.find("https://b.example/y?v=1")[2] is False
    assert routes.generation == 2


def test_a_body_is_the_text_the_file_or_generated_bytes(tmp_path: Path) -> None:
    (tmp_path / "0").write_bytes(b"\x00\x01binary")
    assert body_of({"text": "é"}, tmp_path) == "é".encode()
    assert body_of({"file": "0"}, tmp_path) == b"\x00\x01binary"
    assert len(body_of({"size": 100_000}, tmp_path)) == 100_000
    assert body_of({}, tmp_path) == b""


def test_a_response_says_to_the_server_what_the_spec_said() -> None:
    data = Response(status=302, headers=(("Location", "https://a.example/"),), cut_after=3).as_data(None)
    assert data["status"] == 302 and data["headers"] == {"Location": "https://a.example/"} and data["cut_after"] == 3


def test_the_server_mints_for_any_name_a_certificate_the_run_s_ca_signed(tmp_path: Path) -> None:
    ca = new_authority("run1")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "ca-key.pem").write_bytes(ca.key_pem)
    certificates = Certificates(tmp_path)
    certificates.context("objects.githubusercontent.com")
    minted = x509.load_pem_x509_certificate((certificates.scratch / "0.pem").read_bytes())
    authority = x509.load_pem_x509_certificate(ca.cert_pem)
    minted.verify_directly_issued_by(authority)  # raises if it is not
    names = minted.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["objects.githubusercontent.com"]
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert certificates.context("objects.githubusercontent.com") is certificates.context(
        "objects.githubusercontent.com"
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to compare with")
def test_the_ca_is_filed_under_the_hash_openssl_computes(tmp_path: Path) -> None:
    for run in ("run1", "a Much  Longer Run ID"):
        pem = new_authority(run).cert_pem
        (tmp_path / "ca.pem").write_bytes(pem)
        expected = subprocess.run(
            ["openssl", "x509", "-noout", "-subject_hash", "-in", str(tmp_path / "ca.pem")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert subject_hash(pem) == expected


def test_the_summary_counts_requests_outages_refusals_and_refused_handshakes() -> None:
    events = [
        WorldEvent("dns", 1.0, name="a.example"),
        WorldEvent("http", 1.1, url="https://a.example/x", status=200),
        WorldEvent("http", 1.2, url="https://a.example/y", status=404, outage=True),
        WorldEvent("http", 1.3, url="https://get.example/z", status=502, mapped=False),
        WorldEvent("http", 1.4, url="https://get.example/z", status=502, mapped=False),
        WorldEvent("tls-refused", 1.5, name="b.example", error="unknown ca"),
    ]
    assert summary(events) == (
        "4 requests; 1 in an outage; 2 refused, unmapped: https://get.example/z; "
        "1 TLS handshake(s) refused by the client (b.example): does it trust the run's CA?"
    )
    assert summary([]) == "0 requests"
    assert events[3].line() == " https://get.example/z -> 502 (refused: unmapped)"
