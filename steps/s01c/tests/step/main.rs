//! Step 01c against its real binary: each test starts the step on a free port
//! with a temporary database (`shared::test_app!()`) and talks to it as a
//! client would. One module per feature, in the order the steps add them.

mod alive;
mod database;
mod db_file;
mod hello;
mod tutorial;
mod version;
