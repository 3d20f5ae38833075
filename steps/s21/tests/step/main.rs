//! Step 21 against its real binary: each test starts the step on a free port
//! with a temporary database (`shared::test_app!()`) and talks to it as a
//! client would. One module per feature, in the order the steps add them.

mod accounts;
mod alive;
mod bad_input;
mod database;
mod db_file;
mod errors;
mod faults;
mod load;
mod messages;
mod pages;
mod paging;
mod tutorial;
mod users;
mod version;
mod websocket;
