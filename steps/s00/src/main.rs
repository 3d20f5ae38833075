//! The chat app at this step, read from top to bottom: `main`, at the
//! end, wires the routes. The lesson is README.md.

use actix_web::{App, HttpServer, web};

/// This step's name.
const VERSION: &str = "00";

// try it: http :5001/
async fn hello() -> String {
    format!("hello, this is a chat app! (version {VERSION})")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // The command line (--port, --host), the port, the banner: see `shared`.
    let started = shared::start!();

    HttpServer::new(|| {
        App::new()
            // The request log, HEAD answered like GET, the Host check: see `shared`.
            .wrap(shared::plumbing())
            .service(web::resource("/").get(hello))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
