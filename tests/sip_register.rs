//! faxbridge as the ATAs' registrar, over UDP loopback: real REGISTER
//! requests from a raw socket at the ATA's address (127.0.0.3) to the
//! endpoint (127.0.0.1), digest-challenged and answered as RFC 3261 §10
//! says; then a trunk call (127.0.0.2) to the port's number reaches the
//! fake ATA at the contact it registered, on a port that is not
//! `[bridge] ata_sip_port`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use faxbridge::ata::{BuildingConfig, Inventory, PortConfig, PortRole, SnmpOverride, UnitConfig};
use faxbridge::bridge::b2bua::{BridgeOutcome, BridgeSettings, bridge_call};
use faxbridge::bridge::{BridgeConfig, LineConfig};
use faxbridge::numbering::DialPlan;
use faxbridge::routing::Router;
use faxbridge::sip::digest::{DigestAlgorithm, DigestInput, compute_response};
use faxbridge::sip::registrar::{ExpiryPolicy, Registrar, RegistrarUnit};
use faxbridge::sip::{DialError, DialRequest, IncomingCall, SipConfig, SipEndpoint};
use faxbridge::store::Store;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const USER: &str = "ata1";
const PASSWORD: &str = "s3cret";

async fn endpoint(listen: &str, peers: &str) -> (SipEndpoint, mpsc::Receiver<IncomingCall>) {
    let text = format!("listen = \"{listen}\"\ntransports = [\"udp\"]\nrealm = \"fb\"\n{peers}\n");
    let cfg: SipConfig = toml::from_str(&text).unwrap();
    SipEndpoint::start(&cfg).await.expect("endpoint starts")
}

fn units() -> Vec<RegistrarUnit> {
    vec![RegistrarUnit {
        name: "ho".into(),
        address: "127.0.0.3".parse().unwrap(),
        users: vec!["2001".into()],
    }]
}

/// faxbridge: the ATAs' registrar, bridging calls for the port's number.
/// `ata_sip_port` is a port nothing listens on, so a call that reached the
/// ATA went to its registered contact.
async fn faxbridge(
    trunk: SocketAddr,
    store: Store,
) -> (Arc<SipEndpoint>, mpsc::UnboundedReceiver<BridgeOutcome>) {
    let peers = format!(
        "[[peers]]\nname = \"trunk\"\naddresses = [\"{}\"]\n\
         [[peers]]\nname = \"atas\"\naddresses = [\"127.0.0.3\"]\n\
         account = {{ username = \"{USER}\", password = \"{PASSWORD}\" }}\n",
        trunk.ip()
    );
    let (ep, mut calls) = endpoint("127.0.0.1:0", &peers).await;
    let registrar = Registrar::open(units(), ExpiryPolicy::default(), Some(store))
        .await
        .unwrap();
    ep.set_registrar(Arc::new(registrar));
    let unused = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let ata_sip_port = unused.local_addr().unwrap().port();
    drop(unused);
    {
        let units = [UnitConfig {
            name: "ho".into(),
            address: "127.0.0.3".parse().unwrap(),
            model: "Mediatrix 4102".into(),
            building: "HO".into(),
            firmware: None,
            snmp: SnmpOverride::default(),
        }];
        let ports = [PortConfig {
            unit: "ho".into(),
            number: 1,
            line: None,
            sip_user: "2001".into(),
            role: PortRole::Phone,
            owner: String::new(),
            takes_payments: false,
            hot_dial: None,
            warm_dial: None,
        }];
        let buildings = [BuildingConfig {
            name: "HO".into(),
            subnets: vec!["127.0.0.0/24".into()],
            emergency_cli: "+441632960001".into(),
        }];
        let inventory = Inventory::new(&units, &ports, &buildings);
        let dialplan = DialPlan::default();
        let bridge = BridgeConfig {
            lines: vec![LineConfig {
                unit: "ho".into(),
                port: 1,
                number: "+441632960201".into(),
                cli: None,
            }],
            ata_sip_port,
            ..BridgeConfig::default()
        };
        let trunk_uri = format!("sip:{{number}}@{trunk}");
        ep.set_router(Arc::new(Router::new(
            inventory,
            dialplan,
            bridge,
            &[],
            None,
            &trunk_uri,
            &[],
        )));
    }
    let ep = Arc::new(ep);
    let (tx, rx) = mpsc::unbounded_channel();
    let bridge_ep = ep.clone();
    tokio::spawn(async move {
        let settings = BridgeSettings::new("127.0.0.1".parse().unwrap());
        while let Some(call) = calls.recv().await {
            let _ = tx.send(bridge_call(&bridge_ep, &settings, call).await);
        }
    });
    (ep, rx)
}

