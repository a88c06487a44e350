//! Units in configuration values: durations (`"30s"`), sizes (`"2MiB"`) and IP networks
//! (`"10.0.0.0/8"`), their parsers and the serde helpers that read them from any section.
//!
//! This module is a leaf: it depends on nothing else in Cortex, so `[server]`, `[http]` and an
//! application's own sections read units the same way. The parsing is done by well-kept crates,
//! with a thin wrapper that keeps every form Cortex has accepted and turns their errors into
//! messages that say what is wrong and which forms are accepted:
//!
//! | unit | crate | what the wrapper adds |
//! | --- | --- | --- |
//! | duration | [`humantime`] | trims the input; accepts a fraction without a leading digit (`".5s"`); refuses `"M"` (humantime's month, easily taken for minutes) and a space inside a number (humantime reads `"1 2s"` as 12 s) |
//! | size | [`bytesize`] | trims the input; refuses the one-letter units `k`, `m`, `g`, … (decimal in bytesize, binary in nginx: ambiguous) and sizes that do not fit in 64 bits (bytesize saturates) |
//! | IP network | [`ipnet`] | a bare address is one host; the address and the prefix length are checked separately so the error says which is wrong; host bits set are an error that suggests the network |
//!
//! Accepted forms:
//!
//! - durations: a number (a fraction is fine) and a unit, repeated: `"30s"`, `"500ms"`, `"1h30m"`,
//!   `"1h 2m 3s"`, `"1.5s"`. Units: `ns`, `us`/`µs`, `ms`, `s`/`sec`/`secs`/`second(s)`,
//!   `m`/`min`/`mins`/`minute(s)`, `h`/`hr`/`hrs`/`hour(s)`, `d`/`day(s)`, `w`/`week(s)`, and the
//!   long forms `month(s)` (30.44 days) and `year(s)` (365.25 days). A bare `"0"` is zero; any
//!   other number needs a unit.
//! - sizes: a number of bytes (`65536`, `"65536"`), or a number and a unit, case-insensitive,
//!   with or without a space: `"64KiB"`, `"2 MiB"`, `"1.5MB"`; binary `KiB`, `MiB`, `GiB`, `TiB`,
//!   `PiB`, `EiB` (also written `Ki`, `Mi`, …), decimal `KB`, `MB`, `GB`, `TB`, `PB`, `EB`, and `B`.
//!   A fraction of a byte is dropped.
//! - IP networks: `"10.0.0.0/8"`, `"fd00::/8"`, or a bare address (`"127.0.0.1"`, `"::1"`) for
//!   one host.
//!
//! The helpers in [`de`] read these from configuration, with `"off"` where a limit may be turned
//! off. Their errors are serde's "invalid value: …, expected …" form, so
//! [`Config::get`](super::Config::get) can report the expectation without showing the value.
//!
//! ```
//! use cortex_core::config::{Config, units};
//! use serde::Deserialize;
//! use std::time::Duration;
//!
//! #[derive(Deserialize)]
//! struct Mail {
//!     #[serde(deserialize_with = "units::de::duration")]
//!     timeout: Duration,
//!     #[serde(deserialize_with = "units::de::size")]
//!     max_attachment: u64,
//! }
//!
//! let config = Config::from_toml("[mail]\ntimeout = '10s'\nmax_attachment = '25MiB'")?;
//! let mail: Mail = config.get("mail")?;
//! assert_eq!((mail.timeout, mail.max_attachment), (Duration::from_secs(10), 25 << 20));
//!
//! let config = Config::from_toml("[mail]\ntimeout = 10\nmax_attachment = '25MiB'")?;
//! let err = config.get::<Mail>("mail").err().unwrap().to_string();
//! assert!(err.contains("`mail.timeout`") && err.contains("\"30s\""), "{err}");
//! # Ok::<_, cortex_core::config::ConfigError>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const DURATION_HINT: &str =
    "use a number and a unit (ms, s, m, h, d), for example \"30s\", \"500ms\" or \"1h30m\"";
