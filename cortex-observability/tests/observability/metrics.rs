//! Prometheus metrics: the recorder, `/metrics`, and what Cortex records.
