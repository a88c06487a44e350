//! The events test binary: every area adds its module here.

mod store;
