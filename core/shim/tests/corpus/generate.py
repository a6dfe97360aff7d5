#!/usr/bin/env python3
"""Regenerate the malformed-chunk corpus (the .bin files are the source of truth;
this script documents how each was built). Run from this directory.

Replay conditions (see ../corpus.rs): max_chunk_len 4096, max_heartbeat_info 512,
and before the bytes are fed our side has sent two DATA chunks (TSN 0 and 1),
so ACK files can hit or miss the outstanding window.
"""
import struct

INIT = bytes([1, 0, 0, 4])


def chunk(ty, flags, value, length=None):
    n = 4 + len(value) if length is None else length
    raw = struct.pack(">BBH", ty, flags, n) + value
    return raw + b"\0" * (-len(raw) % 4)


def data(tsn, sid=0, ssn=0, ppid=0, payload=b"x", flags=0):
    return chunk(0, flags, struct.pack(">IHHI", tsn, sid, ssn, ppid) + payload)


def hb_tlv(info, ty=1, length=None):
    n = 4 + len(info) if length is None else length
    return struct.pack(">HH", ty, n) + info


FILES = {
    # name: (bytes, expected error code, description)
    "truncated-header.bin": (INIT + bytes([0, 0]), "truncated-at-eof",
                             "stream ends two bytes into a chunk header"),
    "truncated-data.bin": (INIT + data(0, payload=b"y" * 24)[:20], "truncated-at-eof",
                           "DATA announces 40 bytes, stream ends after 20"),
    "truncated-padding.bin": (INIT + data(0, payload=b"z")[:17], "truncated-at-eof",
                              "DATA of length 17 without its 3 pad bytes"),
    "length-below-header.bin": (INIT + bytes([0, 0, 0, 3]), "length-too-small",
                                "Chunk Length 3 (< 4-byte header)"),
    "length-zero.bin": (INIT + bytes([4, 0, 0, 0]), "length-too-small",
                        "HEARTBEAT with Chunk Length 0"),
    "length-over-limit.bin": (INIT + bytes([0, 0, 0xFF, 0xFF]) + b"\0" * 12, "chunk-too-large",
                              "DATA Length 65535 over the 4096-byte limit (refused after 4 bytes)"),
    "reserved-type-2.bin": (INIT + bytes([2, 0, 0, 4]), "reserved-chunk-type",
                            "type 2 (SCTP's INIT-ACK slot) is reserved"),
    "reserved-type-255.bin": (INIT + bytes([255, 0, 0, 4]), "reserved-chunk-type",
                              "type 255 (extension) is reserved"),
    "reserved-type-first.bin": (bytes([7, 0, 0, 8, 0, 0, 0, 0]), "reserved-chunk-type",
                                "reserved type 7 as the very first chunk"),
    "init-length-8.bin": (bytes([1, 0, 0, 8, 0, 0, 0, 0]), "bad-init-length",
                          "INIT with Length 8 (must be exactly 4)"),
    "data-before-init.bin": (data(0), "missing-init", "DATA as the first chunk"),
    "ack-before-init.bin": (chunk(3, 0, struct.pack(">I", 0)), "missing-init",
                            "ACK as the first chunk"),
    "heartbeat-before-init.bin": (chunk(4, 0, hb_tlv(b"abcd")), "missing-init",
                                  "HEARTBEAT as the first chunk"),
    "double-init.bin": (INIT + INIT, "duplicate-init", "second INIT on the connection"),
    "init-after-data.bin": (INIT + data(0) + INIT, "duplicate-init", "INIT again after DATA"),
    "data-too-short.bin": (INIT + chunk(0, 0, b"\0" * 8), "data-too-short",
                           "DATA Length 12 below the 16-byte header of INIT flags 0"),
    "data-empty.bin": (INIT + chunk(0, 0, b"\0" * 12), "empty-data",
                       "DATA with header only, no user data"),
    "data-empty-minimal-layout.bin": (bytes([1, 7, 0, 4]) + bytes([0, 0, 0, 4]), "empty-data",
                                      "INIT flags 0x07, then a 4-byte DATA with no user data"),
    "data-first-tsn-not-zero.bin": (INIT + data(5), "tsn-mismatch",
                                    "first DATA has TSN 5 (TSNs start at 0)"),
    "data-tsn-gap.bin": (INIT + data(0) + data(2), "tsn-mismatch", "TSN 0 then TSN 2"),
    "data-bad-ssn.bin": (INIT + data(0, sid=3, ssn=1), "ssn-mismatch",
                         "first ordered DATA on stream 3 has SSN 1"),
    "ack-length-12.bin": (INIT + chunk(3, 0, b"\0" * 8), "bad-ack-length", "ACK of Length 12"),
    "ack-length-6.bin": (INIT + chunk(3, 0, b"\0\0"), "bad-ack-length", "ACK of Length 6"),
    "ack-out-of-window.bin": (INIT + chunk(3, 0, struct.pack(">I", 5)), "ack-out-of-window",
                              "ACK for TSN 5 while 0..=1 are outstanding"),
    "ack-duplicate.bin": (INIT + chunk(3, 0, struct.pack(">I", 0)) * 2, "ack-out-of-window",
                          "TSN 0 acknowledged twice"),
    "ack-nothing-outstanding.bin": (INIT + chunk(3, 0, struct.pack(">I", 1)) + chunk(3, 0, b""),
                                    "unexpected-ack", "short ACK after everything was acked"),
    "heartbeat-no-tlv.bin": (INIT + chunk(4, 0, b""), "heartbeat-too-short",
                             "HEARTBEAT without a Heartbeat Info TLV"),
    "heartbeat-bad-tlv-type.bin": (INIT + chunk(4, 0, hb_tlv(b"abcd", ty=2)), "heartbeat-info-type",
                                   "Heartbeat Info TLV of type 2"),
    "heartbeat-tlv-length-mismatch.bin": (INIT + chunk(4, 0, hb_tlv(b"abcd", length=20)),
                                          "heartbeat-info-length",
                                          "TLV claims 20 bytes inside a 12-byte chunk"),
    "heartbeat-tlv-length-short.bin": (INIT + chunk(4, 0, hb_tlv(b"abcd", length=2)),
                                       "heartbeat-info-length", "TLV length 2 (< its header)"),
    "heartbeat-info-too-large.bin": (INIT + chunk(4, 0, hb_tlv(b"i" * 600)),
                                     "heartbeat-info-too-large", "600 bytes of Heartbeat Info"),
    "heartbeat-ack-unsolicited.bin": (INIT + chunk(5, 0, hb_tlv(struct.pack(">Q", 7))),
                                      "heartbeat-ack-mismatch",
                                      "HEARTBEAT-ACK echoing a counter we never sent"),
    "heartbeat-ack-bad-size.bin": (INIT + chunk(5, 0, hb_tlv(b"abc")), "heartbeat-ack-mismatch",
                                   "HEARTBEAT-ACK whose info is not our 8-byte counter"),
}

with open("INDEX", "w") as index:
    index.write("# file  expected-error-code  description\n")
    index.write("# Replayed by core/shim/tests/corpus.rs; regenerate with generate.py.\n")
    for name, (raw, code, desc) in FILES.items():
        with open(name, "wb") as f:
            f.write(raw)
        index.write(f"{name}  {code}  {desc}\n")
