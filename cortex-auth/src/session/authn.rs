//! The `session` authenticator, the [`Session`] and [`CsrfToken`] extractors, and the CSRF checks.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::FromRequestParts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cortex_core::config::Profile;
use cortex_core::http::HttpError;
use cortex_core::openapi::GuardDoc;
use http::header::{COOKIE, HOST, ORIGIN, REFERER, SET_COOKIE};
use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::cookie::{ID_LEN, Keys, random};
use super::store::{ErasedSessionStore, SessionRecord, SessionStore, SessionUser};
use super::{CSRF_HEADER, SameSite, SessionConfig};
use crate::authn::Authenticator;
use crate::error::{AuthError, AuthFailure};
use crate::user::{AuthMethod, CurrentUser};

/// `last_seen_at` is written at most this often (seconds).
const TOUCH_EVERY: u64 = 60;

/// The time sessions are judged by: the system clock, or one a test moves by hand.
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::SessionClock;
///
/// let clock = SessionClock::manual(1_700_000_000);
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), 1_700_000_090);
/// assert!(SessionClock::system().now() > 1_700_000_000);
/// ```
#[derive(Clone, Default)]
pub struct SessionClock(Option<Arc<AtomicU64>>);

impl SessionClock {
    /// The system clock.
    pub fn system() -> SessionClock {
        SessionClock(None)
    }

    /// A clock that stays at `start` (Unix seconds) until [`advance`](Self::advance)d.
    pub fn manual(start: u64) -> SessionClock {
        SessionClock(Some(Arc::new(AtomicU64::new(start))))
    }

