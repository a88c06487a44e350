use cortex::prelude::*;

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
}

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[post("/{id}")]
    async fn create(&self, Json(user): Json<NewUser>, Path(id): Path<u32>) -> String {
        format!("{id} {}", user.name)
    }
}

fn main() {}
