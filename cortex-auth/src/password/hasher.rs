//! [`Passwords`]: argon2id hashing and verification, on tokio's blocking threads.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{self, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use cortex_core::config::Profile;
use cortex_di::{BoxError, OnStart};
use tokio::sync::OnceCell;

use super::config::PasswordConfig;
use crate::error::AuthError;

/// OWASP's argon2id recommendation (Password Storage Cheat Sheet): m = 19 MiB, t = 2, p = 1.
const OWASP_MEMORY_KIB: u32 = 19 * 1024;
const OWASP_ITERATIONS: u32 = 2;
const OWASP_PARALLELISM: u32 = 1;
/// The `test` profile's parameters: the cheapest argon2 accepts at p = 1 times eight.
const TEST_MEMORY_KIB: u32 = 64;
const TEST_ITERATIONS: u32 = 1;
/// Upper bounds that catch a unit mistake (bytes written where KiB are meant).
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_PARALLELISM: u32 = 255;
const MAX_ITERATIONS: u32 = 1024;
/// The salt, in bytes (argon2's recommendation: 16).
const SALT_LEN: usize = 16;

/// A password hash in the PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`):
/// what a users table stores.
///
/// ```
/// use cortex_auth::PasswordHash;
/// let stored = PasswordHash::from("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaA".to_string());
/// assert!(stored.as_str().starts_with("$argon2id$"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for PasswordHash {
    fn from(phc: String) -> Self {
        PasswordHash(phc)
    }
}

impl From<PasswordHash> for String {
    fn from(hash: PasswordHash) -> Self {
        hash.0
    }
}

impl AsRef<str> for PasswordHash {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shows the algorithm and parameters, not the salt and hash.
impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: Vec<&str> = self.0.split('$').take(4).collect();
        write!(f, "PasswordHash({}$…)", head.join("$"))
    }
}

/// What [`Passwords::verify`] found.
///
/// ```
/// use cortex_auth::Verified;
/// let verified = Verified::mismatch();
/// assert!(!verified.is_match());
/// assert!(verified.rehash().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The password matches the stored hash.
    pub matched: bool,
    /// The password matched, but the stored hash was made with other parameters or another
    /// algorithm (argon2i, argon2d, an older version): here is a new hash at the current
    /// parameters, for the caller to store in place of the old one.
    pub rehash: Option<PasswordHash>,
}

impl Verified {
    /// A mismatch.
    ///
    /// ```
    /// assert!(!cortex_auth::Verified::mismatch().matched);
    /// ```
    pub fn mismatch() -> Self {
        Verified {
            matched: false,
            rehash: None,
        }
    }

    /// Whether the password matched.
    ///
    /// ```
    /// assert!(!cortex_auth::Verified::mismatch().is_match());
    /// ```
    pub fn is_match(&self) -> bool {
        self.matched
    }

    /// The new hash to store, when the password matched a hash made with other parameters.
    ///
    /// ```
    /// assert!(cortex_auth::Verified::mismatch().rehash().is_none());
    /// ```
    pub fn rehash(&self) -> Option<&PasswordHash> {
        self.rehash.as_ref()
    }
}

/// Why a password could not be hashed or verified (a mismatch is not an error: it is
/// [`Verified::matched`] `false`). Inside [`AuthError::Passwords`].
///
/// ```
/// use cortex_auth::PasswordError;
/// let error = PasswordError::TooShort { min: 8, len: 3 };
/// assert_eq!(error.to_string(), "the password is too short: 3 characters, at least 8 are required");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Shorter than `[auth.passwords] min_length` (checked when hashing a new password).
    #[error("the password is too short: {len} characters, at least {min} are required")]
    TooShort {
        /// The minimum, in characters.
        min: usize,
        /// The password's length, in characters.
        len: usize,
    },
    /// Longer than `[auth.passwords] max_length` (checked before any hashing or verifying).
    #[error("the password is too long: {len} characters, at most {max} are accepted")]
    TooLong {
        /// The maximum, in characters.
        max: usize,
        /// The password's length, in characters.
        len: usize,
    },
    /// The stored hash is not a PHC string argon2 can read (truncated, edited, empty).
    #[error("the stored password hash is malformed: {0}")]
    MalformedHash(String),
    /// The stored hash names an algorithm other than argon2 (bcrypt, scrypt, …).
    #[error(
        "the stored password hash uses `{0}`, which is not supported (argon2id, argon2i and argon2d are)"
    )]
    UnsupportedAlgorithm(String),
    /// argon2 itself failed (out of memory, a blocking task that panicked).
    #[error("hashing failed: {0}")]
    Hashing(String),
}

