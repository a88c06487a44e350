//! Who may read the dashboard: the operations token as a bearer token (scripts), or a session
//! cookie set by the sign-in form (browsers, whose `EventSource` cannot send a header).
//!
//! The cookie holds a random session id, never the token; sessions live an hour, at most
//! [`MAX_SESSIONS`] at once (signing in past that ends the oldest session).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::response::Response;
use http::header::{AUTHORIZATION, COOKIE, HOST};
use http::{HeaderMap, HeaderValue};

use crate::access::{Access, AccessConfig};

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "cortex_dashboard";
/// How long a session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(3600);
/// How many sessions are kept at once.
pub(crate) const MAX_SESSIONS: usize = 256;

/// The dashboard's access check.
pub(crate) struct Gate {
    access: Access,
    /// Session id (hex) → when it expires.
    sessions: Mutex<HashMap<String, Instant>>,
}

impl Gate {
    pub(crate) fn new(config: &AccessConfig) -> Self {
        Gate {
            access: Access::new(config),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a token is needed at all.
    pub(crate) fn is_protected(&self) -> bool {
        self.access.is_protected()
    }

    /// `Ok` for a request with the bearer token or a live session cookie, else the 401.
    // The refusal is a whole response, built only when refusing.
    #[allow(clippy::result_large_err)]
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), Response> {
        if !self.is_protected() || self.has_session(headers) {
            return Ok(());
        }
        self.access.check(headers)
    }

    fn has_session(&self, headers: &HeaderMap) -> bool {
        let Some(id) = session_cookie(headers) else {
            return false;
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get(id) {
            Some(expires) if *expires > Instant::now() => true,
            Some(_) => {
                sessions.remove(id);
                false
            }
            None => false,
        }
    }

    /// Signs in with `token`: the `Set-Cookie` value of a new session, or `None` when the token
    /// is wrong (or none is configured, when there is nothing to sign in to).
    pub(crate) fn sign_in(&self, token: &str, headers: &HeaderMap, path: &str) -> Option<String> {
        let mut presented = HeaderMap::new();
        presented.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).ok()?,
        );
        if !self.is_protected() || self.access.check(&presented).is_err() {
            return None;
        }
        let id = new_session_id()?;
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, expires| *expires > now);
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), now + SESSION_TTL);
        let secure = if is_loopback_host(headers) {
            ""
        } else {
            "; Secure"
        };
        Some(format!(
            "{COOKIE_NAME}={id}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            SESSION_TTL.as_secs()
        ))
    }
}

/// The session id in the `Cookie` header, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME).then_some(value)
        })
}

/// 32 random bytes from the operating system, in hex.
fn new_session_id() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether the request was addressed to this machine (`localhost`, `127.0.0.1`, `[::1]`): the
/// one case where a cookie without `Secure` is acceptable over plain HTTP.
fn is_loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(token: Option<&str>) -> Gate {
        Gate::new(&AccessConfig {
            token: token.map(str::to_string),
        })
    }

    fn with(name: http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_session_cookie_opens_the_gate_and_a_made_up_one_does_not() {
        let gate = gate(Some("t0ken-t0ken"));
        assert!(gate.check(&HeaderMap::new()).is_err());
        assert!(
            gate.sign_in("wrong", &HeaderMap::new(), "/_cortex")
                .is_none()
        );
        let cookie = gate
            .sign_in("t0ken-t0ken", &with(HOST, "ops.example.com"), "/_cortex")
            .unwrap();
        assert!(
            cookie.ends_with("; HttpOnly; SameSite=Strict; Secure"),
            "{cookie}"
        );
        assert!(!cookie.contains("t0ken"), "{cookie}");
        let id = cookie
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("cortex_dashboard=")
            .unwrap();
        assert_eq!(id.len(), 64);
        let sent = with(COOKIE, &format!("theme=dark; {COOKIE_NAME}={id}"));
        assert!(gate.check(&sent).is_ok());
        let forged = with(COOKIE, &format!("{COOKIE_NAME}={}", "0".repeat(64)));
        assert!(gate.check(&forged).is_err());
        assert!(
            gate.check(&with(AUTHORIZATION, "Bearer t0ken-t0ken"))
                .is_ok()
        );
    }

    #[test]
    fn without_a_token_everything_passes_and_nobody_signs_in() {
        let gate = gate(None);
        assert!(gate.check(&HeaderMap::new()).is_ok());
        assert!(gate.sign_in("", &HeaderMap::new(), "/_cortex").is_none());
    }

    #[test]
    fn the_cookie_is_secure_unless_the_host_is_loopback() {
        for (host, loopback) in [
            ("localhost:3000", true),
            ("127.0.0.1:8080", true),
            ("[::1]:3000", true),
            ("example.com", false),
            ("10.0.0.5:3000", false),
        ] {
            assert_eq!(is_loopback_host(&with(HOST, host)), loopback, "{host}");
        }
        assert!(!is_loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn sessions_are_bounded() {
        let gate = gate(Some("t"));
        for _ in 0..(MAX_SESSIONS + 10) {
            gate.sign_in("t", &HeaderMap::new(), "/_cortex").unwrap();
        }
        assert_eq!(gate.sessions.lock().unwrap().len(), MAX_SESSIONS);
    }
}
