//! Deterministic, service-valid names, so a retried or duplicated call names the same
//! resource and the service's own uniqueness makes it idempotent.

/// FNV-1a, 64 bits: a stable hash for names (not for security).
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME` → the ARN execution `name` gets.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    state_machine_arn.replacen(":stateMachine:", ":execution:", 1) + ":" + name
}

/// A readable prefix from `text` (allowed characters only, runs of others as `-`)
/// joined to a hash of `parts`, at most `max_len` characters.
/// Step Functions execution names allow `[A-Za-z0-9-_]` up to 80; SageMaker names
/// allow `[a-zA-Z0-9-]` up to 63, so `underscore` says whether `_` may stay.
pub fn readable_unique(text: &str, parts: &[&str], max_len: usize, underscore: bool) -> String {
    let hash = format!("{:016x}", fingerprint(parts));
    let mut readable = String::new();
    for c in text.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '-' || (underscore && c == '_');
        if ok {
            readable.push(c);
        } else if !readable.ends_with('-') {
            readable.push('-');
        }
    }
    let readable = readable.trim_matches('-');
    let room = max_len.saturating_sub(hash.len() + 1);
    // Keep the end of the text: for S3 keys the file name tells most. A cut word is
    // dropped whole ("salary-batch-1", not "ncoming-salary-batch-1").
    let start = readable.len().saturating_sub(room);
    let mut tail = &readable[start..];
    if start > 0 && !readable[..start].ends_with('-') {
        tail = tail.split_once('-').map_or(tail, |(_, rest)| rest);
    }
    let tail = tail.trim_start_matches('-');
    if tail.is_empty() {
        hash
    } else {
        format!("{tail}-{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_short_and_valid() {
        let a = readable_unique("data/2026/11/new file.csv", &["bucket", "key", "etag"], 80, true);
        assert_eq!(
            a,
            readable_unique("data/2026/11/new file.csv", &["bucket", "key", "etag"], 80, true)
        );
        assert_ne!(
            a,
            readable_unique("data/2026/11/new file.csv", &["bucket", "key", "etag2"], 80, true)
        );
        assert!(
            a.len() <= 80
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let cut = readable_unique("incoming-salary-batch-1-csv-864bd5ee37fb77d1", &["p"], 59, false);
        assert_eq!(
            cut,
            format!("salary-batch-1-csv-864bd5ee37fb77d1-{:016x}", fingerprint(&["p"]))
        );
        let long = readable_unique(&"x".repeat(500), &["p"], 63, false);
        assert_eq!(long.len(), 63);
        assert_eq!(readable_unique("///", &["p"], 63, false).len(), 16);
    }
}
