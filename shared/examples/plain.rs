//! The smallest server built on the shared plumbing, for `tests/startup.rs`:
//! it proves the command line, the banner, the database check, a taken port,
//! the request plumbing and Ctrl-C work the same for every step. Its
//! "database" is a plain file, opened like a step opens its SQLite file.

use std::fs::{File, OpenOptions};
use std::path::Path;

use actix_web::{App, HttpServer, web};

fn open_db(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let started = shared::start!(open_db);
    HttpServer::new(|| {
        App::new()
            .wrap(shared::plumbing())
            .route("/", web::get().to(|| async { "plain" }))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