    /// Moves a manual clock forward (a system clock ignores it).
    pub fn advance(&self, by: Duration) {
        if let Some(now) = &self.0 {
            now.fetch_add(by.as_secs(), Ordering::SeqCst);
        }
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> u64 {
        match &self.0 {
            Some(now) => now.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

impl fmt::Debug for SessionClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => write!(f, "SessionClock::manual({})", self.now()),
            None => f.write_str("SessionClock::system()"),
        }
    }
}

/// One request's session, shared by the authenticator (in its state) and the handler (in the
/// request's extensions).
#[derive(Clone)]
struct Handle(Arc<Mutex<State>>);

impl Handle {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct State {
    /// The id the cookie carried (None: a new session, not stored yet).
    id: Option<[u8; ID_LEN]>,
    record: SessionRecord,
    now: u64,
    /// The record must be saved.
    changed: bool,
    /// `login`: a new id; the old one is deleted.
    rotate: bool,
    /// `logout`: deleted, the cookie cleared.
    destroyed: bool,
    /// The cookie was opened with an older key: sealed again under the first.
    reseal: bool,
    /// The presented cookie was refused: cleared unless a new session replaces it.
    clear_cookie: bool,
    /// The request failed the CSRF checks: the extractors refuse it.
    csrf_refused: bool,
    /// `logout_everywhere`: every session of this user deleted, this one too.
    everywhere: Option<String>,
    /// The most bytes of JSON the values may take.
    max_values: usize,
}

/// What `finish` stores.
struct Save {
    id: [u8; ID_LEN],
    record: SessionRecord,
    /// Not stored yet (`save`), rather than stored and maybe revoked since (`update`).
    new: bool,
    set_cookie: bool,
    now: u64,
}

/// Hashes a session id to its store key (SHA-256, hex).
fn store_key(id: &[u8; ID_LEN]) -> String {
    let digest = Sha256::digest(id);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

fn new_token() -> Result<String, getrandom::Error> {
    Ok(URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// The `session` authenticator: reads the session cookie, loads the session, applies the idle
/// and absolute timeouts and, on unsafe methods, the CSRF checks; after the handler, saves the
/// session and sets (or clears) the cookie.
///
/// The [`AuthPlugin`](struct@crate::AuthPlugin) makes one from `[auth.sessions]`; make one yourself to
/// choose the store or the clock:
///
/// ```
/// use cortex_auth::{MemorySessionStore, SessionAuthenticator, SessionClock, SessionConfig};
/// use cortex_core::config::Profile;
///
/// let sessions = SessionAuthenticator::new(&SessionConfig::default(), &Profile::TEST, MemorySessionStore::new())?
///     .with_clock(SessionClock::manual(1_700_000_000));
/// assert_eq!(sessions.cookie_name(), "__Host-session");
/// # Ok::<(), cortex_auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct SessionAuthenticator {
    keys: Keys,
    store: Arc<dyn ErasedSessionStore>,
    clock: SessionClock,
    cookie: String,
    secure: bool,
    same_site: SameSite,
    idle: u64,
    absolute: u64,
    trusted_origins: Vec<String>,
    max_values: usize,
}

impl fmt::Debug for SessionAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionAuthenticator")
            .field("cookie", &self.cookie)
            .field("secure", &self.secure)
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SessionAuthenticator {
    /// An authenticator configured by `config` in `profile`, keeping sessions in `store`.
    ///
    /// # Errors
    /// [`AuthError::Config`] naming the key: missing `secret_keys` outside `dev`/`test`, a key
    /// that is not 32 bytes of base64, `same_site = "none"` without `secure`, a `__Host-` cookie
    /// name without `secure`.
    pub fn new(
        config: &SessionConfig,
        profile: &Profile,
        store: impl SessionStore,
    ) -> Result<Self, AuthError> {
        let keys = Keys::from_config(config, profile)?;
        let secure = config.is_secure(profile);
        let cookie = config.cookie_name(profile);
        if !secure && config.same_site == SameSite::None {
            return Err(AuthError::Config {
                key: "auth.sessions.same_site".into(),
                reason: "is `none`, which browsers accept only on a `Secure` cookie; hint: set `auth.sessions.secure = true` or `same_site = \"lax\"`".into(),
            });
        }
        if !secure && cookie.starts_with("__Host-") {
            return Err(AuthError::Config {
                key: "auth.sessions.cookie".into(),
                reason: format!(
                    "`{cookie}` has the `__Host-` prefix, which browsers accept only on a `Secure` cookie; hint: set `auth.sessions.secure = true` or rename it"
                ),
            });
        }
        if cookie.is_empty()
            || !cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(AuthError::Config {
                key: "auth.sessions.cookie".into(),
                reason: format!(
                    "`{cookie}` is not a cookie name; hint: letters, digits, `-`, `_` and `.`"
                ),
            });
        }
        Ok(SessionAuthenticator {
            keys,
            store: Arc::new(store),
            clock: SessionClock::system(),
            cookie,
            secure,
            same_site: config.same_site,
            idle: config.idle_timeout.as_secs().max(1),
            absolute: config.absolute_timeout.as_secs().max(1),
            trusted_origins: config
                .trusted_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            max_values: usize::try_from(config.max_values_size).unwrap_or(usize::MAX),
        })
    }

    /// The same, judging time by `clock` (tests). The one the [`AuthPlugin`](struct@crate::AuthPlugin)
    /// builds takes the [`SessionClock`] bound in the container, if there is one.
    pub fn with_clock(mut self, clock: SessionClock) -> Self {
        self.clock = clock;
        self
    }

    /// The service that revokes sessions outside a request (see [`Sessions`]).
    ///
    /// ```
    /// use cortex_auth::{MemorySessionStore, SessionAuthenticator, SessionConfig};
    /// use cortex_core::config::Profile;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let authenticator = SessionAuthenticator::new(&SessionConfig::default(), &Profile::TEST, MemorySessionStore::new())?;
    /// assert_eq!(authenticator.sessions().revoke_user("42").await?, 0);
    /// # Ok(()) }
    /// ```
    pub fn sessions(&self) -> Sessions {
        Sessions {
            store: self.store.clone(),
        }
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie
    }

    fn cookie_value<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value)
    }

    /// Opens, loads and checks the session the cookie names.
    async fn load(
        &self,
        value: &str,
        now: u64,
    ) -> Result<([u8; ID_LEN], usize, SessionRecord), AuthFailure> {
        let (id, key_index) = self.keys.open(&self.cookie, value)?;
        let key = store_key(&id);
        let record = self
            .store
            .load_boxed(&key)
            .await
            .map_err(AuthFailure::Store)?
            .ok_or(AuthFailure::Unknown)?;
        let expired = now >= record.created_at.saturating_add(self.absolute)
            || now >= record.last_seen_at.saturating_add(self.idle);
        if expired {
            if let Err(error) = self.store.delete_boxed(&key).await {
                tracing::warn!(target: "cortex::auth", error = %error, "an expired session could not be deleted");
            }
            return Err(AuthFailure::Expired);
        }
        Ok((id, key_index, record))
    }

