//! `[auth.passwords]`.

use std::fmt;

use serde::Deserialize;

/// `[auth.passwords]`: argon2id's cost parameters, an optional pepper and the length policy.
///
/// A parameter left out takes OWASP's recommendation for argon2id (`memory_kib = 19456`,
/// `iterations = 2`, `parallelism = 1`), or cheap parameters in the `test` profile, so that test
/// suites that register users stay fast. Values are checked when the app starts: one outside
/// argon2's limits stops the start with its key named.
///
/// ```toml
/// [auth.passwords]
/// memory_kib = 19456     # m: memory per hash, in KiB (argon2: at least 8 × parallelism)
/// iterations = 2         # t: passes over the memory (at least 1)
/// parallelism = 1        # p: lanes (1 to 255)
/// min_length = 8         # characters
/// max_length = 1024      # characters: longer passwords are refused before any hashing
/// # pepper_secret = "…"  # a server-side secret mixed into every hash (argon2's secret input)
/// ```
///
/// ```
/// use cortex_auth::PasswordConfig;
/// use cortex_core::config::Config;
///
/// let config = Config::from_toml("[auth.passwords]\nmemory_kib = 65536\nmin_length = 12")?;
/// let passwords: PasswordConfig = config.get("auth.passwords")?;
/// assert_eq!((passwords.memory_kib, passwords.min_length), (Some(65536), 12));
/// assert_eq!(passwords.iterations, None); // OWASP's 2, or the test profile's 1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PasswordConfig {
    /// argon2's `m`, in KiB (default 19456, i.e. 19 MiB; 64 in the `test` profile).
    pub memory_kib: Option<u32>,
    /// argon2's `t` (default 2; 1 in the `test` profile).
    pub iterations: Option<u32>,
    /// argon2's `p` (default 1).
    pub parallelism: Option<u32>,
    /// A server-side secret (a "pepper") given to argon2 as its secret input: a stolen database
    /// alone is then not enough to test guesses. Masked wherever the configuration is shown.
    /// Changing or adding it makes every stored hash fail to verify: there is no pepper rotation
    /// yet.
    pub pepper_secret: Option<String>,
    /// The shortest password [`Passwords::hash`](crate::Passwords::hash) accepts, in characters
    /// (default 8).
    pub min_length: usize,
    /// The longest password hashed or verified, in characters (default 1024): a bound on the work
    /// a request can cause.
    pub max_length: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            memory_kib: None,
            iterations: None,
            parallelism: None,
            pepper_secret: None,
            min_length: 8,
            max_length: 1024,
        }
    }
}

impl PasswordConfig {
    /// A configuration with explicit argon2 parameters (memory in KiB, iterations, parallelism),
    /// the rest defaulted: for tests and benchmarks.
    ///
    /// ```
    /// use cortex_auth::PasswordConfig;
    /// let config = PasswordConfig::with_params(4096, 1, 1);
    /// assert_eq!(config.memory_kib, Some(4096));
    /// ```
    pub fn with_params(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        PasswordConfig {
            memory_kib: Some(memory_kib),
            iterations: Some(iterations),
            parallelism: Some(parallelism),
            ..PasswordConfig::default()
        }
    }
}

/// The pepper is masked.
impl fmt::Debug for PasswordConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordConfig")
            .field("memory_kib", &self.memory_kib)
            .field("iterations", &self.iterations)
            .field("parallelism", &self.parallelism)
            .field(
                "pepper_secret",
                &self
                    .pepper_secret
                    .as_ref()
                    .map(|_| cortex_core::config::MASK),
            )
            .field("min_length", &self.min_length)
            .field("max_length", &self.max_length)
            .finish()
    }
}
