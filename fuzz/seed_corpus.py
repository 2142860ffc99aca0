#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/<target>/ (run from the repository
root: python3 fuzz/seed_corpus.py). Seeds come from the test fixtures, the
SDP samples of src/sdp/samples.rs, the example configuration, and messages
written here after real equipment (Mediatrix, Cisco, Asterisk, FreeSWITCH)
and RFC 4475. Multi-datagram inputs are framed as faxbridge::fuzzing::frames
reads them: a two-byte big-endian length before each datagram."""

import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(parts):
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


# ---- SDP -----------------------------------------------------------------
samples = open(os.path.join(ROOT, "src/sdp/samples.rs")).read()
SDP = {}
for name, body in re.findall(r'pub\(crate\) const (\w+): &str = "(.*?)";', samples, re.S):
    SDP[name] = crlf(body)
    put("sdp", SDP[name], "sample-" + name.lower())

# ---- SIP -----------------------------------------------------------------
def sip(method, ruri, frm, to, callid, cseq, extra="", body="", ctype="application/sdp",
        via="SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds"):
    head = (f"{method} {ruri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n"
            f"From: {frm}\r\nTo: {to}\r\nCall-ID: {callid}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:2001@192.0.2.1:5060>\r\n{extra}")
    if body:
        head += f"Content-Type: {ctype}\r\n"
    return head + f"Content-Length: {len(body.encode())}\r\n\r\n" + body

put("sip", sip("INVITE", "sip:100@192.0.2.200", "<sip:2001@192.0.2.1>;tag=mx1", "<sip:100@192.0.2.200>",
               "mx-1@192.0.2.1", 1, "User-Agent: Mediatrix 4102 DGW 48.0\r\nAllow: INVITE, ACK, BYE, CANCEL\r\n",
               SDP["MEDIATRIX_AUDIO"]), "mediatrix-invite")
put("sip", sip("INVITE", "sip:100@192.0.2.200", "<sip:2001@192.0.2.1>;tag=mx1", "<sip:100@192.0.2.200>;tag=fb9",
               "mx-1@192.0.2.1", 2, "", SDP["MEDIATRIX_T38_REINVITE"]), "mediatrix-t38-reinvite")
put("sip", sip("INVITE", "sip:+441632960201@192.0.2.200;user=phone", "\"Cisco\" <sip:+441632960999@198.51.100.7>;tag=c1",
               "<sip:+441632960201@192.0.2.200>", "cisco-1@198.51.100.7", 101,
               "Supported: timer,100rel\r\nSession-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\n"
               "P-Asserted-Identity: <sip:+441632960999@198.51.100.7>\r\nPrivacy: id\r\n",
               SDP["CISCO_AUDIO"], via="SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKcisco1"), "cisco-invite")
put("sip", sip("INVITE", "sip:100@192.0.2.200", "<sip:0123@198.51.100.5>;tag=as1", "<sip:100@192.0.2.200>",
               "ast-1@198.51.100.5", 102, "Remote-Party-ID: \"Bob\" <sip:0123@198.51.100.5>;party=calling\r\n",
               SDP["ASTERISK_T38"], via="SIP/2.0/UDP 198.51.100.5:5060;branch=z9hG4bKast;rport"), "asterisk-t38-invite")
put("sip", sip("INVITE", "sip:100@192.0.2.200", "<sip:fs@198.51.100.9>;tag=fs1", "<sip:100@192.0.2.200>",
               "fs-1@198.51.100.9", 1, "", SDP["FREESWITCH_AUDIO_AND_T38"]), "freeswitch-invite")
put("sip", sip("INVITE", "sip:999@192.0.2.200", "<sip:2001@192.0.2.1>;tag=e1", "<sip:999@192.0.2.200>",
               "em-1@192.0.2.1", 1, "", SDP["MEDIATRIX_AUDIO"]), "emergency-invite")
put("sip", sip("INVITE", "sip:100@192.0.2.200", "<sip:roamer@203.0.113.9>;tag=r1", "<sip:100@192.0.2.200>",
               "roam-1@203.0.113.9", 2,
               'Authorization: Digest username="roamer", realm="faxbridge", nonce="abc", uri="sip:100@192.0.2.200", '
               'response="6629fae49393a05397450978507c4ef1", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"\r\n',
               SDP["RFC3264_OFFER"]), "digest-invite")
put("sip", sip("REGISTER", "sip:192.0.2.200", "<sip:2001@192.0.2.200>;tag=reg", "<sip:2001@192.0.2.200>",
               "reg-1@192.0.2.1", 1,
               "Contact: <sip:2001@192.0.2.1:5060>;expires=3600, \"x,y\" <sip:2001@192.0.2.2>;q=0.5\r\nExpires: 600\r\n"),
    "register")
put("sip", sip("REGISTER", "sip:192.0.2.200", "<sip:2001@192.0.2.200>;tag=reg", "<sip:2001@192.0.2.200>",
               "reg-2@192.0.2.1", 2, "Contact: *\r\nExpires: 0\r\n"), "register-wildcard")
put("sip", sip("OPTIONS", "sip:192.0.2.200", "<sip:ping@192.0.2.1>;tag=o", "<sip:192.0.2.200>", "opt@x", 1,
               "Accept: application/sdp\r\n"), "options")
put("sip", sip("BYE", "sip:100@192.0.2.200", "<sip:2001@192.0.2.1>;tag=mx1", "<sip:100@192.0.2.200>;tag=fb9",
               "mx-1@192.0.2.1", 3), "bye")
put("sip", sip("ACK", "sip:100@192.0.2.200", "<sip:2001@192.0.2.1>;tag=mx1", "<sip:100@192.0.2.200>;tag=fb9",
               "mx-1@192.0.2.1", 1).replace("CSeq: 1 ACK", "CSeq: 1 INVITE"), "ack")
put("sip", sip("CANCEL", "sip:100@192.0.2.200", "<sip:2001@192.0.2.1>;tag=mx1", "<sip:100@192.0.2.200>",
               "mx-1@192.0.2.1", 1), "cancel")
put("sip", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.200:5060;branch=z9hG4bKfb\r\nFrom: <sip:100@192.0.2.200>;tag=fb\r\n"
    "To: <sip:2001@192.0.2.1>;tag=mx\r\nCall-ID: out-1\r\nCSeq: 1 INVITE\r\nSession-Expires: 90;refresher=uac\r\n"
    "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (len(SDP["CISCO_T38"]), SDP["CISCO_T38"]), "response-200")
# After RFC 4475 (valid and invalid torture messages), shortened.
put("sip", "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\nTO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\nMaX-fOrWaRdS: 0068\r\n"
    "Call-ID: wsinv.ndaksdj@192.0.2.1\r\nContent-Length   : 150\r\ncseq: 0009\r\n  INVITE\r\n"
    "Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\ns :\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\nContent-Type: application/sdp\r\nRoute:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n"
    "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n\r\n"
    "v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n",
    "rfc4475-wsinv")
put("sip", "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\nTo: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9\";tag=_token~1'+`*%!-.\r\n"
    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\nCSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\nMax-Forwards: 255\r\n"
    "extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb\r\nContent-Length: 0\r\n\r\n", "rfc4475-intmeth")
put("sip", "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\nTo: sip:%75se%72@example.com\r\nFrom: <sip:I%20have%20spaces@example.net>;tag=938\r\n"
    "Max-Forwards: 87\r\ni: esc01.239409asdfakjkn23onasd0-3234\r\nCSeq: 234234 INVITE\r\nVia: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\n"
    "C: application/sdp\r\nContact:\r\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\nContent-Length: 0\r\n\r\n", "rfc4475-esc01")
put("sip", "INVITE sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=134161461246\r\nMax-Forwards: 7\r\n"
    "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP 330.47.110.232:5060;branch=z9hG4bKvjuw\r\n"
    "Contact: <sip:caller@host1.example.net>;expires=280297596632815\r\nContent-Type: application/sdp\r\nContent-Length: 99999999999999999999\r\n\r\nv=0\r\n", "rfc4475-scalar02")
put("sip", "OPTIONS sip:user@example.com SIP/2.0\r\nTo: sip:user@example.com\r\nFrom: sip:caller@example.org;tag=33242\r\nMax-Forwards: 3\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\nl: 0\r\nCall-ID: zeroLength.0sdfkfld@192.0.2.1\r\nCSeq: 1 OPTIONS\r\n\r\n\r\n", "rfc4475-short")
put("sip", "INVITE sip:user@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\r\nMax-Forwards: 70\r\n"
    "To: sip:user@example.com\r\nFrom: sip:caller@example.net;tag=2234923\r\nCall-ID: mismatch01.dj0234sxdfl3\r\nCSeq: 8 OPTIONS\r\nContent-Length: 0\r\n\r\n", "rfc4475-mismatch01")
put("sip", "\r\n\r\n", "keepalive")

# ---- RTP -----------------------------------------------------------------
def rtp(pt, seq, ts, ssrc, payload, marker=0, csrc=(), ext=None, pad=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrc)
    out = struct.pack(">BBHII", b0, (marker << 7) | pt, seq, ts, ssrc)
    for c in csrc:
        out += struct.pack(">I", c)
    if ext is not None:
        out += struct.pack(">HH", 0xBEDE, len(ext) // 4) + ext
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out

alaw = bytes([0xD5] * 160)
put("rtp", frame([rtp(8, 1000 + i, 160 * i, 0x1234, alaw, marker=int(i == 0)) for i in range(6)]), "pcma-stream")
put("rtp", frame([rtp(0, 5, 800, 7, bytes(range(160))), rtp(0, 7, 1120, 7, bytes(160)), rtp(0, 6, 960, 7, bytes(160))]), "reordered")
put("rtp", frame([rtp(101, 10 + i, 4000, 9, bytes([5, 0x0a | (0x80 if i > 2 else 0)]) + struct.pack(">H", 160 * (i + 1))) for i in range(4)]), "telephone-event")
put("rtp", frame([rtp(8, 1, 0xFFFFFF60, 3, alaw, csrc=(1, 2), ext=b"\x10\xff\x00\x00", pad=4), rtp(8, 2, 0, 3, alaw)]), "csrc-ext-pad-wrap")

# ---- UDPTL ---------------------------------------------------------------
def open_type(b):
    n = len(b)
    return (bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])) + b

IFPS = [b"\x02", b"\x06", b"\xc0\x01\x80\x00\x00\x03\xff\xc8\x00", b"\x4a", b"\xc8\x01\x80\x00\x00\x10" + bytes(range(16)),
        b"\xc0\x01\x80\x03\x00\x00"]

def udptl(seq, primary, history, mode):
    out = struct.pack(">H", seq) + open_type(primary)
    if mode == "none":
        out += b"\x00\x00"
    elif mode == "red":
        out += b"\x00" + bytes([len(history)]) + b"".join(open_type(h) for h in reversed(history))
    else:
        span, entries = 2, 2
        out += b"\x80\x01" + bytes([span, entries])
        for m in range(entries):
            blk = bytearray(max((len(h) for h in history), default=0))
            for h in history[m::entries]:
                for i, c in enumerate(h):
                    blk[i] ^= c
            out += open_type(bytes(blk))
    return out

for mode, setup in (("none", 0x03), ("red", 0x53), ("fec", 0xA2)):
    dgs = [udptl(i, IFPS[i], IFPS[max(0, i - 3):i], mode) for i in range(len(IFPS))]
    put("udptl", bytes([setup]) + frame(dgs), "stream-" + mode)
    lossy = [d for i, d in enumerate(dgs) if i not in (1, 3)]
    put("udptl", bytes([setup | 0x04]) + frame(lossy[::-1]), "lossy-reversed-" + mode)

# ---- SMTP ----------------------------------------------------------------
MAIL = crlf("""From: Alice <alice@example.org>
To: +441632960201@fax.example.org
Subject: Invoice 42
Date: Mon, 7 Dec 2026 10:00:00 +0000
Message-ID: <42@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Please find the invoice attached.
-- 
Alice
--b1
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK
--b1--
""")
put("smtp", b"\x00\x40" + crlf(f"""EHLO client.example.org
MAIL FROM:<alice@example.org> SIZE=2000 BODY=8BITMIME
RCPT TO:<+441632960201@fax.example.org>
RCPT TO:<+441632960202@fax.example.org> NOTIFY=NEVER
DATA
{MAIL.replace(chr(13)+chr(10)+'.', chr(13)+chr(10)+'..')}.
RSET
NOOP
VRFY postmaster
QUIT
""").encode(), "session-pipelined")
put("smtp", b"\x05\x07" + crlf("""EHLO c
AUTH PLAIN AGFsaWNlAHNlY3JldA==
AUTH LOGIN
YWxpY2U=
c2VjcmV0
STARTTLS
EHLO c
MAIL FROM:<>
RCPT TO:<fax@fax.example.org>
DATA
Subject: x

