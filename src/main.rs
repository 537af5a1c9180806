//! The `solder` command line, natively and inside the fuser component
//! (where it runs through `wasi:cli/run`, beside the `solder:fuser/fuse`
//! export).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

// The only unsafe code in Solder: the canonical-ABI glue that wit-bindgen
// generates for the `solder:fuser/fuse` export.
#[cfg(target_family = "wasm")]
#[allow(unsafe_code)]
mod bindings;

/// Fuse a composition of WebAssembly components into one core module.
#[derive(Parser)]
#[command(name = "solder", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fuse a component (usually a composition) into one core module,
    /// wrapped as a component with the same imports and exports. Several
    /// inputs are first wired together by interface name; the first one's
    /// exports are the result's.
    Fuse {
        /// Input component(s); `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file; `-` writes standard output.
        #[arg(short, long)]
        output: PathBuf,
        /// Emit the bare fused core module instead of a component.
        #[arg(long)]
        core: bool,
        /// Skip validating the output (it is validated by default).
        #[arg(long)]
        no_validate: bool,
        /// Print the fuse report to standard error.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Describe a component: its instances, adapters and sizes.
    Inspect {
        /// Input component; `-` reads standard input.
        input: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    if path.as_os_str() == "-" {
        std::io::stdout()
            .write_all(bytes)
            .context("writing standard output")
    } else {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fuse {
            inputs,
            output,
            core,
            no_validate,
            verbose,
        } => {
            let bytes = inputs.iter().map(read).collect::<Result<Vec<_>>>()?;
            // Errors about wiring several inputs name them by file.
            let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
            let named: Vec<(&str, &[u8])> = names
                .iter()
                .map(String::as_str)
                .zip(bytes.iter().map(Vec::as_slice))
                .collect();
            let options = solder::Options {
                output: if core {
                    solder::OutputKind::CoreModule
                } else {
                    solder::OutputKind::Component
                },
                validate: !no_validate,
            };
            let fused = solder::fuse_named(&named, &options)?;
            write(&output, &fused.bytes)?;
            if verbose {
                eprintln!("{}", fused.report.to_text());
            }
        }
        Command::Inspect { input } => {
            let bytes = read(&input)?;
            let report = solder::inspect(&bytes)?;
            println!("{}", report.to_text());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: what is wrong and where.
            let msg = match e.downcast_ref::<solder::Error>() {
                Some(err) => err.to_string(),
                None => format!("{e:#}"),
            };
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