    /// The CSRF checks of an unsafe request the session cookie authenticates.
    fn check_csrf(&self, request: &Parts, record: &SessionRecord) -> Result<(), AuthFailure> {
        let headers = &request.headers;
        match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
            Some(b"cross-site") => return Err(AuthFailure::Csrf("Sec-Fetch-Site is cross-site")),
            Some(_) => {}
            None => {
                let source = headers
                    .get(ORIGIN)
                    .map(|origin| (origin, "Origin"))
                    .or_else(|| headers.get(REFERER).map(|referer| (referer, "Referer")));
                if let Some((value, header)) = source
                    && !self.is_allowed_origin(request, value)
                {
                    return Err(AuthFailure::Csrf(if header == "Origin" {
                        "the Origin is another site"
                    } else {
                        "the Referer is another site"
                    }));
                }
            }
        }
        let Some(token) = headers.get(CSRF_HEADER) else {
            return Err(AuthFailure::Csrf("the x-csrf-token header is missing"));
        };
        let expected = record.csrf.as_bytes();
        if expected.is_empty() || !bool::from(token.as_bytes().ct_eq(expected)) {
            return Err(AuthFailure::Csrf("the x-csrf-token header is wrong"));
        }
        Ok(())
    }

    /// Whether an `Origin` (or a `Referer`'s origin) is the app's own or a trusted one.
    fn is_allowed_origin(&self, request: &Parts, value: &HeaderValue) -> bool {
        let Ok(value) = value.to_str() else {
            return false;
        };
        let Some((scheme, rest)) = value.split_once("://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let origin = format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        );
        if self.trusted_origins.contains(&origin) {
            return true;
        }
        let host = request
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri.authority().map(|a| a.as_str()));
        let scheme_ok = scheme.eq_ignore_ascii_case("https")
            || (!self.secure && scheme.eq_ignore_ascii_case("http"));
        scheme_ok && host.is_some_and(|host| host.eq_ignore_ascii_case(authority))
    }

    fn set_cookie(&self, response: &mut Response<Body>, value: &str, max_age: u64) {
        let mut cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite={}; Max-Age={max_age}",
            self.cookie,
            self.same_site.as_str()
        );
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Ok(header) = HeaderValue::try_from(cookie) {
            response.headers_mut().append(SET_COOKIE, header);
        }
    }

    fn fail_response(response: &mut Response<Body>, error: &dyn fmt::Display) {
        tracing::error!(target: "cortex::auth", error = %error, "the session could not be saved");
        *response = axum::response::IntoResponse::into_response(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the session could not be saved",
        ));
    }
}

