//! S3: objects with ETags, conditional puts (412 as S3 answers), chunked reads, and
//! S3's own refusals (bucket names, 1,024-byte keys).

use super::*;

impl MemoryBackend {
    /// Streams object bodies in chunks of `bytes` (tests split lines across chunks).
    pub fn set_read_chunk_bytes(&self, bytes: usize) {
        self.with(|s| s.read_chunk_bytes = bytes);
    }

    /// Puts an object directly (test data).
    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        let etag = etag_of(body.as_bytes());
        self.with(|s| {
            s.objects.insert(
                (bucket.into(), key.into()),
                StoredObject {
                    body: body.as_bytes().to_vec(),
                    etag,
                },
            )
        });
    }

    /// An object's body as text, if it exists.
    pub fn text(&self, bucket: &str, key: &str) -> Option<String> {
        self.with(|s| {
            s.objects
                .get(&(bucket.into(), key.into()))
                .map(|o| String::from_utf8_lossy(&o.body).into_owned())
        })
    }
}

/// `s3://bucket/key` → (bucket, key).
pub(super) fn split_s3(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Some((bucket.to_string(), key.to_string()))
}

pub(super) fn with_slash(prefix: &str) -> String {
    if prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

/// What S3 refuses before it looks at a bucket: an invalid bucket name, an empty key
/// or one over 1,024 bytes (`KeyTooLongError`).
fn check_object_name(bucket: &str, key: &str) -> PortResult<()> {
    weighbridge_tasks::validation::bucket_name("bucket", bucket)
        .map_err(|e| PortError::Validation(format!("InvalidBucketName: {e}")))?;
    weighbridge_tasks::validation::object_key("key", key)
        .map_err(|e| PortError::Validation(format!("KeyTooLongError: {e}")))
}

pub(super) fn etag_of(body: &[u8]) -> String {
    format!("\"{:016x}\"", fingerprint(&[&String::from_utf8_lossy(body)]))
}

#[async_trait]
#[async_trait]
impl ObjectStore for MemoryBackend {
    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<StoredObject> {
        self.call("GetObject")?;
        self.with(|s| {
            s.objects
                .get(&(bucket.into(), key.into()))
                .cloned()
                .ok_or_else(|| not_found("object", &format!("s3://{bucket}/{key}")))
        })
    }

    async fn get_object_chunks(&self, bucket: &str, key: &str) -> PortResult<ObjectChunks> {
        let object = self.get_object(bucket, key).await?;
        let size = match self.with(|s| s.read_chunk_bytes) {
            0 => 64 * 1024,
            n => n,
        };
        let chunks: Vec<PortResult<Vec<u8>>> = object.body.chunks(size).map(|c| Ok(c.to_vec())).collect();
        Ok(ObjectChunks {
            etag: object.etag,
            chunks: Box::pin(futures::stream::iter(chunks)),
        })
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: PutCondition,
    ) -> PortResult<String> {
        self.call("PutObject")?;
        check_object_name(bucket, key)?;
        self.with(|s| {
            let id = (bucket.to_string(), key.to_string());
            let current = s.objects.get(&id).map(|o| o.etag.clone());
            let ok = match (&condition, &current) {
                (PutCondition::Always, _) => true,
                (PutCondition::IfAbsent, None) => true,
                (PutCondition::IfAbsent, Some(_)) => false,
                (PutCondition::IfMatch(e), Some(c)) => e == c,
                (PutCondition::IfMatch(_), None) => false,
            };
            if !ok {
                return Err(PortError::PreconditionFailed(format!("s3://{bucket}/{key}")));
            }
            let etag = etag_of(&body);
            s.objects.insert(
                id,
                StoredObject {
                    body,
                    etag: etag.clone(),
                },
            );
            Ok(etag)
        })
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> PortResult<Vec<ObjectSummary>> {
        self.call("ListObjectsV2")?;
        self.with(|s| {
            Ok(s.objects
                .iter()
                .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
                .map(|((_, k), o)| ObjectSummary {
                    key: k.clone(),
                    etag: o.etag.clone(),
                    size: o.body.len() as u64,
                })
                .collect())
        })
    }
}
