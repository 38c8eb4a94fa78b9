//! A command-line tool ends quietly when its reader goes away (`pipewright events --json | head -1`).
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE, and `println!` (std's and
//! anstream's alike) turns that into a panic with a stack trace. Rather than give every print an
//! error path, one panic hook recognises that panic and ends the process as a shell expects of a
//! process whose pipe closed: nothing printed, exit status 141 (128 + SIGPIPE).

const SIGPIPE_STATUS: i32 = 128 + 13;

pub fn end_quietly_when_the_reader_goes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(SIGPIPE_STATUS);
        }
        default(info);
    }));
}