impl Authenticator for SessionAuthenticator {
    fn name(&self) -> &'static str {
        "session"
    }

    async fn authenticate(
        &self,
        request: &mut Parts,
        state: &mut Extensions,
    ) -> Result<Option<CurrentUser>, AuthFailure> {
        let now = self.clock.now();
        let handle = Handle(Arc::new(Mutex::new(State {
            id: None,
            record: SessionRecord::new(now),
            now,
            changed: false,
            rotate: false,
            destroyed: false,
            reseal: false,
            clear_cookie: false,
            csrf_refused: false,
            everywhere: None,
            max_values: self.max_values,
        })));
        request.extensions.insert(handle.clone());
        state.insert(handle.clone());
        let Some(value) = self.cookie_value(&request.headers) else {
            return Ok(None);
        };
        let (id, key_index, record) = match self.load(value, now).await {
            Ok(loaded) => loaded,
            Err(failure) => {
                if let AuthFailure::Store(error) = &failure {
                    tracing::error!(target: "cortex::auth", authenticator = "session", code = "store", error = %error, "the session store failed");
                } else {
                    tracing::info!(target: "cortex::auth", authenticator = "session", code = failure.code(), reason = %failure, "session cookie refused");
                    handle.lock().clear_cookie = true;
                }
                return Err(failure);
            }
        };
        let unsafe_method = !matches!(
            request.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
        if record.user.is_some()
            && unsafe_method
            && let Err(failure) = self.check_csrf(request, &record)
        {
            tracing::warn!(target: "cortex::auth", authenticator = "session", code = failure.code(), reason = %failure, method = %request.method, path = request.uri.path(), "cross-site request refused (csrf)");
            handle.lock().csrf_refused = true;
            return Err(failure);
        }
        let user = record.user.as_ref().map(|user| {
            CurrentUser::builder(user.id.clone())
                .roles(user.roles.iter().cloned())
                .permissions(user.permissions.iter().cloned())
                .method(AuthMethod::Session)
                .credential_id(store_key(&id)[..16].to_string())
                .build()
        });
        let mut session = handle.lock();
        session.changed = now >= record.last_seen_at.saturating_add(TOUCH_EVERY);
        session.reseal = key_index > 0;
        session.id = Some(id);
        session.record = record;
        session.record.last_seen_at = if session.changed {
            now
        } else {
            session.record.last_seen_at
        };
        Ok(user)
    }

    async fn finish(&self, state: &mut Extensions, response: &mut Response<Body>) {
        let Some(handle) = state.remove::<Handle>() else {
            return;
        };
        // Decided under the lock, done without it.
        let (old, save, clear, everywhere) = {
            let mut session = handle.lock();
            if session.destroyed {
                let everywhere = session.everywhere.take();
                (session.id.take(), None, true, everywhere)
            } else {
                let old = if session.rotate {
                    session.id.take()
                } else {
                    None
                };
                let new_id = session.id.is_none();
                if session.changed || session.rotate || session.reseal {
                    let id = match session.id {
                        Some(id) => Ok(id),
                        None => random::<ID_LEN>(),
                    };
                    let csrf = if session.record.csrf.is_empty() {
                        new_token().map(Some)
                    } else {
                        Ok(None)
                    };
                    match (id, csrf) {
                        (Ok(id), Ok(csrf)) => {
                            if let Some(csrf) = csrf {
                                session.record.csrf = csrf;
                            }
                            session.id = Some(id);
                            (
                                old,
                                Some(Save {
                                    id,
                                    record: session.record.clone(),
                                    new: new_id,
                                    set_cookie: new_id || session.reseal,
                                    now: session.now,
                                }),
                                false,
                                session.everywhere.take(),
                            )
                        }
                        (Err(error), _) | (_, Err(error)) => {
                            drop(session);
                            Self::fail_response(response, &error);
                            return;
                        }
                    }
                } else {
                    (old, None, session.clear_cookie, session.everywhere.take())
                }
            }
        };
        if let Some(user) = everywhere {
            match self.store.delete_user_boxed(&user).await {
                Ok(count) => {
                    tracing::info!(target: "cortex::auth", authenticator = "session", user = user.as_str(), sessions = count, "logged out everywhere: every session of the user revoked")
                }
                Err(error) => {
                    Self::fail_response(response, &error);
                    return;
                }
            }
        }
        if let Some(old) = old
            && let Err(error) = self.store.delete_boxed(&store_key(&old)).await
        {
            Self::fail_response(response, &error);
            return;
        }
        if clear {
            self.set_cookie(response, "", 0);
        }
        let Some(Save {
            id,
            record,
            new,
            set_cookie,
            now,
        }) = save
        else {
            return;
        };
        let absolute_left = record
            .created_at
            .saturating_add(self.absolute)
            .saturating_sub(now);
        let ttl = Duration::from_secs(absolute_left.min(self.idle).max(1));
        let key = store_key(&id);
        let saved = if new {
            self.store
                .save_boxed(&key, &record, ttl)
                .await
                .map(|()| true)
        } else {
            self.store.update_boxed(&key, &record, ttl).await
        };
        match saved {
            Ok(true) => {}
            Ok(false) => {
                // Logged out or revoked by another request while this one ran: not brought back.
                tracing::info!(target: "cortex::auth", authenticator = "session", code = "revoked", "the session was revoked while the request ran: not saved");
                self.set_cookie(response, "", 0);
                return;
            }
            Err(error) => {
                Self::fail_response(response, &error);
                return;
            }
        }
        if set_cookie {
            match self.keys.seal(&self.cookie, &id) {
                Ok(value) => self.set_cookie(response, &value, absolute_left.max(1)),
                Err(error) => Self::fail_response(response, &error),
            }
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        doc.security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                self.cookie.clone(),
                "The session cookie set at login; unsafe methods also need the `x-csrf-token` header"
                    .to_string(),
            ))),
        );
    }
}

