//! The `solder` command line, natively and inside the fuser component
//! (where it runs through `wasi:cli/run`, beside the `solder:fuser/fuse`
//! export).

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
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
        /// Where to write the output; `-` (the default) is standard output.
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
        /// Write the WebAssembly text format instead of the binary.
        #[arg(short = 't', long)]
        wat: bool,
        /// Emit the bare fused core module instead of a component.
        #[arg(long)]
        core: bool,
        /// Validate the output before writing it (the default).
        #[arg(long, overrides_with = "no_validate")]
        validate: bool,
        /// Skip validating the output.
        #[arg(long, overrides_with = "validate")]
        no_validate: bool,
        /// Leave the inputs' DWARF (`.debug_*` sections) out; by default
        /// it is carried into the output, moved to where the code lies.
        #[arg(long)]
        strip_debug: bool,
        /// Give the fused module exactly one memory, every component's
        /// memory a region of it, for runtimes without multi-memory (Node
        /// 20, wasm3, WAMR). Implies `--strip-debug`.
        #[arg(long)]
        single_memory: bool,
        /// Write the fuse report as JSON to this file: each input's size
        /// and SHA-256, and each cross-component call's adapter strategy.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the fuse report to standard error.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Describe a component: its instances, adapters and sizes.
    Inspect {
        /// Input component; `-` reads standard input.
        input: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    if is_stdio(path) {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("failed to read standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if is_stdio(path) {
        let mut out = std::io::stdout().lock();
        match out.write_all(bytes).and_then(|()| out.flush()) {
            // A reader that stops early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("failed to write standard output"),
        }
    } else {
        std::fs::write(path, bytes).with_context(|| format!("failed to write `{}`", path.display()))
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fuse {
            inputs,
            output,
            wat,
            core,
            validate: _,
            no_validate,
            strip_debug,
            single_memory,
            report,
            verbose,
        } => {
            if inputs.iter().filter(|p| is_stdio(p)).count() > 1 {
                bail!("standard input (`-`) can be given as only one input");
            }
            if report.as_deref().is_some_and(is_stdio) && is_stdio(&output) {
                bail!("the report and the output cannot both go to standard output");
            }
            // Binary never goes to a terminal, as in `wasm-tools`.
            if !wat && is_stdio(&output) && std::io::stdout().is_terminal() {
                bail!(
                    "refusing to write binary WebAssembly to a terminal: pass `-o FILE`, or `-t` for the text format"
                );
            }
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
                strip_debug,
                single_memory,
                ..solder::Options::default()
            };
            let fused = solder::fuse_named(&named, &options)?;
            for w in &fused.report.debug_info.warnings {
                eprintln!("warning: {w}");
            }
            if wat {
                let text = wasmprinter::print_bytes(&fused.bytes)
                    .context("failed to print the output as text")?;
                write(&output, text.as_bytes())?;
            } else {
                write(&output, &fused.bytes)?;
            }
            if let Some(path) = &report {
                let mut json = fused.report.to_json();
                json.push('\n');
                write(path, json.as_bytes())?;
            }
            if verbose {
                eprintln!("{}", fused.report.to_text());
            }
        }
        Command::Inspect { input, json } => {
            let bytes = read(&input)?;
            let report = solder::inspect(&bytes)?;
            let mut text = if json {
                report.to_json()
            } else {
                report.to_text()
            };
            text.push('\n');
            write(Path::new("-"), text.as_bytes())?;
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
