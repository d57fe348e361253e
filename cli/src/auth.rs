//! `strata auth`: tools for the registry's users file (`strata serve --auth-file`).

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use strata_registry::auth::password::{self, Algorithm, DEFAULT_PBKDF2_ITERATIONS};

/// `strata auth`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  strata auth mkpasswd -u alice\n  strata serve --auth-file users.json"
)]
pub struct AuthArgs {
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Print a users-file entry (Karapace's registry_authfile format) for a user and password.
    #[command(
        after_help = "Examples:\n  strata auth mkpasswd -u alice                  # asks for the password\n  echo \"$PASSWORD\" | strata auth mkpasswd -u ci\n  strata auth mkpasswd -u legacy -a sha512 s3cret  # readable by Karapace too\n\nPaste the entry into the file's \"users\" list and give the user \"permissions\"; see the\nREADME's Security section."
    )]
    Mkpasswd(MkpasswdArgs),
}

#[derive(Debug, Args)]
struct MkpasswdArgs {
    /// The user name.
    #[arg(short, long)]
    user: String,
    /// Hash algorithm: argon2id (Strata's default), or one Karapace also reads: sha512,
    /// sha256, sha1 (PBKDF2), scrypt.
    #[arg(short, long, default_value = "argon2id", value_parser = parse_algorithm)]
    algorithm: Algorithm,
    /// PBKDF2 rounds (sha1, sha256, sha512 only).
    #[arg(short, long, default_value_t = DEFAULT_PBKDF2_ITERATIONS)]
    iterations: u32,
    /// The password; when absent it is asked for (without echo) or read from the first line
    /// of standard input. A password on the command line is visible to other local users.
    password: Option<String>,
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse()
        .map_err(|e: password::UnknownAlgorithm| e.to_string())
}

/// Run `strata auth`.
pub fn run(args: AuthArgs) -> ExitCode {
    match args.command {
        AuthCommand::Mkpasswd(args) => match mkpasswd(args) {
            Ok(entry) => {
                println!("{entry}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn mkpasswd(args: MkpasswdArgs) -> Result<String, String> {
    let password = match args.password {
        Some(p) => p,
        None if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password(format!("Password for {}: ", args.user))
                .map_err(|e| format!("could not read the password: {e}"))?;
            let again = rpassword::prompt_password("Again: ")
                .map_err(|e| format!("could not read the password: {e}"))?;
            if first != again {
                return Err("the passwords differ; nothing was written".into());
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("could not read the password from standard input: {e}"))?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.is_empty() {
        return Err("the password is empty: give one as an argument or on standard input".into());
    }
    let entry = password::user_entry(&args.user, args.algorithm, &password, args.iterations)
        .map_err(|e| e.to_string())?;
    // Indented by four, as karapace_mkpasswd prints.
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&entry, &mut ser).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}
