#[test]
fn probe() {
    let _ = hookd_tests::Backend::Sqlite;
    assert!(std::path::Path::new(env!("CARGO_BIN_EXE_hookd")).exists());
}
