//! `/admin`: for admins only.

use cortex::data::{Query, Repo};
use cortex::prelude::*;
use serde::Serialize;

use crate::posts::{Comment, Post};
use crate::users::User;

/// What `GET /admin/stats` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Registered users.
    pub users: u64,
    /// Posts.
    pub posts: u64,
    /// Comments.
    pub comments: u64,
}

/// `/admin`: every route needs the `admin` role (`401` without a token, `403` without the role).
#[controller("/admin")]
#[guard(Role("admin"))]
pub struct AdminController {
    users: Inject<Repo<User>>,
    posts: Inject<Repo<Post>>,
    comments: Inject<Repo<Comment>>,
}

#[routes]
impl AdminController {
    /// Count users, posts and comments
    #[get("/stats")]
    async fn stats(&self) -> Result<Json<Stats>, HttpError> {
        Ok(Json(Stats {
            users: self.users.count(Query::new()).await?,
            posts: self.posts.count(Query::new()).await?,
            comments: self.comments.count(Query::new()).await?,
        }))
    }

    /// Delete a comment
    #[delete("/comments/{id}")]
    async fn remove_comment(&self, Path(id): Path<i64>) -> Result<NoContent, HttpError> {
        self.comments.delete(id).await?;
        Ok(NoContent)
    }
}
