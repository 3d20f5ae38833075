//! Step 23 against its real binary: each test starts the step on a free port
//! with a database of its own on the tests' PostgreSQL (`shared::test_app!()`:
//! one server for this test binary) and talks to it as a client would. One module per feature, in the order the steps add them.

mod accounts;
mod alive;
mod bad_input;
mod database;
mod errors;
mod faults;
mod import;
mod instances;
mod load;
mod messages;
mod pages;
mod paging;
mod tutorial;
mod users;
mod version;
mod websocket;
