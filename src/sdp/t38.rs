//! The T.38 session attributes of ITU-T T.38 Annex D (also RFC 3362 and the
//! SIP/SDP call setup of T.38 §D.2.3): what a fax endpoint announces about
//! its UDPTL stream.
//!
//! Names are matched ignoring case on input. Boolean attributes are true when
//! present without a value or with a non-zero value: Mediatrix gateways send
//! `a=T38FaxFillBitRemoval:0` to mean *false*, so presence alone is not
//! enough. On output a true boolean is written bare and a false one is left
//! out, which every implementation reads the same way.

use super::{Attribute, SdpError};

/// How the training check (TCF) of T.30 is handled (T.38 §D.2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateManagement {
    /// Each gateway generates TCF locally (`localTCF`); required for UDP by
    /// the standard, though rarely used.
    LocalTcf,
    /// TCF is sent through the T.38 stream (`transferredTCF`); what most
    /// equipment uses over UDPTL.
    TransferredTcf,
}

impl RateManagement {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            RateManagement::LocalTcf => "localTCF",
            RateManagement::TransferredTcf => "transferredTCF",
        }
    }
}

/// UDPTL error correction (`T38FaxUdpEC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UdpEc {
    /// No error correction (`t38UDPNoEC`, used by some Cisco releases).
    None,
    /// Redundant copies of earlier IFPs (`t38UDPRedundancy`).
    Redundancy,
    /// XOR forward error correction (`t38UDPFEC`).
    Fec,
}

impl UdpEc {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            UdpEc::None => "t38UDPNoEC",
            UdpEc::Redundancy => "t38UDPRedundancy",
            UdpEc::Fec => "t38UDPFEC",
        }
    }
}

/// T.38 parameters of one `m=image … udptl t38` stream.
///
/// `max_buffer` and `max_datagram` describe the *receiving* capacity of the
/// side that wrote them: the encoder for the far end must respect the far
/// end's `max_datagram`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct T38Params {
    /// `T38FaxVersion`, 0..=3; 0 when absent (Annex D default).
    pub version: u8,
    /// `T38MaxBitRate` in bit/s (e.g. 14400, 33600).
    pub max_bit_rate: Option<u32>,
    /// `T38FaxRateManagement`.
    pub rate_management: Option<RateManagement>,
    /// `T38FaxMaxBuffer`: receive buffer in bytes.
    pub max_buffer: Option<u32>,
    /// `T38FaxMaxDatagram`: largest UDPTL datagram the writer accepts.
    pub max_datagram: Option<u32>,
    /// `T38FaxUdpEC`; `None` when absent.
    pub udp_ec: Option<UdpEc>,
    /// `T38FaxFillBitRemoval`.
    pub fill_bit_removal: bool,
    /// `T38FaxTranscodingMMR`.
    pub transcoding_mmr: bool,
    /// `T38FaxTranscodingJBIG`.
    pub transcoding_jbig: bool,
}

impl Default for T38Params {
    /// What faxbridge offers: version 0 (what every peer supports), 14400
    /// bit/s (V.17), transferred TCF, redundancy, SpanDSP's 400-byte datagram.
    fn default() -> Self {
        Self {
            version: 0,
            max_bit_rate: Some(14400),
            rate_management: Some(RateManagement::TransferredTcf),
            max_buffer: Some(2000),
            max_datagram: Some(400),
            udp_ec: Some(UdpEc::Redundancy),
            fill_bit_removal: false,
            transcoding_mmr: false,
            transcoding_jbig: false,
        }
    }
}

fn bad(a: &Attribute, reason: &str) -> SdpError {
    SdpError::Attribute {
        name: a.name.clone(),
        value: a.value.clone().unwrap_or_default(),
        reason: reason.into(),
    }
}

fn number(a: &Attribute) -> Result<u32, SdpError> {
    a.value
        .as_deref()
        .map(str::trim)
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| bad(a, "expected a decimal number"))
}

fn boolean(a: &Attribute) -> Result<bool, SdpError> {
    let Some(v) = a.value.as_deref().map(str::trim) else {
        return Ok(true);
    };
    if v.is_empty() || v == "1" || v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v == "0" || v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(bad(a, "expected no value, 0 or 1"))
    }
}