impl From<PasswordError> for AuthError {
    fn from(error: PasswordError) -> Self {
        AuthError::Passwords(error)
    }
}

/// Password hashing with argon2id: the singleton the [`AuthPlugin`](struct@crate::AuthPlugin) binds from
/// `[auth.passwords]` ([`PasswordConfig`]). Cheap to clone.
///
/// - [`hash`](Self::hash) and [`verify`](Self::verify) run argon2 on tokio's blocking threads
///   (`spawn_blocking`), never on the threads that serve requests.
/// - The comparison is constant-time: argon2's verifier recomputes the hash with the stored salt
///   and parameters and compares the outputs with `subtle`'s `ConstantTimeEq`.
/// - [`verify`](Self::verify) reports when a matching hash was made with other parameters (or
///   argon2i/argon2d) and returns a new hash to store: parameters change without a migration.
/// - [`verify_unknown`](Self::verify_unknown) costs what a real verification costs, for a login
///   whose account does not exist (see [`PasswordLogin`](crate::PasswordLogin)).
///
/// ```
/// use cortex_auth::{PasswordConfig, Passwords};
/// use cortex_core::config::Profile;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_auth::AuthError> {
/// let passwords = Passwords::new(&PasswordConfig::default(), &Profile::TEST)?;
/// let stored = passwords.hash("correct horse battery staple").await?;
/// assert!(passwords.verify("correct horse battery staple", stored.as_str()).await?.is_match());
/// assert!(!passwords.verify("tr0ub4dor&3", stored.as_str()).await?.is_match());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    pepper: Option<Box<[u8]>>,
    min_length: usize,
    max_length: usize,
    /// A hash of a random password at the current parameters, made once.
    dummy: OnceCell<String>,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("memory_kib", &self.memory_kib())
            .field("iterations", &self.iterations())
            .field("parallelism", &self.parallelism())
            .field("pepper", &self.inner.pepper.is_some())
            .finish_non_exhaustive()
    }
}

fn config_error(key: &str, reason: impl Into<String>) -> AuthError {
    AuthError::Config {
        key: format!("auth.passwords.{key}"),
        reason: reason.into(),
    }
}

