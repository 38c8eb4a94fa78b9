// `sqlx::migrate!` embeds the migrations when the crate compiles; a new migration file must make
// the crate compile again, which Cargo does not know by itself.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