impl T38Params {
    /// Read the `T38*` attributes of a media description. Attributes this
    /// module does not know (`T38VendorInfo`, `T38FaxUdpECDepth`, …) are
    /// ignored here and stay in the attribute list.
    pub fn from_attributes(attributes: &[Attribute]) -> Result<Self, SdpError> {
        let mut p = T38Params {
            version: 0,
            max_bit_rate: None,
            rate_management: None,
            max_buffer: None,
            max_datagram: None,
            udp_ec: None,
            fill_bit_removal: false,
            transcoding_mmr: false,
            transcoding_jbig: false,
        };
        for a in attributes {
            if a.is("T38FaxVersion") {
                let v = number(a)?;
                if v > 3 {
                    return Err(bad(a, "T.38 versions are 0 to 3"));
                }
                p.version = v as u8;
            } else if a.is("T38MaxBitRate") {
                p.max_bit_rate = Some(number(a)?);
            } else if a.is("T38FaxRateManagement") {
                let v = a.value.as_deref().unwrap_or("").trim();
                p.rate_management = Some(if v.eq_ignore_ascii_case("localTCF") {
                    RateManagement::LocalTcf
                } else if v.eq_ignore_ascii_case("transferredTCF") {
                    RateManagement::TransferredTcf
                } else {
                    return Err(bad(a, "expected localTCF or transferredTCF"));
                });
            } else if a.is("T38FaxMaxBuffer") {
                p.max_buffer = Some(number(a)?);
            } else if a.is("T38FaxMaxDatagram") {
                p.max_datagram = Some(number(a)?);
            } else if a.is("T38FaxUdpEC") {
                let v = a.value.as_deref().unwrap_or("").trim();
                p.udp_ec = Some(
                    [UdpEc::None, UdpEc::Redundancy, UdpEc::Fec]
                        .into_iter()
                        .find(|e| v.eq_ignore_ascii_case(e.as_str()))
                        .ok_or_else(|| {
                            bad(a, "expected t38UDPRedundancy, t38UDPFEC or t38UDPNoEC")
                        })?,
                );
            } else if a.is("T38FaxFillBitRemoval") {
                p.fill_bit_removal = boolean(a)?;
            } else if a.is("T38FaxTranscodingMMR") {
                p.transcoding_mmr = boolean(a)?;
            } else if a.is("T38FaxTranscodingJBIG") {
                p.transcoding_jbig = boolean(a)?;
            }
        }
        Ok(p)
    }

    /// The attributes announcing these parameters, in the order Asterisk
    /// and Mediatrix write them.
    pub fn to_attributes(&self) -> Vec<Attribute> {
        let mut out = vec![Attribute::value("T38FaxVersion", self.version.to_string())];
        if let Some(r) = self.max_bit_rate {
            out.push(Attribute::value("T38MaxBitRate", r.to_string()));
        }
        if self.fill_bit_removal {
            out.push(Attribute::flag("T38FaxFillBitRemoval"));
        }
        if self.transcoding_mmr {
            out.push(Attribute::flag("T38FaxTranscodingMMR"));
        }
        if self.transcoding_jbig {
            out.push(Attribute::flag("T38FaxTranscodingJBIG"));
        }
        if let Some(r) = self.rate_management {
            out.push(Attribute::value("T38FaxRateManagement", r.as_str()));
        }
        if let Some(b) = self.max_buffer {
            out.push(Attribute::value("T38FaxMaxBuffer", b.to_string()));
        }
        if let Some(d) = self.max_datagram {
            out.push(Attribute::value("T38FaxMaxDatagram", d.to_string()));
        }
        if let Some(ec) = self.udp_ec {
            out.push(Attribute::value("T38FaxUdpEC", ec.as_str()));
        }
        out
    }

