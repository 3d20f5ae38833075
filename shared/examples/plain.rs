//! The smallest server built on the shared plumbing, for `tests/startup.rs`:
//! it proves the command line, the banner, a taken port and Ctrl-C work the
//! same for every step.

use actix_web::{App, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let started = shared::start!();
    HttpServer::new(|| {
        App::new()
            .wrap(shared::request_logger())
            .route("/", web::get().to(|| async { "plain" }))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