impl Passwords {
    /// The hasher for `[auth.passwords]`, its parameters defaulted for `profile` (OWASP's, or
    /// cheap ones in `test`) and checked: a value outside argon2's limits is an
    /// [`AuthError::Config`] naming the key.
    ///
    /// ```
    /// use cortex_auth::{PasswordConfig, Passwords};
    /// use cortex_core::config::Profile;
    ///
    /// let passwords = Passwords::new(&PasswordConfig::default(), &Profile::PROD)?;
    /// assert_eq!((passwords.memory_kib(), passwords.iterations(), passwords.parallelism()), (19456, 2, 1));
    ///
    /// let error = Passwords::new(&PasswordConfig::with_params(4, 1, 1), &Profile::PROD).unwrap_err();
    /// assert!(error.to_string().starts_with("`auth.passwords.memory_kib` is 4 KiB"), "{error}");
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn new(config: &PasswordConfig, profile: &Profile) -> Result<Passwords, AuthError> {
        let test = profile.is_test();
        let memory = config.memory_kib.unwrap_or(if test {
            TEST_MEMORY_KIB
        } else {
            OWASP_MEMORY_KIB
        });
        let iterations = config.iterations.unwrap_or(if test {
            TEST_ITERATIONS
        } else {
            OWASP_ITERATIONS
        });
        let parallelism = config.parallelism.unwrap_or(OWASP_PARALLELISM);

        if !(1..=MAX_PARALLELISM).contains(&parallelism) {
            return Err(config_error(
                "parallelism",
                format!("is {parallelism}; hint: use 1 to {MAX_PARALLELISM} (OWASP: 1)"),
            ));
        }
        if memory < 8 * parallelism || memory > MAX_MEMORY_KIB {
            return Err(config_error(
                "memory_kib",
                format!(
                    "is {memory} KiB; hint: argon2 needs at least 8 × parallelism ({}) KiB, and more than {MAX_MEMORY_KIB} KiB (4 GiB) is surely a unit mistake (OWASP: 19456 KiB)",
                    8 * parallelism
                ),
            ));
        }
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return Err(config_error(
                "iterations",
                format!("is {iterations}; hint: use 1 to {MAX_ITERATIONS} (OWASP: 2 with 19 MiB)"),
            ));
        }
        if config.min_length == 0 {
            return Err(config_error(
                "min_length",
                "is 0; hint: an empty password is no password (OWASP: at least 8)",
            ));
        }
        if config.max_length < config.min_length {
            return Err(config_error(
                "max_length",
                format!(
                    "is {}, below `min_length` ({}); hint: allow at least 64 characters (OWASP)",
                    config.max_length, config.min_length
                ),
            ));
        }
        let pepper = match &config.pepper_secret {
            Some(pepper) if pepper.is_empty() => {
                return Err(config_error(
                    "pepper_secret",
                    "is empty; hint: remove it, or use at least 32 random bytes",
                ));
            }
            Some(pepper) => Some(pepper.as_bytes().into()),
            None => None,
        };
        let params = Params::new(memory, iterations, parallelism, None).map_err(|error| {
            config_error("memory_kib", format!("is refused by argon2: {error}"))
        })?;
        if !test && memory < OWASP_MEMORY_KIB {
            tracing::warn!(
                target: "cortex::auth",
                memory_kib = memory,
                "`auth.passwords.memory_kib` is below OWASP's 19456 KiB for argon2id"
            );
        }
        Ok(Passwords {
            inner: Arc::new(Inner {
                params,
                pepper,
                min_length: config.min_length,
                max_length: config.max_length,
                dummy: OnceCell::new(),
            }),
        })
    }

    /// argon2's `m`, in KiB.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// assert_eq!(passwords.memory_kib(), 64);
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn memory_kib(&self) -> u32 {
        self.inner.params.m_cost()
    }

    /// argon2's `t`.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::PROD)?;
    /// assert_eq!(passwords.iterations(), 2);
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn iterations(&self) -> u32 {
        self.inner.params.t_cost()
    }

    /// argon2's `p`.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::PROD)?;
    /// assert_eq!(passwords.parallelism(), 1);
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn parallelism(&self) -> u32 {
        self.inner.params.p_cost()
    }

    /// Checks a new password against the length policy (`min_length`, `max_length`, counted in
    /// characters), as [`hash`](Self::hash) does: for a registration form's validation.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, PasswordError, Passwords};
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// assert_eq!(passwords.check_policy("short"), Err(PasswordError::TooShort { min: 8, len: 5 }));
    /// assert!(passwords.check_policy("long enough").is_ok());
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn check_policy(&self, password: &str) -> Result<(), PasswordError> {
        let len = self.check_max(password)?;
        if len < self.inner.min_length {
            return Err(PasswordError::TooShort {
                min: self.inner.min_length,
                len,
            });
        }
        Ok(())
    }

    /// The length in characters, or `TooLong` (counted without walking more than `max + 1`
    /// characters of a huge input).
    fn check_max(&self, password: &str) -> Result<usize, PasswordError> {
        let max = self.inner.max_length;
        let len = password.chars().take(max + 1).count();
        if len > max {
            return Err(PasswordError::TooLong {
                max,
                len: password.chars().count(),
            });
        }
        Ok(len)
    }

    /// Hashes a new password (after [`check_policy`](Self::check_policy)) with a fresh random
    /// salt, on a blocking thread.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// let stored = passwords.hash("a long passphrase").await?;
    /// assert!(stored.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    /// assert!(passwords.hash("short").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn hash(&self, password: &str) -> Result<PasswordHash, AuthError> {
        self.check_policy(password)?;
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        blocking(move || inner.hash(&password)).await
    }

    /// Verifies a password against a stored hash, in constant time, on a blocking thread. On a
    /// match with a hash made with other parameters (or argon2i/argon2d), `rehash` holds a new
    /// hash at the current ones, for the caller to store.
    ///
    /// A password longer than `max_length` is refused before any work
    /// ([`PasswordError::TooLong`]); a stored hash argon2 cannot read is
    /// [`PasswordError::MalformedHash`] (or `UnsupportedAlgorithm`), never a panic.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// # use cortex_core::config::Profile;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let old = Passwords::new(&PasswordConfig::with_params(32, 1, 1), &Profile::TEST)?;
    /// let stored = old.hash("a long passphrase").await?;
    ///
    /// let current = Passwords::new(&PasswordConfig::with_params(64, 1, 1), &Profile::TEST)?;
    /// let verified = current.verify("a long passphrase", stored.as_str()).await?;
    /// assert!(verified.is_match());
    /// assert!(verified.rehash().unwrap().as_str().contains("m=64,t=1,p=1"));
    ///
    /// assert!(current.verify("a long passphrase", "not a hash").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verified, AuthError> {
        self.check_max(password)?;
        // Parsed here too, so that a malformed hash costs no blocking task.
        parse(stored)?;
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let stored = stored.to_owned();
        blocking(move || inner.verify(&password, &stored)).await
    }

    /// Verifies a password against a dummy hash made once with the current parameters, and
    /// throws the answer away: what a login for an account that does not exist calls, so that it
    /// costs the time of a real verification.
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// passwords.verify_unknown("whatever was typed").await?;
    /// # Ok(()) }
    /// ```
    pub async fn verify_unknown(&self, password: &str) -> Result<(), AuthError> {
        let dummy = self.dummy().await?;
        // Too long: refused before any work, as `verify` would.
        if self.check_max(password).is_err() {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let dummy = dummy.to_owned();
        blocking(move || inner.verify(&password, &dummy)).await?;
        Ok(())
    }

    /// Whether a stored hash was made with other parameters or another algorithm than the
    /// current ones (what [`verify`](Self::verify) checks on a match).
    ///
    /// ```
    /// # use cortex_auth::{PasswordConfig, Passwords};
    /// # use cortex_core::config::Profile;
    /// let passwords = Passwords::new(&PasswordConfig::with_params(64, 1, 1), &Profile::TEST)?;
    /// assert!(passwords.needs_rehash("$argon2id$v=19$m=32,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")?);
    /// assert!(!passwords.needs_rehash("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$5i2UpiYzjEXzg/PuJo96j0Z3zuLcSSRPRsPnEp0Sk2U")?);
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn needs_rehash(&self, stored: &str) -> Result<bool, AuthError> {
        let hash = parse(stored)?;
        Ok(self.inner.outdated(&hash))
    }

    /// The dummy hash, made on first use (or when the app starts).
    async fn dummy(&self) -> Result<&str, AuthError> {
        let inner = Arc::clone(&self.inner);
        self.inner
            .dummy
            .get_or_try_init(|| async move {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random)
                    .map_err(|error| PasswordError::Hashing(error.to_string()))?;
                let password: String = random.iter().map(|b| format!("{b:02x}")).collect();
                blocking(move || inner.hash(&password).map(String::from)).await
            })
            .await
            .map(String::as_str)
    }
}

