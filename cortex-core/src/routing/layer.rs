//! [`App::layer`](crate::App::layer): app-wide tower layers, kept type-erased until the app
//! applies them with its middleware stack.

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

use crate::http::middleware::StackLayer;

/// An app layer, erased: applies itself to a router with `Router::layer`, together with the
/// stack (as `(stack, layer)`, the stack outside) when it is given one.
pub(crate) type AppLayer = Box<dyn Fn(Router, Option<StackLayer>) -> Router + Send + Sync>;

/// Erases `layer`.
pub(crate) fn erase_layer<L>(layer: L) -> AppLayer
where
    L: Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L::Service:
        Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    Box::new(move |router, stack| match stack {
        // One `Router::layer` call for the stack and the outermost app layer.
        Some(stack) => router.layer((stack, layer.clone())),
        None => router.layer(layer.clone()),
    })
}
