//! Binding keys: a type, optionally qualified by a name.

use std::any::TypeId;
use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// What a provider is bound to and what a dependency asks for: a type and an optional name.
///
/// Two keys are equal when their types and names are equal; the type's name is kept only to write
/// messages.
///
/// ```
/// use cortex_di::Key;
/// struct Mailer;
/// let key = Key::of::<Mailer>().with_name("primary");
/// assert!(key.type_name().ends_with("Mailer"));
/// assert_eq!(key.name(), Some("primary"));
/// assert_eq!(key, Key::of::<Mailer>().with_name(String::from("primary")));
/// assert_ne!(key, Key::of::<Mailer>());
/// ```
#[derive(Clone)]
pub struct Key {
    type_id: TypeId,
    type_name: &'static str,
    name: Option<Cow<'static, str>>,
}

impl Key {
    /// The unnamed key of `T`.
    pub fn of<T: ?Sized + 'static>() -> Self {
        Key {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            name: None,
        }
    }

    /// The same type, qualified by `name`.
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The same type with an optional name.
    pub fn with_optional_name(mut self, name: Option<Cow<'static, str>>) -> Self {
        self.name = name;
        self
    }

    /// The [`TypeId`] of the bound type.
    pub fn type_id(&self) -> TypeId {
        self.type_id
    }

    /// The full path of the bound type, as [`std::any::type_name`] spells it.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The name that qualifies the binding, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.type_id == other.type_id && self.name == other.name
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.type_id.hash(state);
        self.name.hash(state);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name)?;
        if let Some(name) = &self.name {
            write!(f, " (named {name:?})")?;
        }
        Ok(())
    }
}

/// A hasher for maps keyed by [`TypeId`]: a `TypeId` is already a hash, so it is used as is.
#[derive(Default, Clone, Copy)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for `TypeId` on current compilers (it writes one u64); stay correct anyway.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64);
    }
}

pub(crate) type TypeIdMap<V> =
    std::collections::HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// Marks an empty slot of a [`TypeIdTable`]; private, so no caller can look it up.
struct Vacant;

/// A read-only map from [`TypeId`] to an index and a small value, for the resolve hot path: open
/// addressing over at least twice as many slots as entries, so a lookup is a mask and usually one
/// comparison, where a general-purpose map probes a group of control bytes first. The value sits
/// in the slot the lookup lands on.
pub(crate) struct TypeIdTable<V> {
    slots: Box<[(TypeId, u32, V)]>,
    mask: usize,
}

impl<V: Copy + Default> TypeIdTable<V> {
    /// Marks a vacant slot.
    const VACANT: u32 = u32::MAX;

    /// The table of `entries`: a type, the index bound to it (below `u32::MAX`), a value.
    pub(crate) fn new(
        entries: impl ExactSizeIterator<Item = (TypeId, usize, V)>,
    ) -> TypeIdTable<V> {
        let len = (entries.len() * 2 + 1).next_power_of_two();
        let mask = len - 1;
        let mut slots =
            vec![(TypeId::of::<Vacant>(), Self::VACANT, V::default()); len].into_boxed_slice();
        for (id, idx, value) in entries {
            let idx = u32::try_from(idx)
                .ok()
                .filter(|&i| i != Self::VACANT)
                .expect("fewer than 2^32 - 1 bindings");
            let mut i = Self::home(id) & mask;
            while slots[i].1 != Self::VACANT && slots[i].0 != id {
                i = (i + 1) & mask;
            }
            slots[i] = (id, idx, value);
        }
        TypeIdTable { slots, mask }
    }

    fn home(id: TypeId) -> usize {
        let mut hasher = TypeIdHasher::default();
        id.hash(&mut hasher);
        hasher.finish() as usize
    }

    /// The index and value bound to `id`.
    #[inline(always)]
    pub(crate) fn get(&self, id: TypeId) -> Option<(usize, V)> {
        let mut i = Self::home(id) & self.mask;
        // There is always a vacant slot (twice as many slots as entries), so this ends.
        loop {
            // SAFETY: `i` is masked by `mask`, which is the number of slots minus one (a power of
            // two, at least 1, set with `slots` in `new` and never changed).
            let &(key, idx, value) = unsafe { self.slots.get_unchecked(i) };
            if key == id {
                return Some((idx as usize, value));
            }
            if idx == Self::VACANT {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_by_type_and_name() {
        assert_eq!(Key::of::<u8>(), Key::of::<u8>());
        assert_ne!(Key::of::<u8>(), Key::of::<u16>());
        assert_ne!(Key::of::<u8>(), Key::of::<u8>().with_name("a"));
        assert_eq!(
            Key::of::<u8>().with_name("a"),
            Key::of::<u8>().with_name(String::from("a"))
        );
    }

    #[test]
    fn key_display_names_type_and_name() {
        assert_eq!(Key::of::<u8>().to_string(), "u8");
        assert_eq!(
            Key::of::<u8>().with_name("x").to_string(),
            "u8 (named \"x\")"
        );
    }

    #[test]
    fn type_id_table_finds_every_type_and_nothing_else() {
        let mut map: TypeIdMap<usize> = TypeIdMap::default();
        map.insert(TypeId::of::<u8>(), 0);
        map.insert(TypeId::of::<u16>(), 1);
        map.insert(TypeId::of::<String>(), 2);
        map.insert(TypeId::of::<dyn std::fmt::Debug>(), 3);
        let table = TypeIdTable::new(map.iter().map(|(&id, &idx)| (id, idx, idx * 10)));
        for (id, idx) in &map {
            assert_eq!(table.get(*id), Some((*idx, idx * 10)));
        }
        assert_eq!(table.get(TypeId::of::<u32>()), None);
        assert_eq!(
            TypeIdTable::<usize>::new(std::iter::empty()).get(TypeId::of::<u8>()),
            None
        );
    }

    #[test]
    fn type_id_map_finds_every_type() {
        let mut map: TypeIdMap<usize> = TypeIdMap::default();
        map.insert(TypeId::of::<u8>(), 1);
        map.insert(TypeId::of::<u16>(), 2);
        map.insert(TypeId::of::<String>(), 3);
        assert_eq!(map.get(&TypeId::of::<u8>()), Some(&1));
        assert_eq!(map.get(&TypeId::of::<u16>()), Some(&2));
        assert_eq!(map.get(&TypeId::of::<String>()), Some(&3));
        assert_eq!(map.get(&TypeId::of::<u32>()), None);
    }
}
