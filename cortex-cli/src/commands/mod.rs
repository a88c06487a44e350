//! One module per command.

pub mod build;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod generate;
pub mod inspect;
pub mod new;
pub mod serve;
