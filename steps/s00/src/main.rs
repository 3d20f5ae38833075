//! Step 00: the simplest possible hello world.
//!
//! The whole app at this step, in one file to read from top to bottom;
//! `main`, at the end, wires the routes. The lesson is in README.md.

use actix_web::{App, HttpServer, get};

/// This step's name.
const VERSION: &str = "00";

// ---------------------------------------------------------------- the pages

// try it: http :5001/
#[get("/")]
async fn hello() -> String {
    format!("hello, this is a chat app! (version {VERSION})")
}

// --------------------------------------------------------------------- main

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // Command line (--port, --db, --host), the port, the banner: see `shared`.
    let started = shared::start!();

    HttpServer::new(|| App::new().wrap(shared::request_logger()).service(hello))
        .listen(started.listener)?
        .shutdown_signal(shared::ctrl_c())
        .run()
        .await
}