const SIZE_HINT: &str =
    "use a number and a unit (B, KiB, MiB, GiB, or KB, MB, GB), for example \"2MiB\"";

/// A value that is not a duration, size or IP network: what is wrong and the accepted forms.
///
/// ```
/// use cortex_core::config::units::parse_size;
///
/// let err = parse_size("2 potatoes").unwrap_err();
/// assert!(err.to_string().contains("unknown unit \"potatoes\""), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: String,
}

impl ParseError {
    fn new(message: String) -> Self {
        ParseError { message }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

// ---- durations -----------------------------------------------------------------------------

/// Parses a duration: `"30s"`, `"500ms"`, `"2m"`, `"1h30m"`, `"1.5s"`, `"0"` (see the
/// [module docs](self) for every unit).
///
/// ```
/// use cortex_core::config::units::parse_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert!(parse_duration("30").unwrap_err().to_string().contains("unit"));
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    let bad = |what: String| {
        ParseError::new(format!(
            "invalid duration {input:?}: {what}; {DURATION_HINT}"
        ))
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(ParseError::new(format!("empty duration: {DURATION_HINT}")));
    }
    if s.contains('M') {
        return Err(bad(
            "\"M\" is not a unit here (write \"m\" or \"min\" for minutes, \"months\" for months)"
                .into(),
        ));
    }
    // humantime reads the digits on both sides of a space as one number ("1 2s" is 12 s).
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
            let after = chars[i..].iter().find(|c| !c.is_whitespace());
            if before.is_some_and(|b| b.is_ascii_digit() || *b == '.')
                && after.is_some_and(|a| a.is_ascii_digit() || *a == '.')
            {
                return Err(bad("a number is split by a space".into()));
            }
        }
    }
    // humantime wants digits on both sides of the decimal point (".5s", "1.s"), which Cortex
    // always accepted.
    let mut normalized = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let digit_at = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        if c == '.' && !digit_at(i.checked_sub(1)) {
            normalized.push('0');
        }
        normalized.push(c);
        if c == '.' && !digit_at(Some(i + 1)) {
            normalized.push('0');
        }
    }
    humantime::parse_duration(&normalized).map_err(|e| {
        bad(match e {
            humantime::DurationError::Empty => "it is empty".into(),
            humantime::DurationError::NumberExpected(at) => {
                format!(
                    "expected a number at {:?}",
                    normalized.get(at..).unwrap_or("")
                )
            }
            humantime::DurationError::InvalidCharacter(at) => format!(
                "unexpected character at {:?}",
                normalized.get(at..).unwrap_or("")
            ),
            humantime::DurationError::UnknownUnit { unit, value, .. } if unit.is_empty() => {
                format!("missing unit after {value}")
            }
            humantime::DurationError::UnknownUnit { unit, .. } => {
                format!("unknown unit {unit:?}")
            }
            humantime::DurationError::NumberOverflow => {
                "out of range (or finer than a nanosecond)".into()
            }
        })
    })
}

// ---- sizes ---------------------------------------------------------------------------------

/// Parses a size in bytes: `"2MiB"`, `"512KiB"`, `"1MB"` (decimal), `"1024"` or `"1024B"` (see
/// the [module docs](self) for every unit).
///
/// ```
/// use cortex_core::config::units::parse_size;
///
/// assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
/// assert_eq!(parse_size("1kB"), Ok(1000));
/// assert!(parse_size("2 potatoes").unwrap_err().to_string().contains("unit"));
/// ```
pub fn parse_size(input: &str) -> Result<u64, ParseError> {
    let bad =
        |what: String| ParseError::new(format!("invalid size {input:?}: {what}; {SIZE_HINT}"));
    let s = input.trim();
    let number_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    if number_len == 0 {
        return Err(bad("expected a number first".into()));
    }
    let unit = s[number_len..].trim_start();
    // bytesize reads "1m" as a megabyte; nginx reads it as a mebibyte.
    if unit.len() == 1 && !unit.eq_ignore_ascii_case("b") {
        let upper = unit.to_ascii_uppercase();
        return Err(bad(format!(
            "{unit:?} is ambiguous (write \"{upper}iB\" for powers of 1024 or \"{upper}B\" for powers of 1000)"
        )));
    }
    // A bare number is bytes; bytesize wants a unit after a fraction ("1.5").
    let with_unit;
    let s = if unit.is_empty() {
        with_unit = format!("{s}B");
        with_unit.as_str()
    } else {
        s
    };
    match s.parse::<bytesize::ByteSize>() {
        // bytesize saturates instead of failing.
        Ok(size) if size.as_u64() == u64::MAX => Err(bad("out of range".into())),
        Ok(size) => Ok(size.as_u64()),
        Err(_) if unit.parse::<bytesize::Unit>().is_err() => {
            Err(bad(format!("unknown unit {unit:?}")))
        }
        Err(_) => Err(bad(format!("{:?} is not a number", &s[..number_len]))),
    }
}