/// A SIP response as read off the wire.
struct Reply {
    status: u16,
    text: String,
}

impl Reply {
    fn headers(&self, name: &str) -> Vec<String> {
        self.text
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    fn param(&self, header: &str, key: &str) -> String {
        let v = self.headers(header).remove(0);
        let at = v.find(&format!("{key}=\"")).expect(key) + key.len() + 2;
        v[at..].split('"').next().unwrap().to_string()
    }
}

/// The ATA's REGISTER client: one raw UDP socket at the unit's address.
struct Ata {
    socket: UdpSocket,
    server: SocketAddr,
    cseq: u32,
}

impl Ata {
    async fn new(ip: &str, server: SocketAddr) -> Ata {
        Ata {
            socket: UdpSocket::bind(format!("{ip}:0")).await.unwrap(),
            server,
            cseq: 0,
        }
    }

    /// Sends one REGISTER for `user` and returns the final response.
    async fn register(&mut self, user: &str, extra: &[String], challenge: Option<&Reply>) -> Reply {
        self.cseq += 1;
        let local = self.socket.local_addr().unwrap();
        let uri = format!("sip:{}", self.server);
        let mut msg = format!(
            "REGISTER {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-reg-{cseq}-{user}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{server}>;tag=ata-{user}\r\n\
             To: <sip:{user}@{server}>\r\n\
             Call-ID: reg-{user}@{ip}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: Mediatrix 4102\r\n",
            cseq = self.cseq,
            server = self.server,
            ip = local.ip(),
        );
        for h in extra {
            msg.push_str(h);
            msg.push_str("\r\n");
        }
        if let Some(c) = challenge {
            let realm = c.param("WWW-Authenticate", "realm");
            let nonce = c.param("WWW-Authenticate", "nonce");
            let response = compute_response(&DigestInput {
                algorithm: DigestAlgorithm::Md5,
                username: USER,
                realm: &realm,
                password: PASSWORD,
                method: "REGISTER",
                uri: &uri,
                nonce: &nonce,
                qop_auth: Some(("00000001", "0a4f113b")),
            });
            msg.push_str(&format!(
                "Authorization: Digest username=\"{USER}\", realm=\"{realm}\", nonce=\"{nonce}\", \
                 uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, \
                 nc=00000001, cnonce=\"0a4f113b\"\r\n"
            ));
        }
        msg.push_str("Content-Length: 0\r\n\r\n");
        self.socket
            .send_to(msg.as_bytes(), self.server)
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, _) = timeout(WAIT, self.socket.recv_from(&mut buf))
                .await
                .expect("a response to REGISTER")
                .unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status: u16 = text
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap();
            if status >= 200 {
                return Reply { status, text };
            }
        }
    }

    /// REGISTER, answer the 401 challenge, and return the final response.
    async fn register_authenticated(&mut self, user: &str, extra: &[String]) -> Reply {
        let challenge = self.register(user, extra, None).await;
        assert_eq!(challenge.status, 401, "{}", challenge.text);
        self.register(user, extra, Some(&challenge)).await
    }
}

