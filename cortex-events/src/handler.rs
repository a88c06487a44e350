//! What handlers return, and how `#[event_handler]` functions are registered.

use cortex_di::BoxError;

/// What a handler may return: `()` (it cannot fail), or `Result<(), E>` for any error that
/// converts into [`BoxError`] (`anyhow::Error` through its `Into`, any `std::error::Error`, a
/// `String`).
///
/// ```
/// use cortex_events::HandlerResult;
/// assert!(().into_result().is_ok());
/// assert!(Err::<(), _>("nope").into_result().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what an event handler returns",
    label = "an event handler returns `()` or `Result<(), E>`",
    note = "return `()`, or `Result<(), E>` with `E: Into<BoxError>` (`anyhow::Result<()>` and any `std::error::Error` work)"
)]
pub trait HandlerResult: Send + 'static {
    /// The result as the bus sees it.
    fn into_result(self) -> Result<(), BoxError>;
}

impl HandlerResult for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError> + Send + 'static> HandlerResult for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}
