//! The models (`Post`, `Comment`), who may change a post (`PostPolicy`), and the `/posts`
//! controller.

use cortex::auth::Policy;
use cortex::data::chrono::{DateTime, Utc};
use cortex::data::{Cursor, Model, Page, Repo};
use cortex::prelude::*;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

/// A post: a row of `posts`.
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Assigned by the database.
    pub id: i64,
    /// The user who wrote it.
    pub author_id: i64,
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 20,000 characters.
    pub body: String,
    /// Bumped by every update: send back the one you read to update (optimistic locking).
    #[model(version)]
    pub version: i32,
    /// Set on insert.
    pub created_at: DateTime<Utc>,
    /// Set on insert and update.
    pub updated_at: DateTime<Utc>,
}

/// A comment on a post: a row of `comments`.
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Assigned by the database.
    pub id: i64,
    /// The post's id.
    pub post_id: i64,
    /// 1 to 100 characters.
    pub author: String,
    /// 1 to 2,000 characters.
    pub body: String,
    /// Set on insert.
    pub created_at: DateTime<Utc>,
}

/// A post as the API shows it: with its comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostWithComments {
    /// The post's fields.
    #[serde(flatten)]
    pub post: Post,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
}

/// The body of `POST /posts`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    /// 1 to 200 characters, not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: String,
    /// Up to 20,000 characters; empty when absent.
    #[serde(default)]
    #[validate(length(max = 20000))]
    pub body: String,
}

/// The body of `PUT /posts/{id}`: the new title and body, and the version they were read at.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditPost {
    /// 1 to 200 characters, not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: String,
    /// Up to 20,000 characters.
    #[validate(length(max = 20000))]
    pub body: String,
    /// The `version` of the post as read: someone else's update since makes this a 409.
    #[validate(range(min = 1))]
    pub version: i32,
}

/// The body of `POST /posts/{id}/comments`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 100 characters, not blank.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub author: String,
    /// 1 to 2,000 characters, not blank.
    #[validate(length(min = 1, max = 2000), custom(function = "not_blank"))]
    pub body: String,
}

/// The query of the list routes: a page size and the cursor of the previous page.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// At most this many (1 to 100; 20 when absent).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

impl PageParams {
    /// `query` limited, and after the cursor (a cursor that is not one is a 400).
    fn apply<M: Model>(
        &self,
        query: cortex::data::Query<M>,
    ) -> Result<cortex::data::Query<M>, HttpError> {
        let query = query.limit(self.limit.unwrap_or(20));
        Ok(match &self.after {
            Some(after) => query.after(Cursor::parse(after)?)?,
            None => query,
        })
    }
}

