//! Who is on the other end: the client's address and whether it came over HTTPS, read from the
//! connection — or, when the connection comes from a trusted reverse proxy, from the
//! `X-Forwarded-For` and `X-Forwarded-Proto` headers it sets. Other peers' forwarding headers are
//! ignored (anyone can send them).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

/// The resolved client of one request (a request extension set by [`resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address; `None` when the server was started without connection info.
    pub ip: Option<IpAddr>,
    /// Served over HTTPS (told by a trusted proxy): cookies get the `Secure` flag.
    pub https: bool,
    /// The request came straight from the peer, with no forwarding header of any kind: a
    /// loopback peer is then really this machine, not a proxy in front of it.
    pub direct: bool,
}

impl ClientAddr {
    pub const UNKNOWN: ClientAddr = ClientAddr {
        ip: None,
        https: false,
        direct: false,
    };

    /// This machine itself, not through any proxy.
    pub fn is_local(&self) -> bool {
        self.direct && self.ip.is_some_and(|ip| ip.is_loopback())
    }

    /// The key to count this client under: IPv4 as is, IPv6 by its /64 (one subscriber's
    /// network, which one attacker holds whole).
    pub fn throttle_key(&self) -> Option<IpAddr> {
        self.ip.map(network_of)
    }
}

fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// One trusted proxy address or network (`10.0.0.5`, `10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    pub fn parse(s: &str) -> Result<Net, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("\"{s}\" is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("\"{s}\": the prefix length must be 0–{max}"))?,
            None => max,
        };
        Ok(Net { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The reverse proxies whose forwarding headers are believed (`trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Net>);

impl TrustedProxies {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        items
            .iter()
            .map(|s| s.as_ref())
            .filter(|s| !s.trim().is_empty())
            .map(Net::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request from `peer` carrying `headers`.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientAddr {
        const FORWARDING: [&str; 5] = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded"];
        let direct = !FORWARDING.iter().any(|h| headers.contains_key(*h));
        let Some(peer) = peer else { return ClientAddr::UNKNOWN };
        if !self.trusts(peer) {
            return ClientAddr {
                ip: Some(peer),
                https: false,
                direct,
            };
        }
        // X-Forwarded-For lists the hops, the client first; each trusted proxy appends the one it
        // heard from. Walking from the right, the first address not a trusted proxy is the client
        // (anything to its left the client itself may have written).
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
            .collect();
        let ip = hops
            .iter()
            .rev()
            .find(|h| !self.trusts(**h))
            .or(hops.first())
            .copied()
            .unwrap_or(peer);
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        ClientAddr {
            ip: Some(ip),
            https,
            direct,
        }
    }
}

/// Middleware: resolve the client once per request and keep it as an extension.
pub async fn resolve(State(proxies): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = proxies.client(peer, req.headers());
    req.extensions_mut().insert(client);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientAddr>().copied().unwrap_or_else(|| {
            // Without the middleware: the connection alone, trusting no header.
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            TrustedProxies::default().client(peer, &parts.headers)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn networks() {
        let n = Net::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.200.1.2".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(Net::parse("::ffff:127.0.0.1").is_ok());
        assert!(Net::parse("127.0.0.1").unwrap().contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(Net::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Net::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let fwd = headers(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")]);
        let c = none.client(ip("127.0.0.1"), &fwd);
        assert_eq!(c.ip, ip("127.0.0.1"));
        assert!(!c.https, "an untrusted peer cannot claim HTTPS");
        assert!(!c.is_local(), "a loopback peer that forwards is a proxy, not this machine");
        assert!(none.client(ip("127.0.0.1"), &HeaderMap::new()).is_local());
        assert!(!none.client(ip("192.0.2.1"), &HeaderMap::new()).is_local());
        assert_eq!(none.client(None, &fwd), ClientAddr::UNKNOWN);

        let proxy = TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8"]).unwrap();
        let c = proxy.client(ip("127.0.0.1"), &fwd);
        assert_eq!((c.ip, c.https, c.is_local()), (ip("203.0.113.9"), true, false));
        // The client wrote its own X-Forwarded-For; the proxies appended the real hops.
        let spoofed = headers(&[
            ("x-forwarded-for", "127.0.0.1, 198.51.100.7, 10.1.1.1"),
            ("x-forwarded-proto", "http"),
        ]);
        let c = proxy.client(ip("127.0.0.1"), &spoofed);
        assert_eq!((c.ip, c.https), (ip("198.51.100.7"), false));
        // A trusted proxy that says nothing: the proxy itself is the client.
        let c = proxy.client(ip("10.0.0.2"), &HeaderMap::new());
        assert_eq!((c.ip, c.https), (ip("10.0.0.2"), false));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        let a = ClientAddr {
            ip: ip("2001:db8:1:2:aaaa::1"),
            https: false,
            direct: true,
        };
        let b = ClientAddr {
            ip: ip("2001:db8:1:2:bbbb::9"),
            ..a
        };
        assert_eq!(a.throttle_key(), b.throttle_key());
        let mapped = ClientAddr {
            ip: ip("::ffff:192.0.2.1"),
            ..a
        };
        assert_eq!(mapped.throttle_key(), ip("192.0.2.1"));
    }
}
