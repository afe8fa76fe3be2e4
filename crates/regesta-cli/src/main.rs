//! The `regesta` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            report("regesta serve: not implemented yet (see issue 3)");
            ExitCode::from(2)
        }
        Some("--version" | "-V") => {
            report(concat!("regesta ", env!("CARGO_PKG_VERSION")));
            ExitCode::SUCCESS
        }
        _ => {
            report("usage: regesta serve");
            ExitCode::from(2)
        }
    }
}

#[expect(clippy::print_stderr, reason = "the binary's own terminal output")]
fn report(message: &str) {
    eprintln!("{message}");
}