// ---- IP networks ---------------------------------------------------------------------------

/// An IP network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is one host): a thin
/// wrapper over [`ipnet::IpNet`] that refuses host bits and matches IPv4-mapped IPv6 addresses
/// against IPv4 networks.
///
/// ```
/// use cortex_core::config::units::IpCidr;
///
/// let net: IpCidr = "10.0.0.0/8".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("11.0.0.1".parse().unwrap()));
/// assert_eq!(net.net().prefix_len(), 8);
/// let err = "10.0.0.1/8".parse::<IpCidr>().unwrap_err();
/// assert!(err.to_string().contains("10.0.0.0/8"), "{err}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    net: IpNet,
}

impl IpCidr {
    /// A network; `None` if `prefix` is longer than the address or host bits are set.
    ///
    /// ```
    /// use cortex_core::config::units::IpCidr;
    /// use std::net::IpAddr;
    ///
    /// assert!(IpCidr::new(IpAddr::from([10, 0, 0, 0]), 8).is_some());
    /// assert!(IpCidr::new(IpAddr::from([10, 0, 0, 1]), 8).is_none());
    /// ```
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let net = IpNet::new(addr, prefix).ok()?;
        (net.trunc() == net).then_some(IpCidr { net })
    }

    /// The network address.
    ///
    /// ```
    /// let net: cortex_core::config::units::IpCidr = "fd00::/8".parse().unwrap();
    /// assert_eq!(net.addr().to_string(), "fd00::");
    /// ```
    pub fn addr(&self) -> IpAddr {
        self.net.addr()
    }

    /// The prefix length.
    ///
    /// ```
    /// let host: cortex_core::config::units::IpCidr = "127.0.0.1".parse().unwrap();
    /// assert_eq!(host.prefix(), 32);
    /// ```
    pub fn prefix(&self) -> u8 {
        self.net.prefix_len()
    }

    /// The network as an [`ipnet::IpNet`].
    ///
    /// ```
    /// let net: cortex_core::config::units::IpCidr = "10.0.0.0/8".parse().unwrap();
    /// assert_eq!(net.net().to_string(), "10.0.0.0/8");
    /// ```
    pub fn net(&self) -> IpNet {
        self.net
    }

    /// Whether `ip` is inside the network (IPv4-mapped IPv6 addresses match IPv4 networks).
    ///
    /// ```
    /// let net: cortex_core::config::units::IpCidr = "127.0.0.0/8".parse().unwrap();
    /// assert!(net.contains("::ffff:127.0.0.1".parse().unwrap()));
    /// ```
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.net.contains(&ip.to_canonical())
    }
}

impl From<IpCidr> for IpNet {
    fn from(cidr: IpCidr) -> IpNet {
        cidr.net
    }
}

impl FromStr for IpCidr {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            ParseError::new(format!(
                "{s:?} is not an IP network: {addr:?} is not an IP address (for example \"10.0.0.0/8\")"
            ))
        })?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => {
                    return Err(ParseError::new(format!(
                        "{s:?} is not an IP network: the prefix length must be 0 to {max}"
                    )));
                }
            },
        };
        let net = IpNet::new(addr, prefix).map_err(|_| {
            ParseError::new(format!(
                "{s:?} is not an IP network: the prefix length must be 0 to {max}"
            ))
        })?;
        let network = net.trunc();
        if network != net {
            return Err(ParseError::new(format!(
                "{s:?} has host bits set: did you mean \"{network}\"?"
            )));
        }
        Ok(IpCidr { net })
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.net, f)
    }
}

