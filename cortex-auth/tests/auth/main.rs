//! The auth test binary: every area adds its module here.
