//! The HTML pages, written with maud: what Flask keeps in `templates/`.
//! Each page's handler reads its data, then a function renders it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::{DOCTYPE, Markup, html};

use crate::VERSION;
use deadpool_postgres::Pool;

use crate::errors::ApiError;
use crate::models::{User, select_user, select_users};
use crate::paging::{ConversationPage, PAGE_SIZE, select_page};
use crate::sessions::LoggedIn;

// try it: open http://localhost:5001/ (it redirects to /front/users)
pub async fn index() -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, "/front/users")).finish()
}

// try it: open http://localhost:5001/front/users
pub async fn front_users(db: web::Data<Pool>, me: Option<LoggedIn>) -> Result<Markup, ApiError> {
    let users = select_users(&db.get().await?).await?;
    Ok(users_page(&users, me.is_some()))
}

/// The users page. maud escapes every `(value)` it splices in, so a nickname
/// like `<script>` shows as text and never runs.
fn users_page(users: &[User], logged_in: bool) -> Markup {
    let body = html! {
        (account_links(logged_in))
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

// try it: open http://localhost:5001/front/signup
pub async fn front_signup() -> Markup {
    let body = html! {
        h1 { "Sign up" }
        // static/accounts.js sends it as JSON to POST /api/users, then logs in.
        form #signup {
            label for="name" { "Name" }
            input #name type="text" name="name" autocomplete="name" required;
            label for="email" { "Email" }
            input #email type="email" name="email" autocomplete="email" required;
            (credentials("new-password"))
            button type="submit" { "Sign up" }
            p.error role="alert" hidden {}
        }
        p { "Already have an account? " a href="/front/login" { "Log in." } }
    };
    page("Sign up", None, body)
}

// try it: open http://localhost:5001/front/login
pub async fn front_login() -> Markup {
    login_page()
}

/// The login page. static/accounts.js sends its form as JSON to
/// POST /api/login, then opens the user's messages.
fn login_page() -> Markup {
    let body = html! {
        h1 { "Log in" }
        form #login {
            (credentials("current-password"))
            button type="submit" { "Log in" }
            p.error role="alert" hidden {}
        }
        p { "No account yet? " a href="/front/signup" { "Sign up." } }
    };
    page("Log in", None, body)
}

/// A nickname and a password, as the forms of both pages ask for them;
/// `autocomplete` tells a password manager which password it is.
fn credentials(autocomplete: &str) -> Markup {
    html! {
        label for="nickname" { "Nickname" }
        input #nickname type="text" name="nickname" autocomplete="username" required;
        label for="password" { "Password" }
        input #password type="password" name="password" autocomplete=(autocomplete) required;
    }
}

/// Log in and sign up, or, once logged in, your messages and log out
/// (the button's click is in static/accounts.js).
fn account_links(logged_in: bool) -> Markup {
    html! {
        nav.account {
            @if logged_in {
                a href="/front/messages" { "Your messages" }
                button #logout type="button" { "Log out" }
            } @else {
                a href="/front/login" { "Log in" }
                a href="/front/signup" { "Sign up" }
            }
        }
    }
}

// try it: open http://localhost:5001/front/messages (once logged in)
pub async fn front_messages(
    db: web::Data<Pool>,
    me: Option<LoggedIn>,
    user_id: Option<web::Path<String>>,
) -> Result<(Markup, StatusCode), ApiError> {
    // Logged out: the login form instead, which leads back here (step 20).
    let Some(me) = me else {
        return Ok((login_page(), StatusCode::UNAUTHORIZED));
    };
    // At /front/messages/<user_id>: the logged-in user's own id only.
    if let Some(user_id) = user_id {
        // A page, not the API: an id that is not a number gets the 404 page.
        let Ok(id) = user_id.parse::<i64>() else {
            return Ok((no_such_user_page(&user_id), StatusCode::NOT_FOUND));
        };
        if id != me.user_id {
            return Ok((not_yours_page(id), StatusCode::FORBIDDEN));
        }
    }
    // The user, the newest page of their messages (step 21) and everyone
    // they can write to: the same queries as the API's.
    let id = me.user_id;
    let connection = db.get().await?;
    let Some(user) = select_user(&connection, id).await? else {
        // The session of a user who is no more (a database started afresh).
        return Ok((login_page(), StatusCode::UNAUTHORIZED));
    };
    let newest = select_page(&connection, id, None, PAGE_SIZE).await?;
    let users = select_users(&connection).await?;
    Ok((messages_page(&user, &newest, &users), StatusCode::OK))
}

/// The messages page: the newest page of one user's conversation, oldest
/// first, and a form to send a message to any other user.
fn messages_page(user: &User, newest: &ConversationPage, users: &[User]) -> Markup {
    let messages = &newest.messages;
    let body = html! {
        (account_links(true))
        p { a href="/front/users" { "← all the users" } }
        h1 { "Messages of " (user.nickname) " (" (user.name) ")" }
        // Where the script says whether new messages arrive by themselves (step 19).
        p.status role="status" { "connecting…" }
        // The older messages, a page a click: static/script.js adds them above (step 21).
        @if newest.older.is_some() {
            p.older { button #older type="button" { "Older messages" } }
        }
        table.messages {
            thead {
                tr { th { "Date" } th { "From" } th { "To" } th { "Message" } }
            }
            tbody {
                @for message in messages {
                    // The id lets the script add a message only once (step 19).
                    tr data-id=(message.id) {
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
        // static/script.js sends this form as JSON; the author is whoever is
        // logged in, as the server knows from the session (step 20).
        form #send {
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

/// The page for another user's messages, with the way to one's own.
fn not_yours_page(user_id: i64) -> Markup {
    let body = html! {
        h1 { "Not your messages" }
        p {
            "Only user " (user_id) " may read their messages. "
            a href="/front/messages" { "See yours." }
        }
    };
    page("Not your messages", None, body)
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
                // Sign up, log in, log out (step 20).
                script src="/static/accounts.js" {}
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

/// Every page's script for the account forms and the "Log out" button.
pub async fn accounts_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../static/accounts.js"))
}

/// What a page may load: scripts, styles and images from this server only
/// (`data:` for the empty icon); where its forms may send, and no `<base>`
/// to move its links; and no other site may show it in a frame.
pub const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
