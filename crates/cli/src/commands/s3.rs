//! `weighbridge s3 cp|ls`: objects in the state directory's local S3, as the AWS CLI puts
//! and lists them — how a model artifact or a data set gets into the offline world.
//!
//!     weighbridge s3 cp model.tar.gz s3://models/champion/model.tar.gz
//!     weighbridge s3 cp s3://data/capture/x.jsonl ./x.jsonl
//!     weighbridge s3 ls s3://models/

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use weighbridge_local::store::Access;
use weighbridge_tasks::ports::{ObjectStore, PutCondition};
use weighbridge_tasks::validation;

use super::local_state::Local;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct S3Args {
    #[command(subcommand)]
    pub command: S3Command,
    #[arg(long, default_value = ".weighbridge", global = true)]
    pub state_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum S3Command {
    /// Copy a local file to `s3://bucket/key`, or an object to a local file.
    Cp {
        /// A local file or `s3://bucket/key`.
        source: String,
        /// `s3://bucket/key` (a trailing `/` keeps the file's name) or a local file.
        destination: String,
    },
    /// List the objects under `s3://bucket/prefix`: size, ETag, key.
    Ls {
        /// `s3://bucket/` or `s3://bucket/prefix`.
        uri: String,
    },
}

/// The largest file `cp` reads (S3's single PUT limit).
const MAX_PUT_BYTES: u64 = 5 << 30;

pub fn run(args: &S3Args) -> Result<(), CliError> {
    match &args.command {
        S3Command::Cp { source, destination } => cp(&args.state_dir, source, destination),
        S3Command::Ls { uri } => ls(&args.state_dir, uri),
    }
}

fn task(e: weighbridge_tasks::TaskError) -> CliError {
    CliError::Task(e)
}

fn cp(state_dir: &Path, source: &str, destination: &str) -> Result<(), CliError> {
    match (source.starts_with("s3://"), destination.starts_with("s3://")) {
        (false, true) => upload(state_dir, Path::new(source), destination),
        (true, false) => download(state_dir, source, Path::new(destination)),
        _ => Err(CliError::Usage(
            "s3 cp copies between a local file and s3://bucket/key (one of each)".into(),
        )),
    }
}

fn upload(state_dir: &Path, file: &Path, destination: &str) -> Result<(), CliError> {
    let (bucket, mut key) = validation::s3_uri("destination", destination).map_err(task)?;
    if key.is_empty() || key.ends_with('/') {
        let name = file
            .file_name()
            .ok_or_else(|| CliError::Usage(format!("{} has no file name", file.display())))?;
        key.push_str(&name.to_string_lossy());
    }
    validation::object_key("destination", &key).map_err(task)?;
    let read_error = |source| CliError::Read {
        path: file.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(file).map_err(read_error)?.len();
    if size > MAX_PUT_BYTES {
        return Err(CliError::Usage(format!(
            "{} is {size} bytes; one PUT takes at most 5 GiB",
            file.display()
        )));
    }
    let body = std::fs::read(file).map_err(read_error)?;
    let local = Local::open(state_dir, Access::Write, "s3 cp")?;
    let etag = local
        .runtime
        .block_on(
            local
                .backend
                .put_object(&bucket, &key, body, PutCondition::Always),
        )
        .map_err(|e| CliError::Usage(format!("PutObject s3://{bucket}/{key}: {e}")))?;
    local.save(&[])?;
    println!("upload: {} to s3://{bucket}/{key} (ETag {etag})", file.display());
    Ok(())
}

fn download(state_dir: &Path, source: &str, file: &Path) -> Result<(), CliError> {
    let (bucket, key) = validation::s3_object_uri("source", source).map_err(task)?;
    let local = Local::open(state_dir, Access::Read, "s3 cp")?;
    let object = local
        .runtime
        .block_on(local.backend.get_object(&bucket, &key))
        .map_err(|e| CliError::Usage(format!("GetObject {source}: {e}")))?;
    std::fs::write(file, &object.body).map_err(|source| CliError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    println!("download: {source} to {}", file.display());
    Ok(())
}

fn ls(state_dir: &Path, uri: &str) -> Result<(), CliError> {
    let (bucket, prefix) = validation::s3_uri("uri", uri).map_err(task)?;
    let local = Local::open(state_dir, Access::Read, "s3 ls")?;
    let objects = local
        .runtime
        .block_on(local.backend.list_objects(&bucket, &prefix))
        .map_err(|e| CliError::Usage(format!("ListObjectsV2 {uri}: {e}")))?;
    for o in objects {
        println!("{:>12} {} s3://{bucket}/{}", o.size, o.etag, o.key);
    }
    Ok(())
}
