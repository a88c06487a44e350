//! The `cortex` binary end to end, a module per command. Each test runs the real binary in a
//! temporary folder and checks its output and exit status.
#![allow(missing_docs, unreachable_pub)]

mod build;
mod completions;
mod config;
mod db;
mod doctor;
mod generate;
mod inspect;
mod new;
mod ops;
mod run;
mod serve;
mod support;
mod templates;
