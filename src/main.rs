//! roost: picks the way in (CGI, FastCGI, or the command line) and turns
//! errors into one line on stderr and an exit code.

use clap::Parser;
use roost::{cli, web};

#[global_allocator]
static ALLOCATOR: roost::alloc::Switching = roost::alloc::Switching;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Everything roost creates (database, -wal, -shm, backups) is the owner's alone.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe { libc::umask(0o077) };

    // Under CGI the arguments are ignored entirely: Apache turns a query
    // string without `=` into argv (CVE-2012-1823).
    if std::env::var_os("GATEWAY_INTERFACE").is_some() {
        web::gateway::run_cgi();
        return ExitCode::SUCCESS;
    }
    if web::fastcgi::fd0_is_listening_socket() {
        roost::alloc::use_mimalloc();
        return report(web::gateway::run_fastcgi_on_fd0());
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(error),
    };
    // A closed stdout (`roost following | head -1`) ends a command the way
    // it ends cat or grep: quietly, by SIGPIPE. Rust ignores SIGPIPE, and
    // println! then panics on the broken pipe. Every command prints once its
    // work is done, so nothing is cut short. The servers keep ignoring it:
    // a client that goes away must not end them.
    if !cli.command.is_server() {
        // SAFETY: restores the default action of one signal; no handler runs.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    if cli.command.is_long_lived() {
        if cli.command.fetches_feeds() {
            roost::alloc::give_back_freed_memory();
        }
        roost::alloc::use_mimalloc();
    }
    report(cli::run(cli))
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roost: {error:#}{}", storage_hint(&error));
            ExitCode::FAILURE
        }
    }
}

/// What to do when the database cannot be used (SQLite's own words say
/// only what went wrong): appended to the one error line.
fn storage_hint(error: &anyhow::Error) -> &'static str {
    use roost::store::Unavailable;
    match roost::store::unavailable(error) {
        Some(Unavailable::DiskFull) => {
            " (free some space on the disk or quota that holds the data directory, then try again)"
        }
        Some(Unavailable::ReadOnly) => {
            " (make the data directory and its files writable by this user, then try again)"
        }
        Some(Unavailable::Busy) => {
            " (another roost held the database too long; try again in a moment)"
        }
        _ => "",
    }
}

/// Help and version go to stdout as clap writes them; a usage error becomes one line.
fn clap_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("roost: {first} (see `{} --help`)", roost::hint::program());
    ExitCode::from(2)
}