#[tokio::test]
async fn a_port_registers_with_digest_and_calls_reach_its_contact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_spool(dir.path()).await.unwrap();
    let loopback = "[[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n\
                    [routing]\ndefault_route = \"in\"\n";
    let (trunk, _trunk_calls) = endpoint("127.0.0.2:0", loopback).await;
    let (ata, mut ata_calls) = endpoint("127.0.0.3:0", loopback).await;
    let ata_sip = ata.udp_addr().unwrap();
    assert_ne!(ata_sip.port(), 5060);
    let (fb, mut outcomes) = faxbridge(trunk.udp_addr().unwrap(), store.clone()).await;
    let server = fb.udp_addr().unwrap();
    let mut port = Ata::new("127.0.0.3", server).await;
    let contact = format!("sip:2001@{ata_sip}");

    // Unauthenticated: 401 with a digest challenge.
    let first = port
        .register(
            "2001",
            &[format!("Contact: <{contact}>"), "Expires: 600".into()],
            None,
        )
        .await;
    assert_eq!(first.status, 401);
    assert!(first.headers("WWW-Authenticate")[0].starts_with("Digest "));
    assert_eq!(fb.registered_contact("ho", "2001").await, None);
    // With credentials: 200 with the binding and its lifetime.
    let ok = port
        .register(
            "2001",
            &[format!("Contact: <{contact}>"), "Expires: 600".into()],
            Some(&first),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.headers("Contact"), [format!("<{contact}>;expires=600")]);
    assert_eq!(
        fb.registered_contact("ho", "2001").await.as_deref(),
        Some(contact.as_str())
    );

    // Too brief: 423 with Min-Expires, and the binding stays.
    let brief = port
        .register_authenticated("2001", &[format!("Contact: <{contact}>;expires=10")])
        .await;
    assert_eq!(brief.status, 423, "{}", brief.text);
    assert_eq!(brief.headers("Min-Expires"), ["60"]);

    // A user that is no port of this unit, and a source that is no unit.
    let stranger = port
        .register_authenticated("2999", &[format!("Contact: <sip:2999@{ata_sip}>")])
        .await;
    assert_eq!(stranger.status, 403);
    let mut outsider = Ata::new("127.0.0.9", server).await;
    let refused = outsider
        .register("2001", &["Contact: <sip:2001@127.0.0.9:5062>".into()], None)
        .await;
    assert_eq!(refused.status, 403);

    // The binding is in the database: a restarted registrar has it.
    let restarted = Registrar::open(units(), ExpiryPolicy::default(), Some(store.clone()))
        .await
        .unwrap();
    assert_eq!(
        restarted.contact_for("ho", "2001").await.as_deref(),
        Some(contact.as_str())
    );

    // A trunk call to the port's number rings the ATA at its contact.
    let dialing = trunk
        .dial(DialRequest {
            target: format!("sip:01632960201@{server}"),
            from_user: "+441223123456".into(),
            offer: b"v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40100 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n".to_vec(),
            account: None,
        })
        .await
        .unwrap();
    let incoming = timeout(WAIT, ata_calls.recv()).await.unwrap().unwrap();
    assert_eq!(incoming.did.as_deref(), Some("2001"));
    assert_eq!(incoming.source.ip(), server.ip());
    incoming.reject(486);
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {other:?}"),
    }
    assert!(matches!(
        timeout(WAIT, outcomes.recv()).await.unwrap().unwrap(),
        BridgeOutcome::Refused { status: 486 }
    ));

    // Expires: 0 unregisters; the 200 lists no contact.
    let gone = port
        .register_authenticated(
            "2001",
            &[format!("Contact: <{contact}>"), "Expires: 0".into()],
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert!(gone.headers("Contact").is_empty());
    assert_eq!(fb.registered_contact("ho", "2001").await, None);

    // `*` with Expires: 0 after a new registration removes everything.
    let again = port
        .register_authenticated("2001", &[format!("Contact: <{contact}>")])
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.headers("Contact"),
        [format!("<{contact}>;expires=3600")]
    );
    let star = port
        .register_authenticated("2001", &["Contact: *".into(), "Expires: 0".into()])
        .await;
    assert_eq!(star.status, 200, "{}", star.text);
    assert_eq!(fb.registered_contact("ho", "2001").await, None);
    let restarted = Registrar::open(units(), ExpiryPolicy::default(), Some(store))
        .await
        .unwrap();
    assert!(restarted.bindings().await.is_empty());
}