fn not_blank(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// Who may edit or delete a post: its author, or an admin.
#[injectable]
pub struct PostPolicy;

impl Policy<Post> for PostPolicy {
    async fn allows(
        &self,
        user: &CurrentUser,
        _action: &str,
        post: &Post,
    ) -> Result<bool, BoxError> {
        Ok(user.has_role("admin") || user.id() == post.author_id.to_string())
    }
}

/// `/posts`: posts and their comments. Anyone reads and comments; authors write.
#[controller("/posts")]
pub struct PostController {
    posts: Inject<Repo<Post>>,
    comments: Inject<Repo<Comment>>,
    policy: Inject<PostPolicy>,
}

#[routes]
impl PostController {
    /// List posts
    ///
    /// Newest first, each with its comments: two statements per page, however many posts.
    #[get("/")]
    #[public]
    async fn list(
        &self,
        Valid(Query(params)): Valid<Query<PageParams>>,
    ) -> Result<Json<Page<PostWithComments>>, HttpError> {
        let query = params.apply(cortex::data::Query::new().order_by(Post::ID.desc()))?;
        let page = self.posts.find_page(query).await?;
        // One `WHERE post_id IN (…)` for the whole page: no N+1.
        let mut comments = self.posts.has_many(&page.items, Comment::POST_ID).await?;
        let items = page
            .items
            .into_iter()
            .map(|post| PostWithComments {
                comments: comments.remove(&post.id).unwrap_or_default(),
                post,
            })
            .collect();
        Ok(Json(Page {
            items,
            next_cursor: page.next_cursor,
        }))
    }

    /// Create a post
    ///
    /// As the user the token names (an author; admins are authors too).
    #[post("/")]
    #[guard(Role("author"))]
    async fn create(
        &self,
        user: CurrentUser,
        Valid(Json(new)): Valid<Json<NewPost>>,
    ) -> Result<Created<Post>, HttpError> {
        let post = self
            .posts
            .insert(&Post {
                author_id: user.id().parse().map_err(HttpError::internal)?,
                title: new.title.trim().to_string(),
                body: new.body,
                ..Post::default()
            })
            .await?;
        Ok(Created::at(format!("/posts/{}", post.id), post))
    }

    /// Show a post
    #[get("/{id}")]
    #[public]
    async fn show(&self, Path(id): Path<i64>) -> Result<Json<PostWithComments>, HttpError> {
        let post = self.posts.get(id).await?;
        let comments = self
            .comments
            .find_many(
                cortex::data::Query::from(Comment::POST_ID.eq(id))
                    .order_by(Comment::ID.asc())
                    .limit(cortex::data::MAX_LIMIT),
            )
            .await?;
        Ok(Json(PostWithComments { post, comments }))
    }

    /// Edit a post
    ///
    /// By its author or an admin (`403` otherwise), and only while its version is still the one
    /// sent: otherwise `409 Conflict` (read it again).
    #[put("/{id}")]
    #[guard(Role("author"))]
    async fn edit(
        &self,
        user: CurrentUser,
        Path(id): Path<i64>,
        Valid(Json(edit)): Valid<Json<EditPost>>,
    ) -> Result<Json<Post>, HttpError> {
        let post = self.posts.get(id).await?;
        self.policy.authorize(&user, "edit", &post).await?;
        let post = self
            .posts
            .update(id)
            .set(Post::TITLE, edit.title.trim().to_string())
            .set(Post::BODY, edit.body)
            .if_version(edit.version)
            .exec()
            .await?;
        Ok(Json(post))
    }

    /// Delete a post
    ///
    /// By its author or an admin; its comments go with it.
    #[delete("/{id}")]
    #[guard(Role("author"))]
    async fn remove(&self, user: CurrentUser, Path(id): Path<i64>) -> Result<NoContent, HttpError> {
        let post = self.posts.get(id).await?;
        self.policy.authorize(&user, "delete", &post).await?;
        self.posts.delete(id).await?;
        Ok(NoContent)
    }

    /// List a post's comments
    ///
    /// Oldest first, a page at a time.
    #[get("/{id}/comments")]
    #[public]
    async fn comments(
        &self,
        Path(id): Path<i64>,
        Valid(Query(params)): Valid<Query<PageParams>>,
    ) -> Result<Json<Page<Comment>>, HttpError> {
        if !self.posts.exists(Post::ID.eq(id)).await? {
            return Err(HttpError::not_found(format!("there is no post {id}")));
        }
        let query = params.apply(cortex::data::Query::from(Comment::POST_ID.eq(id)))?;
        Ok(Json(self.comments.find_page(query).await?))
    }

    /// Comment on a post
    ///
    /// Open to anyone, under a name of their choosing; admins delete what should not stay.
    #[post("/{id}/comments")]
    #[public]
    async fn comment(
        &self,
        Path(id): Path<i64>,
        Valid(Json(new)): Valid<Json<NewComment>>,
    ) -> Result<Created<Comment>, HttpError> {
        // A 404 naming the post, rather than the foreign key's 422.
        self.posts.get(id).await?;
        let comment = self
            .comments
            .insert(&Comment {
                post_id: id,
                author: new.author.trim().to_string(),
                body: new.body.trim().to_string(),
                ..Comment::default()
            })
            .await?;
        Ok(Created::at(format!("/posts/{id}/comments"), comment))
    }
}
