//! Users (`User`) and the `/auth` controller: register, log in, refresh, log out.

use cortex::auth::{LoginRefused, PasswordLogin, Passwords, TokenPair, Tokens};
use cortex::data::chrono::{DateTime, Utc};
use cortex::data::{Model, Repo};
use cortex::http::middleware::ClientIp;
use cortex::prelude::*;
use serde::{Deserialize, Serialize};
use validator::Validate;

/// A user: a row of `users`. Registration makes authors; an admin is an author promoted in the
/// database (see the README).
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize)]
pub struct User {
    /// Assigned by the database: the `sub` of the user's tokens.
    pub id: i64,
    /// Unique, lower case.
    pub email: String,
    /// The argon2id PHC string: never sent, never filtered on.
    #[serde(skip_serializing)]
    #[model(no_query)]
    pub password_hash: String,
    /// `author` or `admin` (`[auth.roles]` in `cortex.toml`: an admin is an author too).
    pub role: String,
    /// Set on insert.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// Who this user is to the guards: their id and their role.
    pub fn current(&self) -> CurrentUser {
        CurrentUser::builder(self.id.to_string())
            .roles([self.role.as_str()])
            .build()
    }
}

/// The body of `POST /auth/register`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// An email address, unique.
    #[validate(email, length(max = 254))]
    pub email: String,
    /// 8 to 1,024 characters.
    #[validate(length(min = 8, max = 1024))]
    pub password: String,
}

/// The body of `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The email address registered.
    pub email: String,
    /// The password.
    pub password: String,
}

/// The body of `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The `refresh_token` of the last pair received.
    pub refresh_token: String,
}

/// `/auth`: open to anyone — these routes are how one gets a token.
#[controller("/auth")]
#[public]
pub struct AuthController {
    users: Inject<Repo<User>>,
    passwords: Inject<Passwords>,
    login: Inject<PasswordLogin>,
    tokens: Inject<Tokens>,
}

#[routes]
impl AuthController {
    /// Register
    ///
    /// Makes an author: `201 Created`, or `409 Conflict` when the email is taken.
    #[post("/register")]
    async fn register(
        &self,
        Valid(Json(new)): Valid<Json<NewUser>>,
    ) -> Result<Created<User>, HttpError> {
        let hash = self
            .passwords
            .hash(&new.password)
            .await
            .map_err(HttpError::internal)?;
        let user = self
            .users
            .insert(&User {
                email: new.email.trim().to_lowercase(),
                password_hash: hash.into_string(),
                role: "author".into(),
                ..User::default()
            })
            .await?;
        Ok(Created::new(user))
    }

    /// Log in
    ///
    /// A token pair; `401` for an unknown email or a wrong password alike, `429` after repeated
    /// failures.
    #[post("/login")]
    async fn login(
        &self,
        ClientIp(ip): ClientIp,
        Json(credentials): Json<Credentials>,
    ) -> Result<Json<TokenPair>, HttpError> {
        let email = credentials.email.trim().to_lowercase();
        let user = self.users.find_one(User::EMAIL.eq(email.clone())).await?;
        let stored = user.as_ref().map(|user| user.password_hash.as_str());
        let success = self
            .login
            .attempt(&email, ip, stored, &credentials.password)
            .await?;
        let user = user.ok_or(LoginRefused::InvalidCredentials)?;
        if let Some(hash) = success.rehash {
            self.users
                .update(user.id)
                .set(User::PASSWORD_HASH, hash.into_string())
                .exec()
                .await?;
        }
        let pair = self.tokens.issue(&user.current()).await;
        Ok(Json(pair.map_err(HttpError::internal)?))
    }

    /// Refresh
    ///
    /// A new pair for the refresh token, which is spent: sending it again revokes every token
    /// of that login.
    #[post("/refresh")]
    async fn refresh(
        &self,
        Json(request): Json<RefreshRequest>,
    ) -> Result<Json<TokenPair>, HttpError> {
        Ok(Json(self.tokens.refresh(&request.refresh_token).await?))
    }

    /// Log out
    ///
    /// Revokes the refresh token and every token of that login.
    #[post("/logout")]
    async fn logout(&self, Json(request): Json<RefreshRequest>) -> Result<NoContent, HttpError> {
        let revoke = self.tokens.revoke(&request.refresh_token).await;
        revoke.map_err(HttpError::internal)?;
        Ok(NoContent)
    }
}
