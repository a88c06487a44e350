//! `hello`: the smallest Cortex app — one controller, one injectable service, configuration from
//! `cortex.toml`.
//!
//! ```text
//! GET /              {"message":"Hello, world!"}
//! GET /hello/{name}  {"message":"Hello, Ada!"}
//! ```
//!
//! It has one task, `greet` ([`greet`]): `GREET_NAME=Ada cortex run greet` prints the greeting
//! for `GREET_NAME` and exits.
//!
//! The binary (`src/main.rs`) is the usual `App::from_config()?.discover().run()`; the controller
//! and the service live here, in the library, so that the integration test builds the very same
//! app in-process.

use cortex::prelude::*;
use serde::Serialize;

/// What every route answers.
#[derive(Debug, Serialize)]
struct Greeting {
    message: String,
}

/// Makes greetings. A singleton (the default scope): built once when the app starts, shared by
/// every request.
#[injectable]
struct Greeter {
    /// `hello.greeting` from `cortex.toml`; `CORTEX_HELLO__GREETING=Hi` overrides it. A missing key
    /// stops the app at startup, naming the key and this type.
    #[inject(config = "hello.greeting")]
    greeting: String,
}

impl Greeter {
    fn greet(&self, name: &str) -> Greeting {
        Greeting {
            message: format!("{}, {name}!", self.greeting),
        }
    }
}

/// The longest name `/hello/{name}` accepts, in characters.
const MAX_NAME: usize = 64;

/// Serves `/` and `/hello/{name}`. A controller is an injectable singleton: its fields are
/// resolved once, at startup.
#[controller("/")]
struct HelloController {
    greeter: Inject<Greeter>,
}

#[routes]
impl HelloController {
    /// `GET /`: a greeting for everyone.
    #[get("/")]
    async fn index(&self) -> Json<Greeting> {
        Json(self.greeter.greet("world"))
    }

    /// `GET /hello/{name}`: a greeting for `name` (1 to 64 characters). Anything else is a
    /// `400 Bad Request` with an `application/problem+json` body.
    #[get("/hello/{name}")]
    async fn hello(&self, Path(name): Path<String>) -> Result<Json<Greeting>, HttpError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(HttpError::bad_request(format!(
                "`name` must be 1 to {MAX_NAME} characters"
            )));
        }
        Ok(Json(self.greeter.greet(name)))
    }
}

/// The `greet` task (`cortex run greet`): prints the greeting for the name in `GREET_NAME`, made by
/// the app's own `Greeter` (so `hello.greeting` applies). Without `GREET_NAME` it fails, and the
/// binary exits with status 1 and this error's message.
pub async fn greet(container: Container) -> Result<(), BoxError> {
    let name = std::env::var("GREET_NAME")
        .map_err(|_| "GREET_NAME is not set; hint: `GREET_NAME=Ada cortex run greet`")?;
    let greeter = container.get::<Greeter>()?;
    println!("{}", greeter.greet(&name).message);
    Ok(())
}