    /// The parameters to answer `offer` with, given ours (`local`):
    /// the lower version and bit rate, the offerer's rate management
    /// (T.38 §D.2.3.3: the answer must copy it), our own buffer and datagram
    /// sizes (they describe what we receive), the offered error correction
    /// unless we allow less (FEC falls back to redundancy), and the optional
    /// features only where both sides have them.
    pub fn answer_to(offer: &T38Params, local: &T38Params) -> T38Params {
        let max_bit_rate = match (offer.max_bit_rate, local.max_bit_rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let udp_ec = match (offer.udp_ec, local.udp_ec) {
            (Some(o), Some(l)) => Some(o.min(l)),
            (None, _) => None,
            (Some(_), None) => Some(UdpEc::None),
        };
        T38Params {
            version: offer.version.min(local.version),
            max_bit_rate,
            rate_management: offer.rate_management.or(local.rate_management),
            max_buffer: local.max_buffer,
            max_datagram: local.max_datagram,
            udp_ec,
            fill_bit_removal: offer.fill_bit_removal && local.fill_bit_removal,
            transcoding_mmr: offer.transcoding_mmr && local.transcoding_mmr,
            transcoding_jbig: offer.transcoding_jbig && local.transcoding_jbig,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::samples::*;
    use super::*;

    #[test]
    fn mediatrix_zero_means_false() {
        let sdp = parse(MEDIATRIX_T38_REINVITE).unwrap();
        let p = sdp.media[0].t38_params().unwrap();
        assert_eq!(
            p,
            T38Params {
                version: 0,
                max_bit_rate: Some(14400),
                rate_management: Some(RateManagement::TransferredTcf),
                max_buffer: Some(262),
                max_datagram: Some(180),
                udp_ec: Some(UdpEc::Redundancy),
                fill_bit_removal: false,
                transcoding_mmr: false,
                transcoding_jbig: false,
            }
        );
    }

    #[test]
    fn bare_boolean_means_true() {
        let p = parse(FREESWITCH_T38).unwrap().media[0]
            .t38_params()
            .unwrap();
        assert!(p.fill_bit_removal);
        assert!(!p.transcoding_mmr);
        assert_eq!(p.max_bit_rate, Some(9600));
        assert_eq!(p.max_buffer, Some(2000));
        let p = T38Params::from_attributes(&[
            Attribute::value("T38FaxTranscodingMMR", "1"),
            Attribute::value("t38faxtranscodingjbig", ""),
        ])
        .unwrap();
        assert!(p.transcoding_mmr && p.transcoding_jbig);
    }

    #[test]
    fn names_and_values_ignore_case() {
        let p = T38Params::from_attributes(&[
            Attribute::value("t38faxversion", "3"),
            Attribute::value("T38MAXBITRATE", " 33600 "),
            Attribute::value("t38FaxRateManagement", "LOCALTCF"),
            Attribute::value("T38FAXUDPEC", "T38UDPFEC"),
        ])
        .unwrap();
        assert_eq!(p.version, 3);
        assert_eq!(p.max_bit_rate, Some(33600));
        assert_eq!(p.rate_management, Some(RateManagement::LocalTcf));
        assert_eq!(p.udp_ec, Some(UdpEc::Fec));
    }

    #[test]
    fn absent_attributes_have_annex_d_defaults() {
        let p = T38Params::from_attributes(&[]).unwrap();
        assert_eq!(p.version, 0);
        assert_eq!(p.udp_ec, None);
        assert!(!p.fill_bit_removal);
    }

    #[test]
    fn bad_values_are_errors_naming_the_attribute() {
        for (name, value) in [
            ("T38FaxVersion", "4"),
            ("T38FaxVersion", "x"),
            ("T38MaxBitRate", "fast"),
            ("T38FaxRateManagement", "someTCF"),
            ("T38FaxUdpEC", "t38UDPMagic"),
            ("T38FaxFillBitRemoval", "maybe"),
            ("T38FaxMaxDatagram", "-1"),
        ] {
            let e = T38Params::from_attributes(&[Attribute::value(name, value)]).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
            assert_eq!(e.sip_status(), 488);
        }
        assert!(T38Params::from_attributes(&[Attribute::flag("T38FaxVersion")]).is_err());
    }

    #[test]
    fn writes_and_reads_back() {
        let p = T38Params {
            version: 2,
            max_bit_rate: Some(33600),
            rate_management: Some(RateManagement::LocalTcf),
            max_buffer: None,
            max_datagram: Some(1400),
            udp_ec: Some(UdpEc::Fec),
            fill_bit_removal: true,
            transcoding_mmr: false,
            transcoding_jbig: true,
        };
        let attrs = p.to_attributes();
        assert!(attrs.contains(&Attribute::flag("T38FaxFillBitRemoval")));
        assert!(!attrs.iter().any(|a| a.is("T38FaxTranscodingMMR")));
        assert!(!attrs.iter().any(|a| a.is("T38FaxMaxBuffer")));
        assert_eq!(T38Params::from_attributes(&attrs).unwrap(), p);
    }

    #[test]
    fn answer_rules() {
        let offer = T38Params {
            version: 3,
            max_bit_rate: Some(33600),
            rate_management: Some(RateManagement::LocalTcf),
            max_buffer: Some(262),
            max_datagram: Some(180),
            udp_ec: Some(UdpEc::Fec),
            fill_bit_removal: true,
            transcoding_mmr: true,
            transcoding_jbig: false,
        };
        let local = T38Params {
            fill_bit_removal: true,
            ..T38Params::default()
        };
        let a = T38Params::answer_to(&offer, &local);
        assert_eq!(a.version, 0); // lower of 3 and ours (0)
        assert_eq!(a.max_bit_rate, Some(14400));
        assert_eq!(a.rate_management, Some(RateManagement::LocalTcf)); // copied
        assert_eq!(a.max_buffer, Some(2000)); // ours
        assert_eq!(a.max_datagram, Some(400)); // ours
        assert_eq!(a.udp_ec, Some(UdpEc::Redundancy)); // FEC not allowed locally
        assert!(a.fill_bit_removal && !a.transcoding_mmr && !a.transcoding_jbig);

        let v1 = T38Params {
            version: 1,
            ..T38Params::default()
        };
        let newer = T38Params {
            version: 3,
            udp_ec: Some(UdpEc::Fec),
            ..T38Params::default()
        };
        assert_eq!(T38Params::answer_to(&v1, &newer).version, 1);
        assert_eq!(
            T38Params::answer_to(&v1, &newer).udp_ec,
            Some(UdpEc::Redundancy)
        );
        let no_ec = T38Params {
            udp_ec: Some(UdpEc::None),
            ..T38Params::default()
        };
        assert_eq!(
            T38Params::answer_to(&no_ec, &newer).udp_ec,
            Some(UdpEc::None)
        );
        let silent = T38Params::from_attributes(&[]).unwrap();
        let a = T38Params::answer_to(&silent, &local);
        assert_eq!(a.udp_ec, None);
        assert_eq!(a.rate_management, Some(RateManagement::TransferredTcf));
        assert_eq!(a.max_bit_rate, Some(14400));
    }
}
