//! The HTML pages, written with maud: what Flask keeps in `templates/`.
//! Each page's handler reads its data, then a function renders it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::{DOCTYPE, Markup, html};

use crate::VERSION;
use crate::db::Db;
use crate::errors::ApiError;
use crate::models::{MessageWithUsers, User, select_conversation, select_user, select_users};

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
    page("Users", None, body)
}

// try it: open http://localhost:5001/front/messages/1
pub async fn front_messages(
    db: web::Data<Db>,
    user_id: web::Path<String>,
) -> Result<(Markup, StatusCode), ApiError> {
    // A page, not the API: an id that is not a number gets the 404 page.
    let Ok(id) = user_id.parse::<i64>() else {
        return Ok((no_such_user_page(&user_id), StatusCode::NOT_FOUND));
    };
    // The user, their messages and everyone they can write to, read in one
    // job: the same queries as the API's.
    let found = db
        .run(move |connection| -> rusqlite::Result<_> {
            let Some(user) = select_user(connection, id)? else {
                return Ok(None);
            };
            let messages = select_conversation(connection, id)?;
            Ok(Some((user, messages, select_users(connection)?)))
        })
        .await?;
    match found {
        Some((user, messages, users)) => {
            Ok((messages_page(&user, &messages, &users), StatusCode::OK))
        }
        None => Ok((no_such_user_page(&user_id), StatusCode::NOT_FOUND)),
    }
}

/// The messages page: one user's conversation, oldest first, and a form to
/// send a message to any other user.
fn messages_page(user: &User, messages: &[MessageWithUsers], users: &[User]) -> Markup {
    let body = html! {
        p { a href="/front/users" { "← all the users" } }
        h1 { "Messages of " (user.nickname) " (" (user.name) ")" }
        table.messages {
            thead {
                tr { th { "Date" } th { "From" } th { "To" } th { "Message" } }
            }
            tbody {
                @for message in messages {
                    tr {
                        td { time datetime=(message.date) { (readable_date(&message.date)) } }
                        td { (message.author.nickname) }
                        td { (message.recipient.nickname) }
                        td { (message.content) }
                    }
                }
            }
        }
        @if messages.is_empty() {
            p.empty { "No messages yet." }
        }
        // static/script.js sends this form as JSON; the author is this page's user.
        form #send {
            input type="hidden" name="author_id" value=(user.id);
            label for="recipient" { "To" }
            select #recipient name="recipient_id" {
                @for other in users.iter().filter(|other| other.id != user.id) {
                    option value=(other.id) { (other.nickname) }
                }
            }
            label for="content" { "Message" }
            input #content type="text" name="content" autocomplete="off";
            button type="submit" { "Send" }
            // Where the script says why a message could not be sent.
            p.error role="alert" hidden {}
        }
        script src="/static/script.js" {}
    };
    page(&format!("Messages of {}", user.nickname), Some(user), body)
}

/// `2026-11-26T09:30:00Z`, as people read it: `2026-11-26 09:30 UTC`.
fn readable_date(date: &str) -> String {
    match (date.get(..10), date.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => date.to_string(),
    }
}

/// The page for a user who does not exist, with the way back.
fn no_such_user_page(user_id: &str) -> Markup {
    let body = html! {
        h1 { "No such user" }
        p { "There is no user " (user_id) ". " a href="/front/users" { "See all the users." } }
    };
    page("No such user", None, body)
}

/// What every page shares: the head, with the stylesheet, around its body.
/// The page of a user tells its script who that user is, on `<body>`.
fn page(title: &str, user: Option<&User>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/static/style.css";
            }
            body data-user-id=[user.map(|user| user.id)]
                data-nickname=[user.map(|user| &user.nickname)] {
                (body)
            }
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

/// The messages page's script, compiled into the binary like the stylesheet.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../static/script.js"))
}

/// What a page may load: scripts, styles and images from this server only
/// (`data:` for the empty icon); where its forms may send, and no `<base>`
/// to move its links; and no other site may show it in a frame.
pub const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
