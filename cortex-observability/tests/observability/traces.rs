//! OpenTelemetry traces (feature `otel`): OTLP export, W3C propagation, trace ids in logs.
