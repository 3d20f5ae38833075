//! Step 00 has no database yet: it makes no file.

#[test]
fn a_step_without_a_database_creates_no_file() {
    let app = shared::test_app!();
    assert_eq!(app.get("/").status, 200);
    assert!(
        !app.db_path().exists(),
        "{} was created",
        app.db_path().display()
    );
}
