use super::*;

#[test]
fn both_backends_have_the_same_migrations() {
    let (sqlite, postgres) = migration_names();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}
