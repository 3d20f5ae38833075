//! The HTML pages, written with maud: what Flask keeps in `templates/`.
//! Each page's handler reads its data, then a function renders it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::{DOCTYPE, Markup, html};

use crate::VERSION;
use crate::db::Db;
use crate::errors::ApiError;
use crate::models::{User, select_users};

// try it: open http://localhost:5001/ (it redirects to /front/users)
pub async fn index() -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, "/front/users")).finish()
}

// try it: open http://localhost:5001/front/users
pub async fn front_users(db: web::Data<Db>) -> Result<Markup, ApiError> {
    let users = db.run(select_users).await?;
    Ok(users_page(&users))
}

/// The users page. maud escapes every `(value)` it splices in, so a nickname
/// like `<script>` shows as text and never runs.
fn users_page(users: &[User]) -> Markup {
    let body = html! {
        h1 { "Users " span.version { "(version " (VERSION) ")" } }
        ul.users {
            @for user in users {
                li {
                    a href={ "/front/messages/" (user.id) } {
                        (user.nickname) " (" (user.name) ")"
                    }
                    " "
                    a.email href={ "mailto:" (user.email) } { (user.email) }
                }
            }
        }
        @if users.is_empty() {
            p.empty { "No users yet." }
        }
    };
    page("Users", body)
}

// try it: open http://localhost:5001/front/messages/1
/// Each user links to their messages page, which comes at step 12: until
/// then, a page that says so.
pub async fn front_messages() -> (Markup, StatusCode) {
    let body = html! {
        h1 { "Not yet" }
        p {
            "A user's messages page comes at step 12. "
            a href="/front/users" { "See all the users." }
        }
    };
    (page("Not yet", body), StatusCode::NOT_FOUND)
}

/// What every page shares: the head, with the stylesheet, around its body.
fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/static/style.css";
            }
            body { (body) }
        }
    }
}

/// The stylesheet is compiled into the binary: the step serves it whatever
/// the current directory is.
pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../static/style.css"))
}

/// What a page may load: scripts, styles and images from this server only
/// (`data:` for the empty icon); where its forms may send, and no `<base>`
/// to move its links; and no other site may show it in a frame.
pub const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