impl<'de> Deserialize<'de> for IpCidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for IpCidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

// ---- serde helpers -------------------------------------------------------------------------

/// Serde helpers for `#[serde(deserialize_with = "…")]`: durations and sizes in configuration
/// values.
///
/// Errors are serde's "invalid value: …, expected …": the first part says what is wrong with the
/// value (for [`HttpConfig::from_toml`](crate::http::middleware::HttpConfig::from_toml)), the
/// second the accepted forms (all that [`Config::get`](super::Config::get) shows, as it never
/// prints values).
///
/// ```
/// use cortex_core::config::{Config, units};
/// use serde::Deserialize;
/// use std::time::Duration;
///
/// #[derive(Deserialize)]
/// struct Cache {
///     #[serde(deserialize_with = "units::de::optional_duration")]
///     ttl: Option<Duration>,
/// }
///
/// let cache: Cache = Config::from_toml("[cache]\nttl = 'off'")?.get("cache")?;
/// assert_eq!(cache.ttl, None);
/// let cache: Cache = Config::from_toml("[cache]\nttl = '5m'")?.get("cache")?;
/// assert_eq!(cache.ttl, Some(Duration::from_secs(300)));
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
pub mod de {
    use std::fmt;
    use std::time::Duration;

    use serde::Deserializer;
    use serde::de::{self, Unexpected, Visitor};

    use super::{parse_duration, parse_size};

    /// What a duration field accepts.
    #[derive(Clone, Copy)]
    struct DurationVisitor {
        zero: bool,
        off: bool,
    }