..dot
.
QUIT
""").encode(), "session-auth-tls")
put("smtp", b"\x0f\xff" + b"HELO x\nMAIL FROM:<a@b>\nRCPT TO:<1@fax>\nDATA\nbare LF\n.\n\r\n.\r\n" + b"X" * 1200 + b"\r\nQUIT\r\n", "bare-lf-long-line")
put("smtp", b"\x10\x01" + crlf("EHLO relay\nMAIL FROM:<a\x00b@example.org>\nRCPT TO:<\"quoted local\"@fax.example.org>\nRCPT TO:<@route,@x:user@fax>\nDATA\n\x80\xff\x00\n.\n").encode(), "nul-8bit-relay")

# ---- MIME ----------------------------------------------------------------
put("mime", MAIL, "invoice-pdf")
put("mime", crlf("""From: "Bob" <bob@example.org>
Subject: =?utf-8?q?Fax_f=C3=BCr_Sie?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=alt

--alt
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe, 4111 1111 1111 1111
--alt
Content-Type: multipart/related; boundary=rel

--rel
Content-Type: text/html

<p>Hello <img src="cid:logo"></p>
--rel
Content-Type: image/png
Content-ID: <logo>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==
--rel--
--alt--
"""), "alternative-related")
put("mime", crlf("""From: carol@example.org
Subject: signed
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=s

