#!/usr/bin/env python3
"""Regenerate the malformed-message corpus (the .bin files are the source of
truth; this script documents how each was built). Each file is the 4-byte PPID
(big-endian) followed by the DATA payload. Replayed by ../corpus.rs."""
import struct

HELLO, WELCOME, EVENT, REJECT, GOODBYE = (0x74637300 + i for i in range(1, 6))


def f(tag, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(value)) + value


def pair(tag, k, v):
    k = k.encode() if isinstance(k, str) else k
    v = v.encode() if isinstance(v, str) else v
    return f(tag, struct.pack(">H", len(k)) + k + v)


T = struct.pack(">q", 1_700_000_000_000)


def event(**over):
    fields = {
        1: f(1, "e1"), 2: f(2, "mail.MessageNew"), 3: f(3, "alice"), 4: f(4, "mx1.example"),
        5: f(5, T), 7: f(7, "New mail"),
    }
    fields.update(over.pop("fields", {}))
    extra = over.pop("extra", b"")
    body = b"".join(v for k, v in sorted(fields.items()) if v is not None)
    return body + extra


def hello(**over):
    fields = {1: f(1, struct.pack(">H", 1)), 2: f(2, "mta1"), 3: f(3, "test/1")}
    fields.update(over.pop("fields", {}))
    return b"".join(v for k, v in sorted(fields.items()) if v is not None) + over.pop("extra", b"")


