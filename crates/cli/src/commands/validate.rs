//! `weighbridge validate`: every state machine of the project validated (states, paths,
//! intrinsics, Retry/Catch, Choice rules, resources) and cross-checked with the template
//! (every `${…}` substituted, every substitution a function of the template).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use weighbridge_local::workflows::Deployment;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A checkout with `template.yaml` and `statemachines/` (default: the current
    /// directory; without them, the files built into this binary).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs) -> Result<(), CliError> {
    // A root given by name must exist; only the default falls back to the built-in files.
    let root = match &args.root {
        Some(root) if !root.is_dir() => {
            return Err(CliError::Read {
                path: root.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            })
        }
        Some(root) => root.clone(),
        None => PathBuf::from("."),
    };
    let template_path = root.join("template.yaml");
    let deployment = if template_path.exists() {
        let template = std::fs::read_to_string(&template_path).map_err(|source| CliError::Read {
            path: template_path.clone(),
            source,
        })?;
        let mut asl = BTreeMap::new();
        let dir = root.join("statemachines");
        for entry in std::fs::read_dir(&dir).map_err(|source| CliError::Read {
            path: dir.clone(),
            source,
        })? {
            let path = entry
                .map_err(|source| CliError::Read {
                    path: dir.clone(),
                    source,
                })?
                .path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".asl.json") {
                let text = std::fs::read_to_string(&path).map_err(|source| CliError::Read {
                    path: path.clone(),
                    source,
                })?;
                asl.insert(stem.to_string(), text);
            }
        }
        println!("validating {} and {}", template_path.display(), dir.display());
        Deployment::from_files(&template, &asl).map_err(CliError::Usage)?
    } else {
        println!("validating the state machines built into this binary");
        Deployment::embedded()
    };
    let mut failures = 0;
    for machine in deployment.machine_names() {
        match deployment.definition(&machine) {
            Ok(d) => println!("✓ {machine}: {} states, every resource known", d.states.len()),
            Err(e) => {
                failures += 1;
                println!("✗ {machine}: {e}");
            }
        }
    }
    if failures > 0 {
        return Err(CliError::Usage(format!(
            "{failures} state machine(s) are invalid"
        )));
    }
    Ok(())
}