/// Makes the dummy hash when the app starts, so that the first login for an unknown account does
/// not pay for it.
impl OnStart for Passwords {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.dummy().await?;
        tracing::debug!(
            target: "cortex::auth",
            memory_kib = self.memory_kib(),
            iterations = self.iterations(),
            parallelism = self.parallelism(),
            "argon2id ready"
        );
        Ok(())
    }
}

impl Inner {
    fn argon2(&self) -> Result<Argon2<'_>, PasswordError> {
        match &self.pepper {
            Some(pepper) => Argon2::new_with_secret(
                pepper,
                Algorithm::Argon2id,
                Version::V0x13,
                self.params.clone(),
            )
            .map_err(|error| PasswordError::Hashing(error.to_string())),
            None => Ok(Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                self.params.clone(),
            )),
        }
    }

    fn hash(&self, password: &str) -> Result<PasswordHash, AuthError> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|error| PasswordError::Hashing(error.to_string()))?;
        let salt = SaltString::encode_b64(&salt)
            .map_err(|error| PasswordError::Hashing(error.to_string()))?;
        let hash = self
            .argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|error| PasswordError::Hashing(error.to_string()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    fn verify(&self, password: &str, stored: &str) -> Result<Verified, AuthError> {
        let hash = parse(stored)?;
        // argon2's verifier takes the algorithm, version, parameters and salt from the stored
        // hash, recomputes, and compares the outputs in constant time.
        match self.argon2()?.verify_password(password.as_bytes(), &hash) {
            Ok(()) => {
                let rehash = if self.outdated(&hash) {
                    Some(self.hash(password)?)
                } else {
                    None
                };
                Ok(Verified {
                    matched: true,
                    rehash,
                })
            }
            Err(password_hash::Error::Password) => Ok(Verified::mismatch()),
            Err(password_hash::Error::Algorithm) => {
                Err(PasswordError::UnsupportedAlgorithm(hash.algorithm.as_str().to_owned()).into())
            }
            Err(error) => Err(PasswordError::MalformedHash(error.to_string()).into()),
        }
    }

    /// Whether a (parsed) stored hash differs from what [`Inner::hash`] makes now.
    fn outdated(&self, hash: &password_hash::PasswordHash<'_>) -> bool {
        if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(0x13) {
            return true;
        }
        match Params::try_from(hash) {
            Ok(params) => {
                params.m_cost() != self.params.m_cost()
                    || params.t_cost() != self.params.t_cost()
                    || params.p_cost() != self.params.p_cost()
                    || hash.hash.map(|output| output.len()) != Some(Params::DEFAULT_OUTPUT_LEN)
            }
            Err(_) => true,
        }
    }
}

