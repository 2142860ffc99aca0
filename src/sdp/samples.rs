//! Session descriptions as sent by the equipment faxbridge meets, for tests.
//! Addresses are from the documentation ranges of RFC 5737.

/// Convert bare LF line ends to CRLF, as they travel in SIP.
pub(crate) fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

/// Mediatrix 4100-series re-INVITE to T.38 after CNG detection; booleans
/// written as `:0`.
pub(crate) const MEDIATRIX_T38_REINVITE: &str = "v=0
o=MxSIP 0 2 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=image 5006 udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxFillBitRemoval:0
a=T38FaxTranscodingMMR:0
a=T38FaxTranscodingJBIG:0
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxBuffer:262
a=T38FaxMaxDatagram:180
a=T38FaxUdpEC:t38UDPRedundancy
";

/// Mediatrix initial INVITE from an FXS port: G.711 both laws, G.729 and
/// telephone events.
pub(crate) const MEDIATRIX_AUDIO: &str = "v=0
o=MxSIP 0 1 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 5004 RTP/AVP 0 8 18 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
";

/// Asterisk (chan_pjsip) audio offer preferring A-law.
pub(crate) const ASTERISK_AUDIO: &str = "v=0
o=- 1234567890 1234567891 IN IP4 198.51.100.5
s=Asterisk
c=IN IP4 198.51.100.5
t=0 0
m=audio 17412 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
";

/// Asterisk T.38 re-INVITE (res_fax with udptl redundancy).
pub(crate) const ASTERISK_T38: &str = "v=0
o=- 1234567890 1234567892 IN IP4 198.51.100.5
s=Asterisk
c=IN IP4 198.51.100.5
t=0 0
m=image 4390 udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxDatagram:400
a=T38FaxUdpEC:t38UDPRedundancy
";

/// FreeSWITCH audio offer with wideband codecs first.
pub(crate) const FREESWITCH_AUDIO: &str = "v=0
o=FreeSWITCH 1700000000 1700000001 IN IP4 203.0.113.7
s=FreeSWITCH
c=IN IP4 203.0.113.7
t=0 0
m=audio 24576 RTP/AVP 102 9 0 8 101 13
a=rtpmap:102 opus/48000/2
a=fmtp:102 useinbandfec=1; maxplaybackrate=48000
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=rtpmap:13 CN/8000
a=ptime:20
";

/// FreeSWITCH T.38 re-INVITE with fill-bit removal announced bare.
pub(crate) const FREESWITCH_T38: &str = "v=0
o=FreeSWITCH 1700000000 1700000002 IN IP4 203.0.113.7
s=FreeSWITCH
c=IN IP4 203.0.113.7
t=0 0
m=image 24578 udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:9600
a=T38FaxFillBitRemoval
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxBuffer:2000
a=T38FaxMaxDatagram:400
a=T38FaxUdpEC:t38UDPRedundancy
";

/// FreeSWITCH INVITE offering T.38 and audio together (fax-enabled
/// origination with audio fallback).
pub(crate) const FREESWITCH_AUDIO_AND_T38: &str = "v=0
o=FreeSWITCH 1700000100 1700000101 IN IP4 203.0.113.7
s=FreeSWITCH
c=IN IP4 203.0.113.7
t=0 0
m=audio 24580 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
m=image 24582 udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxBuffer:2000
a=T38FaxMaxDatagram:400
a=T38FaxUdpEC:t38UDPRedundancy
";

/// Cisco IOS voice gateway (CUBE) audio with c= at media level only.
pub(crate) const CISCO_AUDIO: &str = "v=0
o=CiscoSystemsSIP-GW-UserAgent 4513 7542 IN IP4 192.0.2.50
s=SIP Call
t=0 0
m=audio 16384 RTP/AVP 0 101 19
c=IN IP4 192.0.2.50
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=rtpmap:19 CN/8000
a=ptime:20
";

/// Cisco T.38 re-INVITE.
pub(crate) const CISCO_T38: &str = "v=0
o=CiscoSystemsSIP-GW-UserAgent 4513 7543 IN IP4 192.0.2.50
s=SIP Call
t=0 0
m=image 16616 udptl t38
c=IN IP4 192.0.2.50
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxBuffer:200
a=T38FaxMaxDatagram:320
a=T38FaxUdpEC:t38UDPRedundancy
";

/// Cisco trunk offering G.729 only: nothing faxbridge can take.
pub(crate) const CISCO_G729_ONLY: &str = "v=0
o=CiscoSystemsSIP-GW-UserAgent 9001 9001 IN IP4 192.0.2.51
s=SIP Call
c=IN IP4 192.0.2.51
t=0 0
m=audio 16500 RTP/AVP 18 101
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
";

/// After the session example of RFC 8866 §5, with a session-level
/// direction overridden at media level.
pub(crate) const RFC8866_EXAMPLE: &str = "v=0
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
s=Call to John Smith
i=SDP Offer #1
u=https://www.jdoe.example.com/home.html
e=Jane Doe <jane@jdoe.example.com>
p=+1 617 555-6011
c=IN IP4 198.51.100.1
t=0 0
a=recvonly
m=audio 49170 RTP/AVP 0
m=video 51372 RTP/AVP 99
c=IN IP4 198.51.100.1
a=rtpmap:99 h263-1998/90000
a=sendrecv
";

/// RFC 3264 §10.1 offer: audio (PCMU, PCMA, iLBC) and video, addressed by
/// host name.
pub(crate) const RFC3264_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s=
c=IN IP4 host.atlanta.example.com
t=0 0
m=audio 49170 RTP/AVP 0 8 97
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:97 iLBC/8000
m=video 51372 RTP/AVP 31 32
a=rtpmap:31 H261/90000
a=rtpmap:32 MPV/90000
";

/// Every sample, named.
pub(crate) const ALL: [(&str, &str); 12] = [
    ("mediatrix t38", MEDIATRIX_T38_REINVITE),
    ("mediatrix audio", MEDIATRIX_AUDIO),
    ("asterisk audio", ASTERISK_AUDIO),
    ("asterisk t38", ASTERISK_T38),
    ("freeswitch audio", FREESWITCH_AUDIO),
    ("freeswitch t38", FREESWITCH_T38),
    ("freeswitch both", FREESWITCH_AUDIO_AND_T38),
    ("cisco audio", CISCO_AUDIO),
    ("cisco t38", CISCO_T38),
    ("cisco g729", CISCO_G729_ONLY),
    ("rfc 8866", RFC8866_EXAMPLE),
    ("rfc 3264", RFC3264_OFFER),
];