/// The request's session, for handlers: log a user in or out, read and write the app's values,
/// get the CSRF token.
///
/// What a handler does is applied once it has answered: the session is saved and the cookie set
/// (or cleared). Every request has one when `[auth.sessions]` is enabled — a new one (not stored
/// until something is written) when no valid cookie came. Extracting it answers `403` when the
/// request failed the CSRF checks and `500` when sessions are not enabled.
///
/// ```
/// use cortex_auth::{CurrentUser, Session};
///
/// async fn login(session: Session) -> &'static str {
///     // … the password checked …
///     session.login(&CurrentUser::builder("42").roles(["editor"]).build());
///     session.insert("theme", "dark").expect("a string serializes");
///     "welcome"
/// }
///
/// async fn logout(session: Session) -> &'static str {
///     session.logout();
///     "bye"
/// }
///
/// async fn change_password(session: Session) -> &'static str {
///     // … the new password stored …
///     session.logout_everywhere(); // every device logs in again
///     "changed"
/// }
/// ```
#[derive(Clone)]
pub struct Session(Handle);

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.0.lock();
        f.debug_struct("Session")
            .field("user", &state.record.user.as_ref().map(|u| u.id.clone()))
            .field("new", &state.id.is_none())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Logs `user` in: the session gets a **new id** (the old one is deleted, so that an id an
    /// attacker planted before login is worth nothing after it), a new CSRF token, and the
    /// absolute timeout starts again. The user's id, roles and permissions are kept as they are
    /// now.
    pub fn login(&self, user: &CurrentUser) {
        let mut state = self.0.lock();
        state.record.user = Some(SessionUser {
            id: user.id().to_string(),
            roles: user.roles().map(str::to_string).collect(),
            permissions: user.permissions().map(str::to_string).collect(),
        });
        state.record.created_at = state.now;
        state.record.last_seen_at = state.now;
        state.record.csrf.clear();
        state.rotate = true;
        state.changed = true;
        state.destroyed = false;
    }

    /// Logs out: the session is deleted from the store and the cookie cleared, so that a copy of
    /// the cookie is refused from now on.
    pub fn logout(&self) {
        let mut state = self.0.lock();
        state.destroyed = true;
        state.record = SessionRecord::new(state.now);
    }

    /// Logs the user out of **every** session (every browser, every device), this one included:
    /// what to do after a password change or when an account may be compromised. Applied once
    /// the handler has answered: the store deletes every session of the user (see
    /// [`Sessions::revoke_user`] to do it outside a request), and this request's cookie is
    /// cleared. Without a logged-in user, the same as [`logout`](Self::logout). A
    /// [`login`](Self::login) after it in the same request (to keep this device signed in) makes
    /// a new session, which is kept: only the others end.
    pub fn logout_everywhere(&self) {
        let mut state = self.0.lock();
        state.destroyed = true;
        state.everywhere = state.record.user.take().map(|user| user.id);
        state.record = SessionRecord::new(state.now);
    }

    /// The logged-in user, as at login.
    pub fn user(&self) -> Option<SessionUser> {
        self.0.lock().record.user.clone()
    }

    /// Whether the session is new (no valid cookie came with the request).
    pub fn is_new(&self) -> bool {
        self.0.lock().id.is_none()
    }

    /// The value under `key`, if there is one of type `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let state = self.0.lock();
        let value = state.record.values.get(key)?.clone();
        serde_json::from_value(value).ok()
    }

    /// Stores `value` under `key`. The values are kept small — the whole map is written on each
    /// change and read on each request — by `[auth.sessions] max_values_size` (4 KiB of JSON by
    /// default): keep ids in the session and the data in the database.
    ///
    /// # Errors
    /// [`SessionError::Serialize`] when `value` does not serialize to JSON,
    /// [`SessionError::TooLarge`] when the values would go over the limit (the session is left
    /// as it was).
    pub fn insert(
        &self,
        key: impl Into<String>,
        value: impl Serialize,
    ) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        let key = key.into();
        let mut state = self.0.lock();
        let previous = state.record.values.insert(key.clone(), value);
        let size = serde_json::to_vec(&state.record.values).map_or(usize::MAX, |json| json.len());
        if size > state.max_values {
            match previous {
                Some(previous) => state.record.values.insert(key, previous),
                None => state.record.values.remove(&key),
            };
            return Err(SessionError::TooLarge {
                size,
                limit: state.max_values,
            });
        }
        state.changed = true;
        Ok(())
    }

    /// Removes the value under `key`, returning it.
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut state = self.0.lock();
        let removed = state.record.values.remove(key);
        state.changed |= removed.is_some();
        removed
    }

    /// The session's CSRF token, made (and the session stored) if it has none yet: put it in
    /// pages and have scripts send it as the `x-csrf-token` header.
    ///
    /// # Errors
    /// `500` when the OS gives no random bytes.
    pub fn csrf_token(&self) -> Result<String, HttpError> {
        let mut state = self.0.lock();
        if state.record.csrf.is_empty() {
            state.record.csrf = new_token().map_err(|e| {
                tracing::error!(target: "cortex::auth", error = %e, "no random bytes for a CSRF token");
                HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "the CSRF token could not be made")
            })?;
            state.changed = true;
        }
        Ok(state.record.csrf.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(handle) = parts.extensions.get::<Handle>() else {
            return Err(HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "sessions are not enabled; hint: `[auth.sessions] enabled = true`",
            ));
        };
        if handle.lock().csrf_refused {
            return Err(HttpError::forbidden("the request failed the CSRF checks"));
        }
        Ok(Session(handle.clone()))
    }
}

