use super::*;

#[test]
fn both_backends_have_the_same_migrations() {
    let (sqlite, postgres) = migration_names();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[test]
fn a_database_that_cannot_be_opened_is_reported_with_its_cause_at_once() {
    let started = std::time::Instant::now();
    let missing_dir = std::env::temp_dir()
        .join("sesame-no-such-directory")
        .join("x.db");
    let Err(error) = crate::Database::connect(&missing_dir.display().to_string(), 2) else {
        panic!("a SQLite file in a missing directory was opened");
    };
    let message = error.to_string();
    assert!(
        message.contains("Unable to open the database file"),
        "{message}"
    );

    let Err(error) = crate::Database::connect("postgres://sesame@127.0.0.1:1/sesame", 2) else {
        panic!("a PostgreSQL server on port 1 was reached");
    };
    let message = error.to_string();
    assert!(message.contains("refused"), "{message}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no wait for the pool's timeout"
    );
}
