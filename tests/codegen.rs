//! Pins the code that build.rs generates from `openapi/webhooks.yaml`.
//!
//! A spec or generator change that changes the generated code fails here with
//! the diff. Review it, then accept it with `cargo xtask codegen`.

#[test]
fn generated_code_matches_snapshot() {
    let code = include_str!(concat!(env!("OUT_DIR"), "/sinch_api.rs"));
    insta::assert_snapshot!("sinch_api", code);
}