/// Why [`Session::insert`] refused a value.
///
/// A handler may return it with `?`: it answers `500` (the app's mistake, not the client's), the
/// reason logged.
///
/// ```
/// use cortex_auth::SessionError;
/// let error = SessionError::TooLarge { size: 5000, limit: 4096 };
/// assert!(error.to_string().contains("5000 bytes"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The value does not serialize to JSON.
    #[error("the session value does not serialize to JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The values would take more JSON than `[auth.sessions] max_values_size` allows.
    #[error(
        "the session's values would take {size} bytes of JSON, over the limit of {limit}; hint: keep ids in the session and the data in the database, or raise `auth.sessions.max_values_size`"
    )]
    TooLarge {
        /// The values' size with the new value (bytes of JSON).
        size: usize,
        /// `max_values_size`.
        limit: usize,
    },
}

impl From<SessionError> for HttpError {
    fn from(error: SessionError) -> Self {
        tracing::error!(target: "cortex::auth", error = %error, "a session value was refused");
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session could not be updated",
        )
    }
}

/// Revokes sessions outside a request: every session of a user after a password change, an
/// account lock or a suspected compromise (in a request, [`Session::logout_everywhere`] does it
/// for the logged-in user). The [`AuthPlugin`](struct@crate::AuthPlugin) binds it when
/// `[auth.sessions]` is enabled; it works on every store (memory, database, Redis, the app's own
/// through [`SessionStore::delete_user`]).
///
/// ```
/// use cortex_auth::{AuthPlugin, Sessions};
/// use cortex_core::App;
/// use cortex_core::config::Config;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::from_toml("[auth.sessions]\nenabled = true")?;
/// let app = App::with_config(config).plugin(AuthPlugin).build().await?;
/// let sessions = app.container().get::<Sessions>()?;
/// // After the user `42` changed their password:
/// let revoked = sessions.revoke_user("42").await?;
/// assert_eq!(revoked, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn ErasedSessionStore>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// Deletes every session of the user `user_id` (a request still running with one of them
    /// does not bring it back), returning how many were live. Logged on target `cortex::auth`.
    ///
    /// # Errors
    /// [`AuthError::Store`] when the store fails.
    pub async fn revoke_user(&self, user_id: &str) -> Result<u64, AuthError> {
        let count = self
            .store
            .delete_user_boxed(user_id)
            .await
            .map_err(|error| AuthError::store("sessions", error))?;
        tracing::info!(target: "cortex::auth", user = user_id, sessions = count, "every session of the user revoked");
        Ok(count)
    }
}

/// The session's CSRF token, as a handler argument: what a page or a `GET /auth/csrf` endpoint
/// hands to the client, which sends it back in the `x-csrf-token` header of its unsafe requests.
///
/// ```
/// use cortex_auth::CsrfToken;
///
/// async fn csrf(token: CsrfToken) -> String {
///     token.as_str().to_string()
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(********)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        Ok(CsrfToken(session.csrf_token()?))
    }
}