FILES = {
    "unknown-ppid.bin": (0x74637399, event(), "unknown-message", "PPID 0x74637399 is no S2S message"),
    "empty-event.bin": (EVENT, b"", "missing-field", "EVENT without any field"),
    "event-truncated-field-header.bin": (EVENT, event() + b"\x08\x00", "truncated",
                                         "two bytes of a field header at the end"),
    "event-truncated-value.bin": (EVENT, event() + f(8, "body")[:5], "truncated",
                                  "body field announces 4 bytes, 2 follow"),
    "event-tag-zero.bin": (EVENT, f(0, "x") + event(), "unknown-field", "field tag 0"),
    "event-unknown-critical-tag.bin": (EVENT, event(extra=f(0x20, "?")), "unknown-field",
                                       "unknown tag 0x20 (< 0x80 must be understood)"),
    "event-fields-out-of-order.bin": (EVENT, f(3, "alice") + f(1, "e1") + f(2, "mail.X") + f(5, T) + f(7, "s"),
                                      "field-order", "user (0x03) before source-event-id (0x01)"),
    "event-duplicate-user.bin": (EVENT, event(fields={3: f(3, "alice") + f(3, "bob")}), "duplicate-field",
                                 "user twice"),
    "event-missing-kind.bin": (EVENT, event(fields={2: None}), "missing-field", "no kind"),
    "event-missing-occurred-at.bin": (EVENT, event(fields={5: None}), "missing-field", "no occurred-at"),
    "event-occurred-at-4-bytes.bin": (EVENT, event(fields={5: f(5, b"\0\0\0\1")}), "field-length",
                                      "occurred-at of 4 bytes (must be 8)"),
    "event-negative-time.bin": (EVENT, event(fields={5: f(5, struct.pack(">q", -5))}), "invalid-value",
                                "occurred-at before 1970"),
    "event-priority-0.bin": (EVENT, event(fields={6: f(6, b"\0")}), "invalid-value", "priority 0"),
    "event-priority-9.bin": (EVENT, event(fields={6: f(6, b"\x09")}), "invalid-value", "priority 9"),
    "event-priority-2-bytes.bin": (EVENT, event(fields={6: f(6, b"\0\3")}), "field-length",
                                   "priority of 2 bytes"),
    "event-user-invalid-utf8.bin": (EVENT, event(fields={3: f(3, b"al\xffice")}), "invalid-utf8",
                                    "user is not UTF-8"),
    "event-summary-control-char.bin": (EVENT, event(fields={7: f(7, "a\x07b")}), "invalid-value",
                                       "BEL in the summary"),
    "event-summary-newline.bin": (EVENT, event(fields={7: f(7, "line1\nline2")}), "invalid-value",
                                  "summary must be one line"),
    "event-body-nul.bin": (EVENT, event(fields={8: f(8, "a\0b")}), "invalid-value", "NUL in the body"),
    "event-empty-user.bin": (EVENT, event(fields={3: f(3, "")}), "empty", "empty user"),
    "event-id-257-bytes.bin": (EVENT, event(fields={1: f(1, "x" * 257)}), "too-long",
                               "source-event-id of 257 bytes"),
    "event-kind-no-namespace.bin": (EVENT, event(fields={2: f(2, "MessageNew")}), "invalid-value",
                                    "kind without namespace"),
    "event-kind-uppercase-namespace.bin": (EVENT, event(fields={2: f(2, "Mail.MessageNew")}), "invalid-value",
                                           "namespace labels are lower case"),
    "event-duplicate-attribute.bin": (EVENT, event(fields={9: pair(9, "uid", "1") + pair(9, "uid", "2")}),
                                      "duplicate-key", "attribute key uid twice"),
    "event-attribute-bad-key.bin": (EVENT, event(fields={9: pair(9, "a b", "1")}), "invalid-value",
                                    "space in an attribute key"),
    "event-attribute-pair-overrun.bin": (EVENT, event(fields={9: f(9, b"\x00\x09abc")}), "invalid-value",
                                         "attribute key length 9 with 3 bytes left"),
    "event-attribute-invalid-utf8.bin": (EVENT, event(fields={9: pair(9, "k", b"\xc3")}), "invalid-utf8",
                                         "attribute value is cut UTF-8"),
    "event-65-attributes.bin": (EVENT, event(fields={9: b"".join(pair(9, f"k{i}", "v") for i in range(65))}),
                                "too-many", "65 attributes (limit 64)"),
    "event-bad-lang.bin": (EVENT, event(fields={10: f(10, "english language")}), "invalid-value",
                           "lang is not a BCP 47 tag"),
    "event-origin-host-space.bin": (EVENT, event(fields={4: f(4, "mx 1")}), "invalid-value",
                                    "space in the origin host"),
    "hello-missing-source.bin": (HELLO, hello(fields={2: None}), "missing-field", "HELLO without source"),
    "hello-bad-source-name.bin": (HELLO, hello(fields={2: f(2, "mta/1")}), "invalid-value",
                                  "'/' in the source name"),
    "hello-version-1-byte.bin": (HELLO, hello(fields={1: f(1, b"\1")}), "field-length",
                                 "version of 1 byte"),
    "hello-duplicate-prefix.bin": (HELLO, hello(fields={4: pair(4, "m", "mail") + pair(4, "m", "voicemail")}),
                                   "duplicate-key", "prefix m bound twice"),
    "hello-bad-prefix.bin": (HELLO, hello(fields={4: pair(4, "M1", "mail")}), "invalid-value",
                             "upper-case prefix"),
    "welcome-bad-role.bin": (WELCOME, f(1, struct.pack(">H", 1)) + f(2, "app") + f(3, b"\x07"),
                             "invalid-value", "role 7"),
    "welcome-bad-address.bin": (WELCOME, f(1, struct.pack(">H", 1)) + f(2, "app") + f(3, b"\1") + f(4, "::1:7117"),
                                "invalid-value", "IPv6 address without brackets"),
    "reject-missing-code.bin": (REJECT, f(1, struct.pack(">I", 3)) + f(2, "e1"), "missing-field",
                                "REJECT without code"),
    "goodbye-text-newline.bin": (GOODBYE, f(1, b"\0\0") + f(2, "bye\n"), "invalid-value",
                                 "newline in GOODBYE text"),
}

with open("INDEX", "w") as index:
    index.write("# file  expected-error-code  description\n")
    index.write("# Each file: PPID (u32 BE) + payload. Replayed by core/s2s/tests/corpus.rs.\n")
    for name, (ppid, payload, code, desc) in FILES.items():
        with open(name, "wb") as out:
            out.write(struct.pack(">I", ppid) + payload)
        index.write(f"{name}  {code}  {desc}\n")
