//! The auth guards: [`Authenticated`](crate::Authenticated), [`Role`](crate::Role),
//! [`Permission`](crate::Permission), and resource policies.