    impl Visitor<'_> for DurationVisitor {
        type Value = Option<Duration>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match (self.zero, self.off) {
                (true, true) => {
                    f.write_str("a duration with a unit, such as \"30s\" or \"500ms\", or \"off\"")
                }
                (true, false) => {
                    f.write_str("a duration with a unit, such as \"30s\", \"500ms\" or \"0s\"")
                }
                (false, true) => f.write_str(
                    "a duration above zero with a unit, such as \"30s\" or \"500ms\", or \"off\"",
                ),
                (false, false) => {
                    f.write_str("a duration above zero with a unit, such as \"10s\" or \"500ms\"")
                }
            }
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if self.off && v.trim().eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            match parse_duration(v) {
                Ok(d) if d.is_zero() && !self.zero => Err(E::invalid_value(
                    Unexpected::Other("zero, which would fail everything at once"),
                    &self,
                )),
                Ok(d) => Ok(Some(d)),
                Err(e) => Err(E::invalid_value(Unexpected::Other(&e.to_string()), &self)),
            }
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Err(E::invalid_type(
                Unexpected::Other(&format!(
                    "the number {v} without a unit (write \"{v}s\" or \"{v}ms\")"
                )),
                &self,
            ))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Err(E::invalid_type(
                Unexpected::Other(&format!(
                    "the number {v} without a unit (write \"{v}s\" or \"{v}ms\")"
                )),
                &self,
            ))
        }
    }

    fn read<'de, D: Deserializer<'de>>(
        d: D,
        zero: bool,
        off: bool,
    ) -> Result<Option<Duration>, D::Error> {
        d.deserialize_any(DurationVisitor { zero, off })
    }

    /// A duration such as `"30s"`; zero (`"0s"`, `"0"`) allowed.
    ///
    /// ```
    /// # use serde::Deserialize; use std::time::Duration;
    /// #[derive(Deserialize)]
    /// struct S { #[serde(deserialize_with = "cortex_core::config::units::de::duration")] d: Duration }
    /// let s: S = cortex_core::config::Config::from_toml("d = '0s'")?.get("")?;
    /// assert_eq!(s.d, Duration::ZERO);
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(read(d, true, false)?.unwrap_or_default())
    }

    /// A duration above zero, such as `"10s"` (for timeouts: zero would fail everything).
    ///
    /// ```
    /// # use serde::Deserialize; use std::time::Duration;
    /// #[derive(Deserialize)]
    /// struct S { #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")] d: Duration }
    /// let err = cortex_core::config::Config::from_toml("d = '0s'")?.get::<S>("").err().unwrap();
    /// assert!(err.to_string().contains("above zero"), "{err}");
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(read(d, false, false)?.unwrap_or_default())
    }

    /// A duration, or `"off"` (`None`): a timeout that may be turned off. Zero is read as zero
    /// (the section's validation decides whether it makes sense).
    ///
    /// ```
    /// # use serde::Deserialize; use std::time::Duration;
    /// #[derive(Deserialize)]
    /// struct S { #[serde(deserialize_with = "cortex_core::config::units::de::optional_duration")] d: Option<Duration> }
    /// let s: S = cortex_core::config::Config::from_toml("d = 'off'")?.get("")?;
    /// assert_eq!(s.d, None);
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn optional_duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        read(d, true, true)
    }

    /// What a size field accepts: bytes within `min..=max`, and maybe `"off"`.
    #[derive(Clone, Copy)]
    pub(crate) struct SizeVisitor {
        pub(crate) off: bool,
        pub(crate) min: u64,
        pub(crate) max: u64,
        pub(crate) expecting: &'static str,
    }

    impl SizeVisitor {
        const ANY: SizeVisitor = SizeVisitor {
            off: false,
            min: 0,
            max: u64::MAX,
            expecting: "a size such as \"2MiB\" or a number of bytes",
        };

        fn check<E: de::Error>(self, n: u64, found: Unexpected<'_>) -> Result<Option<u64>, E> {
            if (self.min..=self.max).contains(&n) {
                Ok(Some(n))
            } else {
                Err(E::invalid_value(found, &self))
            }
        }
    }

    impl Visitor<'_> for SizeVisitor {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if self.off && v.trim().eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            match parse_size(v) {
                Ok(n) => self.check(n, Unexpected::Str(v)),
                Err(e) => Err(E::invalid_value(Unexpected::Other(&e.to_string()), &self)),
            }
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.check(v, Unexpected::Unsigned(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match u64::try_from(v) {
                Ok(n) => self.check(n, Unexpected::Signed(v)),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
            }
        }
    }

    /// Reads a size with `visitor`'s bounds; `None` only when it allows `"off"`.
    pub(crate) fn bounded_size<'de, D: Deserializer<'de>>(
        d: D,
        visitor: SizeVisitor,
    ) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(visitor)
    }

    /// A size in bytes: a number (`65536`) or a string with a unit (`"64KiB"`).
    ///
    /// ```
    /// # use serde::Deserialize;
    /// #[derive(Deserialize)]
    /// struct S { #[serde(deserialize_with = "cortex_core::config::units::de::size")] n: u64 }
    /// let s: S = cortex_core::config::Config::from_toml("n = '64KiB'")?.get("")?;
    /// assert_eq!(s.n, 65536);
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(bounded_size(d, SizeVisitor::ANY)?.unwrap_or_default())
    }

    /// A size in bytes, or `"off"` (`None`): a limit that may be turned off.
    ///
    /// ```
    /// # use serde::Deserialize;
    /// #[derive(Deserialize)]
    /// struct S { #[serde(deserialize_with = "cortex_core::config::units::de::optional_size")] n: Option<u64> }
    /// let s: S = cortex_core::config::Config::from_toml("n = 'off'")?.get("")?;
    /// assert_eq!(s.n, None);
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn optional_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        bounded_size(
            d,
            SizeVisitor {
                off: true,
                expecting: "a size such as \"2MiB\" or a number of bytes, or \"off\"",
                ..SizeVisitor::ANY
            },
        )
    }
}

/// Serde helpers for `#[serde(serialize_with = "…")]`: durations written as [`de`] reads them.
pub(crate) mod ser {
    use std::time::Duration;

    use serde::Serializer;

