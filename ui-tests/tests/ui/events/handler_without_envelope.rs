use cortex::prelude::*;

#[injectable]
struct Mailer;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(topic = "user.created")]
struct UserCreated;

#[event_handler]
async fn welcome(_mailer: Inject<Mailer>, _user: Envelope<UserCreated>) {}

fn main() {}