/// Parses a stored PHC string; anything else is a typed error.
fn parse(stored: &str) -> Result<password_hash::PasswordHash<'_>, PasswordError> {
    let hash = password_hash::PasswordHash::new(stored)
        .map_err(|error| PasswordError::MalformedHash(error.to_string()))?;
    if Algorithm::try_from(hash.algorithm).is_err() {
        return Err(PasswordError::UnsupportedAlgorithm(
            hash.algorithm.as_str().to_owned(),
        ));
    }
    if hash.hash.is_none() || hash.salt.is_none() {
        return Err(PasswordError::MalformedHash(
            "it has no salt or no hash".to_owned(),
        ));
    }
    Ok(hash)
}

/// Runs argon2 on tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| PasswordError::Hashing(format!("the hashing task failed: {error}")))?
}

#[cfg(test)]
mod rehash_tests {
    use cortex_core::config::Profile;

    use super::*;

    fn passwords(memory_kib: u32, iterations: u32, parallelism: u32) -> Passwords {
        let config = PasswordConfig {
            memory_kib: Some(memory_kib),
            iterations: Some(iterations),
            parallelism: Some(parallelism),
            ..PasswordConfig::default()
        };
        Passwords::new(&config, &Profile::TEST).unwrap()
    }

    /// Each parameter on its own makes a stored hash outdated: a login rehashes it.
    #[tokio::test]
    async fn a_change_of_any_one_parameter_asks_for_a_rehash() {
        let stored = passwords(64, 1, 1).hash("correct horse").await.unwrap();
        assert!(!passwords(64, 1, 1).needs_rehash(stored.as_str()).unwrap());
        for (m, t, p) in [(128, 1, 1), (64, 2, 1), (64, 1, 2)] {
            let now = passwords(m, t, p);
            assert!(
                now.needs_rehash(stored.as_str()).unwrap(),
                "m={m} t={t} p={p}"
            );
            let verified = now.verify("correct horse", stored.as_str()).await.unwrap();
            assert!(
                verified.is_match() && verified.rehash().is_some(),
                "m={m} t={t} p={p}"
            );
        }
    }

    #[tokio::test]
    async fn a_hash_reads_as_its_phc_string_and_debug_hides_salt_and_hash() {
        let hash = passwords(64, 1, 1).hash("correct horse").await.unwrap();
        let phc = hash.as_str().to_string();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert_eq!(hash.as_ref() as &str, phc);
        assert_eq!(hash.to_string(), phc);
        let debug = format!("{hash:?}");
        assert_eq!(debug, "PasswordHash($argon2id$v=19$m=64,t=1,p=1$…)");
        assert_eq!(hash.into_string(), phc);
    }
}