    /// `"1m 30s"`, `"0s"`: humantime's form, which [`super::parse_duration`] reads back.
    pub(crate) fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.is_zero() {
            s.serialize_str("0s")
        } else {
            s.collect_str(&humantime::format_duration(*d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_form_cortex_accepted_still_parses() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("500ms", Duration::from_millis(500)),
            ("1m", Duration::from_secs(60)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 2m 3s", Duration::from_secs(3723)),
            ("1.5s", Duration::from_millis(1500)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("1m .5s", Duration::from_millis(60_500)),
            ("0", Duration::ZERO),
            (" 0 ", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("30 s", Duration::from_secs(30)),
            ("  10s ", Duration::from_secs(10)),
            ("2d", Duration::from_secs(2 * 86400)),
            ("100us", Duration::from_micros(100)),
            ("100µs", Duration::from_micros(100)),
            ("7ns", Duration::from_nanos(7)),
            ("3 seconds", Duration::from_secs(3)),
            ("2 minutes", Duration::from_secs(120)),
            ("1hr", Duration::from_secs(3600)),
            ("5 millis", Duration::from_millis(5)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        let err = |s: &str| parse_duration(s).unwrap_err().to_string();
        assert!(err("30x").contains("unknown unit \"x\""), "{}", err("30x"));
        assert!(err("").contains("empty"));
        assert!(err("s").contains("expected a number"), "{}", err("s"));
        assert!(err("30").contains("missing unit after 30"), "{}", err("30"));
        assert!(err("1 2s").contains("split by a space"), "{}", err("1 2s"));
        assert!(err("1M").contains("\"M\""), "{}", err("1M"));
        assert!(err("-5s").contains("\"30s\""), "{}", err("-5s"));
    }

    #[test]
    fn sizes_know_binary_and_decimal_units() {
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("1.5"), Ok(1));
        assert_eq!(parse_size(".5KiB"), Ok(512));
        assert_eq!(parse_size("1024B"), Ok(1024));
        assert_eq!(parse_size(" 2mib "), Ok(2 << 20));
        assert_eq!(parse_size("1gb"), Ok(1_000_000_000));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert!(parse_size("1 MiBs").is_err());
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let err = |s: &str| parse_size(s).unwrap_err().to_string();
        assert!(
            err("2 megs").contains("unknown unit \"megs\""),
            "{}",
            err("2 megs")
        );
        assert!(err("1m").contains("ambiguous"), "{}", err("1m"));
        assert!(err("MiB").contains("expected a number"), "{}", err("MiB"));
        assert!(
            err("1.2.3MiB").contains("not a number"),
            "{}",
            err("1.2.3MiB")
        );
        assert!(err("99999999999EiB").contains("out of range"));
    }

    #[test]
    fn cidrs_parse_and_match() {
        let v6: IpCidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        let host: IpCidr = "127.0.0.1".parse().unwrap();
        assert_eq!(host.prefix(), 32);
        assert!(host.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpCidr>().is_err());
        assert!(
            "0.0.0.0/0"
                .parse::<IpCidr>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert_eq!(
            "10.0.0.1/8".parse::<IpCidr>().unwrap_err().to_string(),
            "\"10.0.0.1/8\" has host bits set: did you mean \"10.0.0.0/8\"?"
        );
        assert!(
            "localhost"
                .parse::<IpCidr>()
                .unwrap_err()
                .to_string()
                .contains("is not an IP address")
        );
        assert_eq!(" ::1 ".parse::<IpCidr>().unwrap().to_string(), "::1/128");
    }

    #[test]
    fn durations_serialize_to_a_form_that_parses_back() {
        #[derive(Serialize)]
        struct S {
            #[serde(serialize_with = "ser::duration")]
            d: Duration,
        }
        for d in [
            Duration::ZERO,
            Duration::from_millis(1500),
            Duration::from_secs(5400),
        ] {
            let json = serde_json::to_value(S { d }).unwrap();
            assert_eq!(parse_duration(json["d"].as_str().unwrap()), Ok(d));
        }
    }
}
