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

/// A map from [`TypeId`] to an index and a value, fixed at creation, for the resolve hot path:
/// open addressing over at least twice as many slots as entries, so a lookup is a mask and usually
/// one comparison, where a general-purpose map probes a group of control bytes first. The value
/// sits in the slot the lookup lands on (it may be an atomic, filled later).
pub(crate) struct TypeIdTable<V> {
    slots: Box<[Slot<V>]>,
    /// The number of slots minus one, times the size of a slot: masks a hash into the byte offset
    /// of a slot.
    mask_bytes: usize,
}

struct Slot<V> {
    id: TypeId,
    idx: u32,
    value: V,
}

/// Marks a vacant slot of a [`TypeIdTable`].
const VACANT: u32 = u32::MAX;

impl<V: Default> TypeIdTable<V> {
    /// The table of `entries`: a type, the index bound to it (below `u32::MAX`), a value.
    pub(crate) fn new(
        entries: impl ExactSizeIterator<Item = (TypeId, usize, V)>,
    ) -> TypeIdTable<V> {
        let len = (entries.len() * 2 + 1).next_power_of_two();
        let mask = len - 1;
        let mut slots: Box<[Slot<V>]> = (0..len)
            .map(|_| Slot {
                id: TypeId::of::<Vacant>(),
                idx: VACANT,
                value: V::default(),
            })
            .collect();
        for (id, idx, value) in entries {
            let idx = u32::try_from(idx)
                .ok()
                .filter(|&i| i != VACANT)
                .expect("fewer than 2^32 - 1 bindings");
            let mut i = Self::home(id) & mask;
            while slots[i].idx != VACANT && slots[i].id != id {
                i = (i + 1) & mask;
            }
            slots[i] = Slot { id, idx, value };
        }
        TypeIdTable {
            slots,
            mask_bytes: mask * size_of::<Slot<V>>(),
        }
    }
}

impl<V> TypeIdTable<V> {
    /// A `TypeId`'s home, as a multiple of the slot size (a power of two, so that masking the
    /// product keeps it one: for the types known at compile time it is a constant).
    #[inline(always)]
    fn home(id: TypeId) -> usize {
        let mut hasher = TypeIdHasher::default();
        id.hash(&mut hasher);
        hasher.finish() as usize
    }

    /// The index and value bound to `id`.
    #[inline(always)]
    pub(crate) fn get(&self, id: TypeId) -> Option<(usize, &V)> {
        let step = size_of::<Slot<V>>();
        const { assert!(size_of::<Slot<V>>().is_power_of_two()) };
        let mut offset = Self::home(id).wrapping_mul(step) & self.mask_bytes;
        // There is always a vacant slot (twice as many slots as entries), so this ends.
        loop {
            // SAFETY: `offset` is masked by `mask_bytes`, the offset of the last slot, and is a
            // multiple of the slot size when that is a power of two (`home` times `step`, masked
            // by a multiple of `step` whose low bits are zero); so it is the offset of a slot. A
            // slot size that is not a power of two would fail the debug assertion above; the
            // types used (`TypeId`, `u32`, a pointer) make it 32.
            let slot = unsafe {
                &*self
                    .slots
                    .as_ptr()
                    .cast::<u8>()
                    .add(offset)
                    .cast::<Slot<V>>()
            };
            if slot.id == id {
                return Some((slot.idx as usize, &slot.value));
            }
            if slot.idx == VACANT {
                return None;
            }
            offset = offset.wrapping_add(step) & self.mask_bytes;
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
            assert_eq!(table.get(*id), Some((*idx, &(idx * 10))));
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