--s
Content-Type: text/plain

note
--s
Content-Type: application/pkcs7-signature; name=smime.p7s
Content-Transfer-Encoding: base64

MIAGCSqGSIb3DQEHAqCAMIACAQEx
--s
Content-Type: application/msword; name=letter.doc
Content-Disposition: attachment; filename=letter.doc

PK
--s
Content-Type: message/rfc822

From: inner@example.org
Subject: forwarded

inner body
--s--
"""), "signed-word-forwarded")
put("mime", crlf("From: d@example.org\nContent-Type: multipart/mixed\n\nno boundary\n"), "no-boundary")

# ---- Config --------------------------------------------------------------
put("config", open(os.path.join(ROOT, "config/faxbridge.example.toml"), "rb").read(), "example")
fz = open(os.path.join(ROOT, "src/fuzzing.rs")).read()
put("config", re.search(r'const SITE: &str = r#"(.*?)"#;', fz, re.S).group(1), "fuzz-site")
put("config", "", "empty")

# ---- SNMP ----------------------------------------------------------------
def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b

def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body

def ber_int(tag, n):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)
    return tlv(tag, b)

def ber_uint(tag, n):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return tlv(tag, b)

def ber_oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([arcs[0] * 40 + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, out)

def value(t, v):
    t = int(t.rstrip("x"))
    if t == 2:
        return ber_int(0x02, int(v))
    if t == 4:
        return tlv(0x04, v.encode())
    if t == 6:
        return ber_oid(v)
    return ber_uint({65: 0x41, 66: 0x42, 67: 0x43, 70: 0x46}.get(t, 0x42), int(v))

def response(varbinds, req_id=1):
    vbs = b"".join(tlv(0x30, ber_oid(o) + v) for o, v in varbinds)
    pdu = tlv(0xA2, ber_int(0x02, req_id) + ber_int(0x02, 0) + ber_int(0x02, 0) + tlv(0x30, vbs))
    return tlv(0x30, ber_int(0x02, 1) + tlv(0x04, b"public") + pdu)

DGW = "1.3.6.1.4.1.4935.1000.100.200.100"
SYSTEM = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]
SCALARS = [DGW + ".1500.1.100.100.0", DGW + ".1500.1.100.200.0", DGW + ".1300.1.110.0",
           "1.3.6.1.4.1.4935.10.15.1.3", "1.3.6.1.4.1.4935.10.15.1.3.0"]
TABLES = [DGW + ".1300.1.100.1", DGW + ".1800.1.100.1.300", DGW + ".1400.1.800.10000.1"]

def key(o):
    return [int(a) for a in o.split(".")]

for fx in sorted(os.listdir(os.path.join(ROOT, "tests/fixtures/ata"))):
    rec = {}
    for line in open(os.path.join(ROOT, "tests/fixtures/ata", fx)):
        parts = line.rstrip("\n").split("|", 2)
        if len(parts) == 3:
            rec[parts[0]] = value(parts[1], parts[2])
    missing = b"\x80\x00"
    dgs = [response([(o, rec.get(o, missing)) for o in SYSTEM]),
           response([(o, rec.get(o, missing)) for o in SCALARS], 2)]
    ordered = sorted(rec, key=key)
    for t in TABLES:
        rows = [o for o in ordered if key(o)[:len(key(t))] == key(t)]
        after = [o for o in ordered if key(o) > key(rows[-1] if rows else t) and not o.startswith(t + ".")][:1]
        batch = rows + after if after else rows + [None]
        for i in range(0, len(batch), 20):
            chunk = batch[i:i + 20]
            dgs.append(response([(o, rec[o]) if o else (t + ".9999", b"\x82\x00") for o in chunk], 3 + i))
    put("snmp", frame(dgs), "poll-" + fx.replace(".snmprec", ""))

# ---- Documents -----------------------------------------------------------
for fx in sorted(os.listdir(os.path.join(ROOT, "tests/fixtures/docs"))):
    data = open(os.path.join(ROOT, "tests/fixtures/docs", fx), "rb").read()
    if data.startswith(b"%PDF") and len(data) < 200_000:
        put("pdf", data, fx)
print("seeds written to", CORPUS, file=sys.stderr)
